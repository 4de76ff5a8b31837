"""Explanations of why a visit or a worker's break cannot be planned.

Each reason is a stable code (for programs and tests) with an English msgid marked for
translation. Messages are translated when Django is set up (pages, services) and stay in
English where it is not (``yiyang plan-routes`` runs without Django).
"""

from __future__ import annotations


def gettext_noop(message: str) -> str:
    """Marks a msgid for makemessages without needing Django's settings (unlike Django's own)."""
    return message


TEMPLATES = {
    "no_workers": gettext_noop("Visit %(visit)s cannot be planned: no worker is on shift."),
    "window_empty": gettext_noop(
        "Visit %(visit)s cannot be planned: its time window %(start)s–%(end)s is empty."),
    "window_passed": gettext_noop(
        "Visit %(visit)s cannot be planned: its time window ended at %(end)s, before now (%(now)s)."),
    "no_skill": gettext_noop(
        "Visit %(visit)s cannot be planned: no worker on shift has the skill(s) %(skills)s."),
    "unknown_worker": gettext_noop(
        "Visit %(visit)s is assigned to worker %(worker)s, who is not on shift."),
    "worker_lacks_skill": gettext_noop(
        "Visit %(visit)s is assigned to worker %(worker)s, who lacks the skill(s) %(skills)s."),
    "started_without_worker": gettext_noop(
        "Visit %(visit)s has started but does not name the worker doing it."),
    "over_capacity": gettext_noop(
        "Visit %(visit)s cannot be planned: its load %(demand)s is more than any suitable worker can take."),
    "longer_than_shifts": gettext_noop(
        "Visit %(visit)s cannot be planned: it lasts %(duration)s, longer than the shift of any "
        "suitable worker (the longest is %(longest)s)."),
    "window_before_arrival": gettext_noop(
        "Visit %(visit)s cannot be planned: its window ends at %(end)s, before the earliest "
        "possible arrival at %(arrival)s (worker %(worker)s, leaving at %(depart)s)."),
    "no_return": gettext_noop(
        "Visit %(visit)s cannot be planned: it cannot start before %(start)s and lasts %(duration)s, "
        "so worker %(worker)s would be back at %(back)s, after the shift ends at %(shift_end)s."),
    "no_room": gettext_noop(
        "Visit %(visit)s could not be fitted into any worker's day together with the other visits."),
    "break_not_placed": gettext_noop(
        "Worker %(worker)s: no room for the break of %(duration)s starting between %(earliest)s "
        "and %(latest)s."),
}


def render(code: str, params: dict) -> str:
    return _translate(TEMPLATES[code]) % params


def _translate(msgid: str) -> str:
    from django.apps import apps

    if apps.ready:
        from django.utils.translation import gettext

        return gettext(msgid)
    return msgid


def clock(t: float) -> str:
    """A time of day as HH:MM (times are seconds since midnight)."""
    minutes = int(round(t / 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def span(seconds: float) -> str:
    """A duration in minutes, e.g. ``90 min``."""
    return _translate(gettext_noop("%(minutes)d min")) % {"minutes": round(seconds / 60)}
