"""Home-care pages (hotline): the 12349 console, its actions within a call, and the call list."""

from django.urls import path

from . import views_hotline as views

urlpatterns = [
    path("", views.console, name="hotline"),
    path("identify/", views.identify, name="hotline_identify"),
    path("pick/", views.pick, name="hotline_pick"),
    path("calls/", views.calls, name="hotline_calls"),
    path("calls/<int:call_id>/", views.call_page, name="hotline_call"),
    path("calls/<int:call_id>/order/", views.order, name="hotline_order"),
    path("calls/<int:call_id>/emergency/", views.emergency, name="hotline_emergency"),
    path("calls/<int:call_id>/complaint/", views.complaint, name="hotline_complaint"),
    path("calls/<int:call_id>/end/", views.end, name="hotline_end"),
]
