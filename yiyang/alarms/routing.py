"""WebSocket routes of the alarms app (mounted by ``yiyang/asgi.py``)."""

from django.urls import path

from .consumers import AlarmConsumer

websocket_urlpatterns = [
    path("ws/alarms/", AlarmConsumer.as_asgi()),
]
