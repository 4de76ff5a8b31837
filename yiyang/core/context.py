"""The request that is being served, for the audit log (client address, request id)."""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RequestInfo:
    client_address: str | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    channel: str = "system"  # web, api, cli, system


_current: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar("yiyang_request", default=None)
_SYSTEM = RequestInfo(request_id="")


def current() -> RequestInfo:
    """The bound request, or the system context (jobs, commands) with no address."""
    return _current.get() or _SYSTEM


def bind(info: RequestInfo) -> contextvars.Token:
    return _current.set(info)


def unbind(token: contextvars.Token) -> None:
    _current.reset(token)
