"""ASGI entry point, served by ``yiyang serve-live`` for the alarm console's WebSocket.

The site itself stays WSGI under gunicorn (``yiyang serve``); HTTP here goes to
Django too, so one ASGI server behind a proxy could serve both. The WebSocket
route checks the Origin against ALLOWED_HOSTS (host names, any port: the page on
:8000 may open the socket on :8001) and reads the user from the session cookie,
which browsers send to every port of the host.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiyang.settings")
django_asgi_app = get_asgi_application()  # sets Django up before the consumers are imported

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from yiyang.alarms.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter({
    "http": django_asgi_app,
    "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
})
