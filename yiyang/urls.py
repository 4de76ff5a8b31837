from django.urls import include, path

from yiyang.core.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include("yiyang.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("yiyang.web.urls")),
]
