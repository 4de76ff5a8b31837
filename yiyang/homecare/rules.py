"""The order state machine and the visit checks, as data and pure functions.

Who may move an order is a *party*, derived from the user's role: the provider
(dispatcher or operator), the worker, the hotline, an official, the elder's side,
or the system (jobs). ``TRANSITIONS`` maps (from, to) to the parties allowed;
anything else is refused with a message naming both states.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class Status(models.TextChoices):
    REQUESTED = "requested", gettext_lazy("requested")
    ACCEPTED = "accepted", gettext_lazy("accepted by the provider")
    ASSIGNED = "assigned", gettext_lazy("assigned to a worker")
    ON_THE_WAY = "on_the_way", gettext_lazy("worker on the way")
    CHECKED_IN = "checked_in", gettext_lazy("checked in")
    CHECKED_OUT = "checked_out", gettext_lazy("checked out")
    CONFIRMED = "confirmed", gettext_lazy("confirmed by the elder or family")
    SETTLED = "settled", gettext_lazy("settled")
    CANCELLED = "cancelled", gettext_lazy("cancelled")
    NO_SHOW = "no_show", gettext_lazy("nobody at home (no-show)")
    DISPUTED = "disputed", gettext_lazy("disputed")


class Payer(models.TextChoices):
    SELF = "self", gettext_lazy("the elder (self-pay)")
    VOUCHER = "voucher", gettext_lazy("service-subsidy voucher")
    GOVERNMENT = "government", gettext_lazy("government-purchased service")


class Party(models.TextChoices):
    PROVIDER = "provider", gettext_lazy("provider")
    WORKER = "worker", gettext_lazy("worker")
    HOTLINE = "hotline", gettext_lazy("hotline")
    OFFICIAL = "official", gettext_lazy("official")
    ELDER = "elder", gettext_lazy("elder or family")
    SYSTEM = "system", gettext_lazy("the platform")


S, P = Status, Party
_CALLERS = {P.HOTLINE, P.OFFICIAL, P.ELDER, P.PROVIDER, P.SYSTEM}  # the platform cancels on a death
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (S.REQUESTED, S.ACCEPTED): frozenset({P.PROVIDER, P.SYSTEM}),  # the platform accepts urgent orders for alarms
    (S.ACCEPTED, S.ASSIGNED): frozenset({P.PROVIDER, P.SYSTEM}),
    (S.ASSIGNED, S.ASSIGNED): frozenset({P.PROVIDER, P.SYSTEM}),  # re-assignment or re-planning
    (S.ASSIGNED, S.ACCEPTED): frozenset({P.PROVIDER, P.SYSTEM}),  # taken off a worker
    (S.ASSIGNED, S.ON_THE_WAY): frozenset({P.WORKER}),
    (S.ASSIGNED, S.CHECKED_IN): frozenset({P.WORKER}),
    (S.ON_THE_WAY, S.CHECKED_IN): frozenset({P.WORKER}),
    (S.ASSIGNED, S.NO_SHOW): frozenset({P.WORKER}),
    (S.ON_THE_WAY, S.NO_SHOW): frozenset({P.WORKER}),
    (S.CHECKED_IN, S.CHECKED_OUT): frozenset({P.WORKER}),
    (S.CHECKED_OUT, S.CONFIRMED): frozenset({P.ELDER, P.HOTLINE, P.OFFICIAL, P.SYSTEM}),
    (S.CHECKED_OUT, S.DISPUTED): frozenset({P.ELDER, P.HOTLINE, P.OFFICIAL}),
    (S.DISPUTED, S.CONFIRMED): frozenset({P.OFFICIAL}),
    (S.DISPUTED, S.CANCELLED): frozenset({P.OFFICIAL}),
    (S.CONFIRMED, S.SETTLED): frozenset({P.SYSTEM}),
    (S.REQUESTED, S.CANCELLED): frozenset(_CALLERS),
    (S.ACCEPTED, S.CANCELLED): frozenset(_CALLERS),
    (S.ASSIGNED, S.CANCELLED): frozenset(_CALLERS),
    (S.ON_THE_WAY, S.CANCELLED): frozenset(_CALLERS),
}
FINAL_STATUSES = frozenset({S.SETTLED, S.CANCELLED, S.NO_SHOW})
OPEN_STATUSES = frozenset({S.REQUESTED, S.ACCEPTED, S.ASSIGNED, S.ON_THE_WAY, S.CHECKED_IN})
# Orders the planner may still move: not started yet.
PLANNABLE_STATUSES = frozenset({S.ACCEPTED, S.ASSIGNED})
NEEDS_REASON = frozenset({S.CANCELLED, S.DISPUTED, S.NO_SHOW})


class TransitionError(ValueError):
    """A refused state change; the message is for the user."""


def check_transition(current: str, target: str, party: str | None) -> None:
    """Raise TransitionError unless ``party`` may move an order from ``current`` to ``target``."""
    allowed = TRANSITIONS.get((current, target))
    if allowed is None:
        raise TransitionError(_("An order that is “%(current)s” cannot become “%(target)s”.") % {
            "current": Status(current).label, "target": Status(target).label})
    if party not in allowed:
        who = Party(party).label if party in Party.values else _("you")
        raise TransitionError(_("The %(who)s may not move an order from “%(current)s” to “%(target)s”.") % {
            "who": who, "current": Status(current).label, "target": Status(target).label})


def next_statuses(current: str, party: str | None) -> list[str]:
    """What ``party`` may do next with an order in ``current`` (for buttons)."""
    return [to for (frm, to), parties in TRANSITIONS.items() if frm == current and party in parties and to != frm]


# --- visit verification ------------------------------------------------------------------

EARTH_RADIUS_M = 6_371_000


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class VisitPolicy:
    radius_m: int = 300
    min_share_of_duration: float = 0.5


FAR_CHECK_IN = "far_check_in"
SHORT_VISIT = "short_visit"
NO_LOCATION = "no_location"


def check_in_flags(*, home: tuple[float, float] | None, at: tuple[float, float] | None,
                   policy: VisitPolicy) -> tuple[list[str], int | None]:
    """Flags for a check-in and the distance from home in metres (None when either point is unknown)."""
    if at is None:
        return [NO_LOCATION], None
    if home is None:
        return [], None
    distance = round(distance_m(*home, *at))
    return ([FAR_CHECK_IN] if distance > policy.radius_m else []), distance


def check_out_flags(*, checked_in_at: dt.datetime, checked_out_at: dt.datetime, duration_minutes: int,
                    policy: VisitPolicy) -> list[str]:
    """A visit much shorter than the service's duration is flagged for review."""
    minutes = (checked_out_at - checked_in_at).total_seconds() / 60
    return [SHORT_VISIT] if minutes < duration_minutes * policy.min_share_of_duration else []


def deduction_for(flags: list[str], amount_fen: int, *, cleared: bool) -> int:
    """Settlement rule: a flagged visit nobody cleared on review is not paid."""
    return amount_fen if flags and not cleared else 0


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())
