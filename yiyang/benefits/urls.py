from django.urls import path  # noqa: F401 - pages are added below

app_name = "benefits"

urlpatterns = []
