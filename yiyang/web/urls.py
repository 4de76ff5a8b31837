from django.contrib.auth.views import LogoutView
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("elders/", include("yiyang.people.urls")),
    path("areas/", include("yiyang.areas.urls")),
    path("audit/", include("yiyang.core.urls")),
    path("accounts/", include("yiyang.accounts.urls")),
    path("assessments/", include("yiyang.assessments.urls")),
    path("benefits/", include("yiyang.benefits.urls")),
    path("homecare/", include("yiyang.homecare.urls")),
    path("alarms/", include("yiyang.alarms.urls")),
    path("alarms/", include("yiyang.alarms.urls_trail")),
    path("notifications/", include("yiyang.notifications.urls")),
]
