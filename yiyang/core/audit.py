"""Writing the audit log. Services call :func:`record` inside their transaction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from . import context, crypto
from .models import AuditAction, AuditEntry


def _jsonable(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def fingerprint(value: str) -> str:
    """A short keyed digest: shows that a sensitive value changed without showing it."""
    return crypto.blind_index(value, "audit")[:8]


def snapshot(instance, fields, masked: dict | None = None) -> dict:
    """A JSON-safe view of ``fields``; ``masked`` maps sensitive fields to a masking function.

    A masked value carries a keyed fingerprint, so correcting one digit in the
    middle of an ID number still reads as a change in the log.
    """
    masked = masked or {}
    data = {}
    for name in fields:
        value = getattr(instance, name)
        if hasattr(value, "pk"):
            value = value.pk
        if name in masked and value:
            data[name] = f"{masked[name](value)} #{fingerprint(value)}"
        else:
            data[name] = _jsonable(value)
    return data


def diff(before: dict | None, after: dict | None) -> tuple[dict | None, dict | None]:
    """Keep only the keys that changed, so an entry reads as what was done."""
    if not before or not after:
        return before, after
    changed = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}


def record(action: str, *, actor, obj=None, object_type: str = "", object_id="", label: str = "",
           area_code: str = "", before=None, after=None, note: str = "") -> AuditEntry:
    info = context.current()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        label = label or str(obj)[:200]
    before, after = diff(before, after) if action == AuditAction.UPDATE else (before, after)
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=(actor.get_username() if actor is not None and actor.is_authenticated else "system"),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_label=label[:200],
        area_code=area_code or "",
        before=before,
        after=after,
        note=note[:500],
        client_address=info.client_address,
        request_id=info.request_id,
        channel=info.channel,
    )
