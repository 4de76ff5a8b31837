"""Telling open consoles that alarms changed (Channels groups over Redis; consoles poll without Redis).

Who hears about an alarm is decided here and only here: :func:`groups_for_alarm`
names every group an alarm belongs to, :func:`groups_for_user` the groups a user
joins, and the two mirror ``yiyang.core.scoping.restrict`` for ``Alarm``'s scope
policy (area prefix, organisation, linked elder; superusers see all).

Messages carry alarm ids and a timestamp only. A console that hears of an id
fetches the rendered row over HTTP, where ``Alarm.objects.for_user`` and the
masking of the normal pages apply; so a group that is too wide would leak ids,
never personal data.

Sending never blocks or breaks the writer: ids are announced after the commit
(``transaction.on_commit``), handed to one event loop per process running in a
daemon thread, and a Redis failure there is logged and forgotten (consoles also
poll now and then, so they catch up). Without a channel layer nothing is sent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

log = logging.getLogger("yiyang.alarms")

MESSAGE_TYPE = "alarm.changed"  # handled by consumers.AlarmConsumer.alarm_changed
AREA_LEVELS = (2, 4, 6, 9, 12)  # province, city, county, township, village
ALL = "alarms.all"
SEND_TIMEOUT = 5.0  # seconds for one group_send before it is given up
MAX_BUFFERED = 100_000  # alarm ids waiting for Redis; beyond this news is dropped (the consoles' polls catch up)


# --- who hears what ---------------------------------------------------------------------------------


def area_group(code: str) -> str:
    return f"alarms.area.{code}"


def org_group(organization_id: int) -> str:
    return f"alarms.org.{organization_id}"


def elder_group(elder_id: int) -> str:
    return f"alarms.elder.{elder_id}"


def groups_for_alarm(area_code: str, organization_id: int | None, elder_id: int | None) -> list[str]:
    """Every group whose members may see this alarm: each area level above it, its organisation, its elder, all."""
    code = area_code or ""
    groups = [area_group(code[:n]) for n in AREA_LEVELS if len(code) >= n and code[:n].isdigit()]
    if organization_id is not None:
        groups.append(org_group(organization_id))
    if elder_id is not None:
        groups.append(elder_group(elder_id))
    groups.append(ALL)
    return groups


def groups_for_user(user) -> list[str]:
    """The groups a user's console joins: the same rows ``Alarm.objects.for_user(user)`` would show.

    A list, because a family account may be linked to several elders; empty when the user sees no alarm.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    if user.is_superuser:
        return [ALL]
    kind = user.scope_kind
    if kind == "area":
        return [area_group(user.scope_area_id)] if user.scope_area_id else []
    if kind == "organization":
        return [org_group(user.organization_id)] if user.organization_id else []
    if kind == "self":
        from yiyang.people.models import ElderAccess

        elder_ids = ElderAccess.objects.filter(user=user).order_by("elder_id").values_list("elder_id", flat=True)
        return [elder_group(elder_id) for elder_id in elder_ids.distinct()]
    return []


def audiences(rows: Iterable[tuple[int, str, int | None, int | None]]) -> dict[str, set[int]]:
    """(alarm id, area code, organisation id, elder id) rows → the alarm ids each group is to hear of."""
    by_group: dict[str, set[int]] = defaultdict(set)
    for alarm_id, area_code, organization_id, elder_id in rows:
        for group in groups_for_alarm(area_code, organization_id, elder_id):
            by_group[group].add(alarm_id)
    return by_group


def _messages(by_group: dict[str, set[int]], at: float) -> dict[str, dict]:
    return {group: {"type": MESSAGE_TYPE, "alarms": sorted(ids), "at": at} for group, ids in by_group.items()}


def messages_for(rows: Iterable[tuple[int, str, int | None, int | None]], at: float) -> dict[str, dict]:
    """One message per group, listing its alarms: a batch costs one send per group, not one per alarm."""
    return _messages(audiences(rows), at)


# --- sending ----------------------------------------------------------------------------------------


def enabled() -> bool:
    return bool(getattr(settings, "CHANNEL_LAYERS", None))


