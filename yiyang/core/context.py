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


_current: contextvars.ContextVar[RequestInfo] = contextvars.ContextVar("yiyang_request", default=RequestInfo())


def current() -> RequestInfo:
    return _current.get()


def bind(info: RequestInfo) -> contextvars.Token:
    return _current.set(info)


def unbind(token: contextvars.Token) -> None:
    _current.reset(token)
