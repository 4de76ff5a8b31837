"""Alarm pages: the hotline's live console and its actions."""

from django.urls import path

from . import views_console as views
from . import views_ladder

app_name = "alarms"

urlpatterns = [
    path("console/", views.console_page, name="console"),
    path("ladder/", views_ladder.ladder_page, name="ladder"),
    path("ladder/steps/<int:step_id>/", views_ladder.change_step, name="ladder_change"),
    path("ladder/types/<slug:alarm_type>/", views_ladder.add_step, name="ladder_add"),
    path("ladder/types/<slug:alarm_type>/own/", views_ladder.give_own, name="ladder_own"),
    path("ladder/types/<slug:alarm_type>/city/", views_ladder.back_to_city, name="ladder_city"),
    path("console/updates", views.updates, name="console_updates"),
    path("console/rows", views.rows, name="console_rows"),
    path("console/queue", views.queue_part, name="console_queue"),
    path("console/alerts/read", views.alerts_read, name="console_alerts_read"),
    path("console/<int:alarm_id>/", views.detail, name="console_alarm"),
    path("console/<int:alarm_id>/live", views.live_part, name="console_live"),
    path("console/<int:alarm_id>/acknowledge", views.acknowledge, name="console_acknowledge"),
    path("console/<int:alarm_id>/close", views.close, name="console_close"),
    path("console/<int:alarm_id>/step", views.run_step, name="console_step"),
    path("console/<int:alarm_id>/dispatch", views.dispatch, name="console_dispatch"),
    path("console/<int:alarm_id>/contacts/<int:contact_id>/reveal", views.reveal_contact, name="console_reveal"),
]
