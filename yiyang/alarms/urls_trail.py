"""The location trail and safe-zone pages, mounted under ``alarms/`` (``/alarms/elders/<id>/trail/``)."""

from django.urls import path

from . import views_trail

app_name = "trail"

urlpatterns = [
    path("elders/<int:elder_id>/trail/", views_trail.trail_page, name="trail"),
    path("elders/<int:elder_id>/trail/zones/", views_trail.zone_create, name="zone_create"),
    path("elders/<int:elder_id>/trail/zones/<int:zone_id>/", views_trail.zone_change, name="zone_change"),
    path("elders/<int:elder_id>/trail/zones/<int:zone_id>/deactivate/", views_trail.zone_deactivate,
         name="zone_deactivate"),
]
