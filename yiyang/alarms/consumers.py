"""The console's WebSocket: joins the groups of the user's jurisdiction and forwards alarm ids.

Only ids and a timestamp travel here (``live.py``); the page fetches what to show
over HTTP. A socket without a logged-in user allowed to view alarms is accepted
and closed at once with code 4403, so the browser can tell "not allowed" (stop
retrying, fall back to polling) from a network failure.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from . import live, permissions

CLOSE_FORBIDDEN = 4403
CLOSE_NO_LAYER = 4503  # served without REDIS_URL: nothing would ever arrive


def _groups_if_allowed(user) -> list[str] | None:
    if not permissions.has(user, permissions.VIEW_ALARMS):
        return None
    return live.groups_for_user(user)


class AlarmConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.joined: list[str] = []
        groups = await database_sync_to_async(_groups_if_allowed)(self.scope.get("user"))
        await self.accept()
        if groups is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        if self.channel_layer is None:
            await self.close(code=CLOSE_NO_LAYER)
            return
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.joined = groups
        await self.send_json({"ready": True})

    async def disconnect(self, code):
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        """The console says nothing that matters; a ping gets a pong (the page checks the socket is alive)."""
        if isinstance(content, dict) and content.get("ping") is not None:
            await self.send_json({"pong": content["ping"]})

    async def alarm_changed(self, event):
        for alarm_id in event.get("alarms", ()):
            await self.send_json({"alarm": alarm_id, "at": event.get("at")})
