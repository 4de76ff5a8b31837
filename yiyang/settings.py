"""One settings module, configured entirely by the environment (12-factor).

Embedded default: SQLite under ``var/``; production sets DATABASE_URL, REDIS_URL,
YIYANG_SECRET_KEY and YIYANG_DATA_KEY. Secrets may also be given as ``*_FILE``
paths (Docker/Kubernetes secrets).
"""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
REPO_DIR = BASE_DIR.parent


def env(name: str, default: str | None = None) -> str | None:
    """Read NAME from the environment, or the file named by NAME_FILE."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


DEBUG = env("YIYANG_DEBUG", "0") == "1"
# The embedded default key is only for a developer's laptop; production must set one.
SECRET_KEY = env("YIYANG_SECRET_KEY", "yiyang-embedded-insecure-secret-key-change-me")
# Personal-data key(s): the first encrypts, all decrypt (comma-separated, for rotation).
DATA_KEYS = [k.strip() for k in (env("YIYANG_DATA_KEY", "yiyang-embedded-data-key") or "").split(",") if k.strip()]
# Blind-index key: set it explicitly in production; it does not rotate with DATA_KEYS
# (changing it means recomputing every index). Defaults to the oldest data key.
INDEX_KEY = env("YIYANG_INDEX_KEY") or (DATA_KEYS[-1] if DATA_KEYS else "")
ALLOWED_HOSTS = [h for h in (env("YIYANG_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver") or "").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_filters",
    "django_tables2",
    "django_htmx",
    "channels",
    "yiyang.core",
    "yiyang.areas",
    "yiyang.organizations",
    "yiyang.accounts",
    "yiyang.people",
    "yiyang.assessments",
    "yiyang.benefits",
    "yiyang.homecare",
    "yiyang.alarms",
    "yiyang.notifications",
    "yiyang.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "yiyang.core.locale.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "yiyang.core.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "yiyang.urls"
WSGI_APPLICATION = "yiyang.wsgi.application"
ASGI_APPLICATION = "yiyang.asgi.application"  # only the live alarm console (yiyang serve-live)

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

DEFAULT_SQLITE = f"sqlite:///{REPO_DIR / 'var' / 'yiyang.sqlite3'}"
# Each web worker keeps its PostgreSQL connection (opening one costs PostgreSQL a new process and the
# request several ms); the health check (one ``SELECT 1`` when a request first uses it) replaces a
# connection the database dropped, so a restarted database does not cost each worker a failed request.
DATABASES = {"default": dj_database_url.parse(env("DATABASE_URL", DEFAULT_SQLITE), conn_max_age=600,
                                              conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the import or demo builder writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    (REPO_DIR / "var").mkdir(exist_ok=True)
DATABASES["default"]["TEST"] = {"NAME": env("YIYANG_TEST_DB_NAME")} if env("YIYANG_TEST_DB_NAME") else {}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["yiyang.accounts.backends.RoleBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("YIYANG_STATIC_ROOT", str(REPO_DIR / "var" / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = REPO_DIR / "var" / "media"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less meta tag instead
X_FRAME_OPTIONS = "DENY"

# Uploaded rosters: files above this are refused before parsing (40 MB holds ~280,000 CSV rows).
IMPORT_MAX_BYTES = int(env("YIYANG_IMPORT_MAX_BYTES", str(40 * 1024 * 1024)) or 0)
# Documents attached to subsidy applications (PDF, JPEG, PNG).
BENEFIT_DOCUMENT_MAX_BYTES = int(env("YIYANG_BENEFIT_DOCUMENT_MAX_BYTES", str(5 * 1024 * 1024)) or 0)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# How many reverse proxies in front of the app may be believed about the client address.
TRUSTED_PROXIES = int(env("YIYANG_TRUSTED_PROXIES", "0") or 0)

REDIS_URL = env("REDIS_URL")
# The alarm console's live updates (yiyang.alarms.live): over Redis when it is set; without it there is
# no layer and consoles poll (the listener is another process, so an in-memory layer would not reach them).
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": env("YIYANG_CHANNELS_PREFIX", "yiyang") or "yiyang",
                   "capacity": 1000, "expiry": 10},
    }
} if REDIS_URL else {}
# ``yiyang serve-live`` (ASGI, WebSocket only) listens on LIVE_PORT; the console connects to LIVE_URL when set
# (e.g. wss://example.org/ws/alarms/ behind a proxy), else to ws(s)://<the page's host>:LIVE_PORT/ws/alarms/.
LIVE_PORT = int(env("LIVE_PORT", "8001") or 8001)
LIVE_URL = env("YIYANG_LIVE_URL", "") or ""
MQTT_URL = env("MQTT_URL", "mqtt://127.0.0.1:1883")
# Device listener (docs/devices.md): a fixed client id keeps its persistent session across restarts.
MQTT_CLIENT_ID = env("MQTT_CLIENT_ID", "yiyang-listener")
MQTT_TOPIC_PREFIX = env("MQTT_TOPIC_PREFIX", "yiyang/devices")
ALARMS_MAX_PAYLOAD_BYTES = 64 * 1024
ALARMS_CLOCK_TOLERANCE_SECONDS = 300  # a device clock further off is flagged (its messages are kept)
ALARMS_TELEMETRY_RATE = 1.0  # telemetry messages per second per device (alarms are never limited) ...
ALARMS_TELEMETRY_BURST = 5  # ... with bursts of this many
ALARMS_MISSED_HEARTBEATS = 3  # a watched device silent this many intervals raises device_offline
ALARMS_OFFLINE_CHECK_SECONDS = 30
ALARMS_TELEMETRY_RETENTION_DAYS = 90
# Outbound SMS/voice (docs/notifications.md): "logging" (default), "webhook", or a dotted Gateway class path.
NOTIFY_GATEWAY = env("YIYANG_NOTIFY_GATEWAY", "logging")
NOTIFY_WEBHOOK_URL = env("YIYANG_NOTIFY_WEBHOOK_URL", "")
# Signs webhook bodies and authenticates delivery receipts (HMAC-SHA256); receipts are refused without it.
NOTIFY_WEBHOOK_SECRET = env("YIYANG_NOTIFY_WEBHOOK_SECRET", "")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "yiyang.api.authentication.TokenAuthentication",  # DRF's, with a cheaper lookup
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "yiyang.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "yiyang.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Yiyang API",
    "DESCRIPTION": "颐养 elderly-care platform API. Every list is scoped to the caller's jurisdiction.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"CallOutcomeEnum": "yiyang.homecare.models.CallRecord.Outcome",
                            "NotificationChannelEnum": "yiyang.notifications.models.Channel",
                            "NotificationStateEnum": "yiyang.notifications.models.State",
                            "NotificationAttemptKindEnum": "yiyang.notifications.models.AttemptKind",
                            "NotificationOutcomeEnum": "yiyang.notifications.models.Outcome",
                            "ReceiptStatusEnum": "yiyang.notifications.models.ReceiptStatus"},
}

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("YIYANG_LOG_LEVEL", "WARNING")},
}

# Verbose names of the project itself, used in the page header.
SITE_NAME = _("Yiyang elderly-care platform")
