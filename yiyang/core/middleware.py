"""Binds the client address and a request id for the audit log of this request.

The client address is the socket peer unless the deployment declares how many
reverse proxies it trusts (``YIYANG_TRUSTED_PROXIES``): then it is the address
that the outermost trusted proxy saw, read from the right of X-Forwarded-For,
so a client cannot forge its own address by sending the header itself.
"""

import ipaddress

from django.conf import settings

from . import context


def _valid_address(value: str | None) -> str | None:
    """The address if it is a real IP address (the audit column is ``inet`` on PostgreSQL)."""
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def client_address(meta: dict) -> str | None:
    peer = _valid_address(meta.get("REMOTE_ADDR"))
    trusted = settings.TRUSTED_PROXIES
    hops = [h for h in (meta.get("HTTP_X_FORWARDED_FOR") or "").split(",") if h.strip()]
    if trusted <= 0 or not hops:
        return peer
    return _valid_address(hops[-min(trusted, len(hops))]) or peer


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        channel = "api" if request.path.startswith("/api/") else "web"
        token = context.bind(context.RequestInfo(client_address=client_address(request.META), channel=channel))
        try:
            return self.get_response(request)
        finally:
            context.unbind(token)