def announce_on_commit(alarm_ids: Iterable[int]) -> None:
    """After the current transaction commits, push the alarm ids to the consoles that may see them."""
    if not enabled():
        return
    ids = sorted({int(pk) for pk in alarm_ids if pk is not None})
    if not ids:
        return
    transaction.on_commit(lambda: announce_now(ids), robust=True)


def announce_now(alarm_ids: list[int]) -> None:
    """Look up where the alarms belong and queue the sends; never raises (the caller has committed)."""
    try:
        from .models import Alarm

        at = time.time()
        rows = Alarm.objects.filter(pk__in=alarm_ids).values_list("pk", "area_code", "organization_id", "elder_id")
        by_group = audiences(rows)
        if by_group:
            _sender().submit(by_group, at)
    except Exception:  # the alarm is stored; a console that missed the news catches up by polling
        log.exception("could not announce alarms %s to the consoles", alarm_ids[:20])


class _Sender:
    """One event loop in a daemon thread: the writer hands the news over and goes on at once.

    News that arrives while a send is under way waits in ``buffer`` and goes out merged in the
    next round, so a flood of alarms costs one send per group per round trip to Redis, not one
    per batch: the sender keeps up however fast the listener stores.
    """

    def __init__(self):
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.lock = threading.Lock()
        self.buffer: dict[str, set[int]] = {}
        self.first_at: float | None = None
        self.busy = False  # a round is scheduled or under way
        self.thread = threading.Thread(target=self.loop.run_forever, name="alarm-live-sender", daemon=True)
        self.thread.start()

    def submit(self, by_group: dict[str, set[int]], at: float) -> None:
        with self.lock:
            if sum(len(ids) for ids in self.buffer.values()) > MAX_BUFFERED:
                log.warning("live alarm updates are backing up; news of %d group(s) dropped", len(by_group))
                return
            for group, ids in by_group.items():
                self.buffer.setdefault(group, set()).update(ids)
            self.first_at = at if self.first_at is None else min(self.first_at, at)
            if self.busy:
                return
            self.busy = True
        asyncio.run_coroutine_threadsafe(self._drain(), self.loop)

    @property
    def idle(self) -> bool:
        with self.lock:
            return not self.busy and not self.buffer

    async def _drain(self) -> None:
        while True:
            with self.lock:
                if not self.buffer:
                    self.busy = False
                    return
                buffer, at = self.buffer, self.first_at
                self.buffer, self.first_at = {}, None
            try:
                await self._send(_messages(buffer, at))
            except Exception:  # e.g. the layer's configuration: logged, and the next news tries again
                log.exception("live alarm updates failed")

    async def _send(self, messages: dict[str, dict]) -> int:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        if layer is None:
            return 0
        results = await asyncio.gather(
            *(asyncio.wait_for(layer.group_send(group, message), SEND_TIMEOUT) for group, message in messages.items()),
            return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            log.warning("live alarm update to %d of %d group(s) failed: %r", len(failures), len(results), failures[0])
        return len(results) - len(failures)


_state: dict[str, _Sender] = {}
_state_lock = threading.Lock()


def _sender() -> _Sender:
    """The process's sender, made on first use (and again in a forked child, whose thread did not survive)."""
    with _state_lock:
        sender = _state.get("sender")
        if sender is None or sender.pid != os.getpid() or not sender.thread.is_alive():
            sender = _state["sender"] = _Sender()
        return sender


def warm() -> None:
    """Start the sender and open its Redis connection now, so a long-running writer's first alarm is not slower."""
    if not enabled():
        return

    async def connect():
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        if layer is not None and hasattr(layer, "connection"):  # channels_redis: one connection pool per loop
            await asyncio.wait_for(layer.connection(0).ping(), SEND_TIMEOUT)

    try:
        future = asyncio.run_coroutine_threadsafe(connect(), _sender().loop)
        future.add_done_callback(lambda f: f.exception() and log.warning(
            "live alarm updates: Redis is not reachable yet (%r); consoles poll meanwhile", f.exception()))
    except Exception:
        log.exception("could not start the live alarm updates")


def flush(timeout: float = 5.0) -> bool:
    """Wait until the queued sends are done (tests; a command about to exit). True if nothing is left."""
    sender = _state.get("sender")
    if sender is None or sender.pid != os.getpid():
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sender.idle:
            return True
        time.sleep(0.005)
    return sender.idle
