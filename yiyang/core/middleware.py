"""Binds the client address and a request id for the audit log of this request."""

import ipaddress

from . import context


def _valid_address(value: str | None) -> str | None:
    """The address if it is a real IP address (the audit column is ``inet`` on PostgreSQL)."""
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        address = _valid_address(forwarded.split(",")[0]) or _valid_address(request.META.get("REMOTE_ADDR"))
        channel = "api" if request.path.startswith("/api/") else "web"
        token = context.bind(context.RequestInfo(client_address=address, channel=channel))
        try:
            return self.get_response(request)
        finally:
            context.unbind(token)
