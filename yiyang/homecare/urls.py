"""Home-care pages: the hotline console, the provider's dispatch and workers' pages, plans, beds and settlement."""

from django.urls import include, path

app_name = "homecare"

urlpatterns = [
    path("hotline/", include("yiyang.homecare.urls_hotline")),
    path("provider/", include("yiyang.homecare.urls_provider")),
    path("care/", include("yiyang.homecare.urls_care")),
]
