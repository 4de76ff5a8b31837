"""Binds the client address and a request id for the audit log of this request."""

from . import context


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        address = forwarded.split(",")[0].strip() or request.META.get("REMOTE_ADDR")
        channel = "api" if request.path.startswith("/api/") else "web"
        token = context.bind(context.RequestInfo(client_address=address, channel=channel))
        try:
            return self.get_response(request)
        finally:
            context.unbind(token)
