"""Notification pages: the list of what was sent to whom, and one notification's attempts."""

from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("<int:pk>/", views.notification_detail, name="detail"),
]
