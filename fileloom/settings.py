"""Fileloom settings: one module, driven by environment variables.

Everything has an embedded default (SQLite, local disk, a filesystem broker) so that `make run`
works on a fresh machine; production sets DATABASE_URL, CELERY_BROKER_URL, the S3 variables and
SECRET_KEY. See docs/deployment.md for the full list.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from pathlib import Path

import dj_database_url

from fileloom import fsbroker
from rendering.engines import ENGINE_NAMES

BASE_DIR = Path(__file__).resolve().parent.parent


class SettingError(Exception):
    pass


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingError(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int | None) -> int | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingError(f"{name} must be an integer, got {raw!r}") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingError(f"{name} must be a number, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_origins(name: str) -> list[str]:
    """Browser origins (`https://app.example.com`, comma-separated), or `*` for any origin."""
    origins = env_list(name, [])
    for origin in origins:
        if origin != "*" and not re.fullmatch(r"https?://[^/\s?#]+", origin):
            raise SettingError(f"{name}: {origin!r} is not an origin like https://app.example.com (or *)")
    return origins


def env_networks(name: str, default: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for item in env_list(name, default):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingError(f"{name}: {item!r} is not an IP network") from None
    return networks


def env_stripe_prices(name: str) -> dict[str, str]:
    """`plan:interval=price_id,…` (e.g. `starter:monthly=price_123,starter:annual=price_456`)."""
    prices = {}
    for item in env_list(name, []):
        key, sep, price = item.partition("=")
        plan, colon, interval = key.strip().partition(":")
        if not sep or not colon or interval not in ("monthly", "annual") or not price.strip():
            raise SettingError(f"{name}: {item!r} is not plan:monthly=price_… or plan:annual=price_…")
        prices[f"{plan}:{interval}"] = price.strip()
    return prices


# Database, broker, files and logs of this installation (the test run uses var/test: tests/settings.py).
VAR_DIR = Path(env_str("FILELOOM_VAR_DIR", str(BASE_DIR / "var")))


def _embedded_secret_key() -> str:
    """A per-checkout random key for the embedded default; production must set SECRET_KEY."""
    path = BASE_DIR / "var" / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    return key


SECRET_KEY = env_str("SECRET_KEY") or _embedded_secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL").rstrip("/")
# Fernet key (urlsafe base64, 32 bytes) for storage and webhook secrets; derived from SECRET_KEY
# when unset so the embedded default needs no extra step.
FIELD_ENCRYPTION_KEY = env_str("FIELD_ENCRYPTION_KEY")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "billing",
    "documents",
    "storage_app",
    "templates_app",
    "webhooks",
    "cloudlayer",
]

MIDDLEWARE = [
    "fileloom.middleware.RequestIdMiddleware",
    "corsheaders.middleware.CorsMiddleware",  # before anything that answers (preflights need no key)
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "fileloom.errors.ApiErrorMiddleware",
    "billing.ratelimit.RateLimitHeadersMiddleware",
]

ROOT_URLCONF = "fileloom.urls"
WSGI_APPLICATION = "fileloom.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "fileloom" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60) or 0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web process read while a worker writes; IMMEDIATE avoids the
        # "database is locked" upgrade deadlock between two writers.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# The admin template editor's CodeMirror, installed by `npm ci --prefix templates_app/editor`.
EDITOR_NODE_MODULES = BASE_DIR / "templates_app" / "editor" / "node_modules"
STATICFILES_DIRS = [
    (f"codemirror/{part}", EDITOR_NODE_MODULES / "codemirror" / part) for part in ("lib", "mode", "addon")
]

# --- Built-in file storage -----------------------------------------------------------------
STORAGE_BACKEND = env_str("STORAGE_BACKEND", "local")
if STORAGE_BACKEND not in ("local", "s3", "firebase", "gcs"):
    raise SettingError("STORAGE_BACKEND must be 'local', 's3', 'firebase' or 'gcs'")
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "files")))
MEDIA_URL = "/media/"  # never routed: files are served only through signed links
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL") or None
AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME") or None
AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID") or None
AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY") or None
AWS_S3_ADDRESSING_STYLE = env_str("AWS_S3_ADDRESSING_STYLE") or None
# SigV4 presigned URLs: botocore would otherwise sign with SigV2 for custom endpoints, which
# newer AWS regions and several S3-compatible services reject.
AWS_S3_SIGNATURE_VERSION = env_str("AWS_S3_SIGNATURE_VERSION", "s3v4")
AWS_DEFAULT_ACL = None
AWS_QUERYSTRING_AUTH = True
AWS_S3_FILE_OVERWRITE = False

# Firebase Storage / Google Cloud Storage (STORAGE_BACKEND=firebase or gcs). Credentials come
# from GOOGLE_APPLICATION_CREDENTIALS (a service-account key file) or the workload identity.
GS_BUCKET_NAME = env_str("GS_BUCKET_NAME")
GS_PROJECT_ID = env_str("GS_PROJECT_ID") or None
GS_LOCATION = env_str("GS_LOCATION").strip("/")  # optional prefix of every object name
# Workload identity signs links through IAM signBlob as this account (default: the identity's own).
GS_SA_EMAIL = env_str("GS_SA_EMAIL") or None
GS_DEFAULT_ACL = None
GS_QUERYSTRING_AUTH = True
GS_FILE_OVERWRITE = False
# Google's own variable: every Google Cloud Storage call and link goes to this emulator.
STORAGE_EMULATOR_HOST = env_str("STORAGE_EMULATOR_HOST") or None
if STORAGE_EMULATOR_HOST and not STORAGE_EMULATOR_HOST.startswith(("http://", "https://")):
    raise SettingError("STORAGE_EMULATOR_HOST must be a URL with its scheme, e.g. http://127.0.0.1:4443")
# Read by Google's client itself; with an emulator, only its key signs links.
GOOGLE_APPLICATION_CREDENTIALS = env_str("GOOGLE_APPLICATION_CREDENTIALS") or None
if GOOGLE_APPLICATION_CREDENTIALS and not Path(GOOGLE_APPLICATION_CREDENTIALS).is_file():
    raise SettingError(f"GOOGLE_APPLICATION_CREDENTIALS: no such file {GOOGLE_APPLICATION_CREDENTIALS!r}")

if STORAGE_BACKEND == "s3":
    _default_storage = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {}}
elif STORAGE_BACKEND in ("firebase", "gcs"):
    if not GS_BUCKET_NAME:
        raise SettingError(f"STORAGE_BACKEND={STORAGE_BACKEND} needs GS_BUCKET_NAME")
    _default_storage = {"BACKEND": "storage_app.gcs_backend.GoogleCloudStorage", "OPTIONS": {}}
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "file_permissions_mode": 0o640},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

SIGNED_URL_TTL_SECONDS = env_int("SIGNED_URL_TTL_SECONDS", 24 * 3600) or 24 * 3600
FILE_RETENTION_DAYS = env_int("FILE_RETENTION_DAYS", 30) or 30
# How often the beat task deletes built-in files past their retention (storage_app.tasks).
FILE_PURGE_INTERVAL_SECONDS = env_int("FILE_PURGE_INTERVAL_SECONDS", 3600) or 3600
# Presigned GET links to copies in external storage; S3 SigV4 and GCS V4 allow at most 7 days.
EXTERNAL_URL_TTL_SECONDS = env_int("EXTERNAL_URL_TTL_SECONDS", 7 * 24 * 3600) or 7 * 24 * 3600
if not 60 <= EXTERNAL_URL_TTL_SECONDS <= 7 * 24 * 3600:
    raise SettingError("EXTERNAL_URL_TTL_SECONDS must be between 60 and 604800 (7 days)")

# --- Rendering limits ----------------------------------------------------------------------
RENDER_TIMEOUT_SECONDS = env_int("RENDER_TIMEOUT_SECONDS", 30) or 30
# The engine of a request that names none (`options.engine`): weasyprint or chromium.
DEFAULT_ENGINE = env_str("DEFAULT_ENGINE", "weasyprint")
if DEFAULT_ENGINE not in ("weasyprint", "chromium"):
    raise SettingError("DEFAULT_ENGINE must be weasyprint or chromium")
# Back-pressure: with this many jobs waiting on a queue (render, or convert), a new synchronous
# request is refused at once (503 QUEUE_FULL with Retry-After) rather than accepted to time
# out; asynchronous jobs may queue up to their own, larger bound. 0 turns a bound off.
RENDER_QUEUE_SYNC_LIMIT = env_int("RENDER_QUEUE_SYNC_LIMIT", 16)
RENDER_QUEUE_ASYNC_LIMIT = env_int("RENDER_QUEUE_ASYNC_LIMIT", 2000)
MAX_INPUT_BYTES = env_int("MAX_INPUT_BYTES", 10 * 1024 * 1024) or 10 * 1024 * 1024
MAX_PDF_BYTES = env_int("MAX_PDF_BYTES", 25 * 1024 * 1024) or 25 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_INPUT_BYTES + 1024 * 1024
# Handlebars runs on the web tier, so each document's templates (filename, document, header and
# footer together) are stopped while running once they produce more HTML than this, or run
# longer than this (docs/templates.md, "Limits").
TEMPLATE_OUTPUT_LIMIT_BYTES = env_int("TEMPLATE_OUTPUT_LIMIT_BYTES", MAX_INPUT_BYTES) or MAX_INPUT_BYTES
TEMPLATE_WORK_LIMIT_SECONDS = env_float("TEMPLATE_WORK_LIMIT_SECONDS", 2.0)
if not 0 < TEMPLATE_WORK_LIMIT_SECONDS <= RENDER_TIMEOUT_SECONDS:
    raise SettingError("TEMPLATE_WORK_LIMIT_SECONDS must be above 0 and at most RENDER_TIMEOUT_SECONDS")
RESOURCE_FETCH_TIMEOUT_SECONDS = env_int("RESOURCE_FETCH_TIMEOUT_SECONDS", 10) or 10
RESOURCE_MAX_BYTES = env_int("RESOURCE_MAX_BYTES", 10 * 1024 * 1024) or 10 * 1024 * 1024
# Networks that outbound requests (renderer resources, webhooks, storage endpoints) may reach
# even though they are loopback/private. Empty by default (the test run allows loopback).
OUTBOUND_ALLOWED_NETWORKS = env_networks("OUTBOUND_ALLOWED_NETWORKS", [])
# The same for resources that documents reference (images, stylesheets, fonts). Separate because
# any API caller controls those URLs; empty by default even in tests.
RENDERER_ALLOWED_NETWORKS = env_networks("RENDERER_ALLOWED_NETWORKS", [])

# --- Engines (docs/engines.md) ---------------------------------------------------------------
# Engines each render process loads before its first task (worker_process_init).
WARM_ENGINES = env_list("WARM_ENGINES", ["weasyprint", "chromium"])
if unknown_engines := sorted(set(WARM_ENGINES) - set(ENGINE_NAMES)):
    raise SettingError(f"WARM_ENGINES: unknown engine(s) {', '.join(unknown_engines)}")
CHROMIUM_PATH = env_str("CHROMIUM_PATH", "/usr/bin/chromium")
# A render process restarts its browser after this many documents, or once the resident memory
# of the browser's process tree, without shared pages, exceeds this many MB (checked after each
# document; a warm browser holds about 200 MB).
CHROMIUM_MAX_DOCUMENTS_PER_BROWSER = env_int("CHROMIUM_MAX_DOCUMENTS_PER_BROWSER", 500) or 500
CHROMIUM_MAX_MEMORY_MB = env_int("CHROMIUM_MAX_MEMORY_MB", 1024) or 1024

# --- Celery --------------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "fileloomfs://localhost//")
if CELERY_BROKER_URL.startswith(("fileloomfs", "filesystem")):
    CELERY_BROKER_TRANSPORT_OPTIONS = fsbroker.transport_options(BROKER_DIR)
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
# No result backend: the database row of a generation is the only source of truth, and the
# synchronous API waits on it (documents.services.generation_wait).
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 3, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CONCURRENCY = env_int("WORKER_CONCURRENCY", None) or (os.cpu_count() or 2)
CELERY_WORKER_MAX_TASKS_PER_CHILD = env_int("WORKER_MAX_TASKS_PER_CHILD", 200)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("WORKER_MAX_MEMORY_PER_CHILD_KB", 600_000)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A new pool process warms its engines (WeasyPrint, a Chromium browser) before it reports up;
# Celery's default 4 s is less than a browser launch on a busy machine, and a child killed for
# it is replaced by another that is killed the same way (found by bench/loadtest.py).
CELERY_WORKER_PROC_ALIVE_TIMEOUT = env_float("WORKER_PROC_ALIVE_TIMEOUT_SECONDS", 60)
# A stopping worker (SIGTERM) lets a running render finish for this long, then re-queues it;
# the worker is gone by the deadline whatever it was doing (fileloom/celery.py).
WORKER_STOP_GRACE_SECONDS = env_float("WORKER_STOP_GRACE_SECONDS", 4)
WORKER_STOP_DEADLINE_SECONDS = env_float("WORKER_STOP_DEADLINE_SECONDS", 7)
if not 0 <= WORKER_STOP_GRACE_SECONDS < WORKER_STOP_DEADLINE_SECONDS:
    raise SettingError("WORKER_STOP_GRACE_SECONDS must be at least 0 and below WORKER_STOP_DEADLINE_SECONDS")
CELERY_TASK_ROUTES = {
    "documents.tasks.render_generation": {"queue": "render"},
    "templates_app.tasks.render_preview": {"queue": "render"},
    # Office conversions (LibreOffice) and PDF merges: slow, memory-hungry, their own time limit.
    "cloudlayer.tasks.convert_document": {"queue": "convert"},
}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Async jobs and idempotency (docs/jobs.md) ---------------------------------------------
# A worker renewing its claim on a generation every HEARTBEAT seconds; a claim older than
# STALE seconds belongs to a dead worker and may be taken over (at most MAX_ATTEMPTS renders).
GENERATION_HEARTBEAT_SECONDS = env_float("GENERATION_HEARTBEAT_SECONDS", 5)
GENERATION_CLAIM_STALE_SECONDS = env_float("GENERATION_CLAIM_STALE_SECONDS", 30)
GENERATION_MAX_ATTEMPTS = env_int("GENERATION_MAX_ATTEMPTS", 3) or 3
# The reaper (a periodic task) re-queues or fails stuck generations.
GENERATION_REAPER_INTERVAL_SECONDS = env_float("GENERATION_REAPER_INTERVAL_SECONDS", 15)
# A generation still processing this long after render timeout + hard limit is failed.
GENERATION_REAPER_MARGIN_SECONDS = env_int("GENERATION_REAPER_MARGIN_SECONDS", 60) or 0
# A queued generation whose message may have been lost is re-dispatched after this long.
GENERATION_REDISPATCH_AFTER_SECONDS = env_int("GENERATION_REDISPATCH_AFTER_SECONDS", 300) or 300
IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 24) or 24

# --- Webhooks (docs/webhooks.md) ------------------------------------------------------------
# http:// (and loopback addresses) for webhook URLs: development and tests only.
WEBHOOK_ALLOW_HTTP_LOOPBACK = env_bool("WEBHOOK_ALLOW_HTTP_LOOPBACK", False)
# Retry delays are (1, 5, 30, 120, 360, 720, 1440) x this base: 1 min ... 24 h by default.
WEBHOOK_RETRY_BASE_SECONDS = env_float("WEBHOOK_RETRY_BASE_SECONDS", 60)
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env_float("WEBHOOK_CONNECT_TIMEOUT_SECONDS", 5)
WEBHOOK_READ_TIMEOUT_SECONDS = env_float("WEBHOOK_READ_TIMEOUT_SECONDS", 10)
WEBHOOK_DISABLE_AFTER_FAILED_EVENTS = env_int("WEBHOOK_DISABLE_AFTER_FAILED_EVENTS", 5) or 5
WEBHOOK_SECRET_GRACE_HOURS = env_int("WEBHOOK_SECRET_GRACE_HOURS", 24) or 0
WEBHOOK_DISPATCH_INTERVAL_SECONDS = env_float("WEBHOOK_DISPATCH_INTERVAL_SECONDS", 10)

# --- cloudlayer.io-compatible API (docs/cloudlayer.md) ---------------------------------------
# Mounted at /<prefix>/v1/… and /<prefix>/v2/…; an SDK's base URL is https://<host>/<prefix>.
CLOUDLAYER_URL_PREFIX = env_str("CLOUDLAYER_URL_PREFIX", "cloudlayer").strip("/")
if not re.fullmatch(r"[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*", CLOUDLAYER_URL_PREFIX) or (
    CLOUDLAYER_URL_PREFIX.split("/")[0] in ("v1", "admin", "static", "media", "healthz")
):
    raise SettingError(f"CLOUDLAYER_URL_PREFIX must be a path no Fileloom route uses, got {CLOUDLAYER_URL_PREFIX!r}")
# The engine of cloudlayer conversions (cloudlayer renders with Chrome); DEFAULT_ENGINE when it
# is not installed.
CLOUDLAYER_ENGINE = env_str("CLOUDLAYER_ENGINE", "chromium")
if CLOUDLAYER_ENGINE not in ("weasyprint", "chromium"):
    raise SettingError("CLOUDLAYER_ENGINE must be weasyprint or chromium")
# A request's own webhook gets the body of the API that took it (documents.payloads.request_webhook).
REQUEST_WEBHOOK_BODIES = {"cloudlayer": "cloudlayer.payloads.webhook_body"}
# Time limit of one office conversion (DOCX → PDF/HTML) or PDF merge; the converter process
# group is killed when it runs out.
CONVERT_TIMEOUT_SECONDS = env_int("CONVERT_TIMEOUT_SECONDS", 120) or 120
# LibreOffice's converter process itself (not the `soffice` wrapper script; see rendering.office).
SOFFICE_BINARY = env_str("SOFFICE_BINARY", "/usr/lib/libreoffice/program/soffice.bin")

# --- Quota ---------------------------------------------------------------------------------
BILLING_ENABLED = env_bool("BILLING_ENABLED", False)
# Monthly PDFs for a new workspace when billing is off; empty means unlimited.
DEFAULT_MONTHLY_QUOTA = env_int("DEFAULT_MONTHLY_QUOTA", None)
# API requests per minute per workspace; empty means no limit.
DEFAULT_RATE_LIMIT_PER_MINUTE = env_int("DEFAULT_RATE_LIMIT_PER_MINUTE", 600)
# Stripe (only when BILLING_ENABLED; a self-hosted install needs none of these). STRIPE_API_BASE
# points the client at another API host (tests use a local stand-in).
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env_str("STRIPE_API_BASE").rstrip("/")
STRIPE_CURRENCY = env_str("STRIPE_CURRENCY", "usd")
STRIPE_PRICES = env_stripe_prices("STRIPE_PRICES")

REDIS_CACHE_URL = env_str("CACHE_URL") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else ""
)
if REDIS_CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_CACHE_URL}}
else:
    # One SQLite file under VAR_DIR: every web process of this machine counts the same window.
    CACHES = {"default": {"BACKEND": "fileloom.sqlitecache.SQLiteCache", "LOCATION": str(VAR_DIR / "cache.sqlite3")}}

# --- CORS (browser callers; docs/deployment.md) ----------------------------------------------
# Off unless CORS_ALLOWED_ORIGINS lists origins (or is `*`). Only the API; the admin is same-origin.
_cors_origins = env_origins("CORS_ALLOWED_ORIGINS")
CORS_ALLOW_ALL_ORIGINS = "*" in _cors_origins
CORS_ALLOWED_ORIGINS = [origin for origin in _cors_origins if origin != "*"]
CORS_URLS_REGEX = r"^/v1/"
CORS_ALLOW_HEADERS = ["accept", "authorization", "content-type", "x-api-key", "idempotency-key", "x-requested-with"]
CORS_EXPOSE_HEADERS = [
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Retry-After",
    "Idempotent-Replayed",
    "X-Request-Id",
    "Content-Disposition",
]
CORS_PREFLIGHT_MAX_AGE = 600

# --- REST framework ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.auth.IsWorkspaceKey"],
    "DEFAULT_THROTTLE_CLASSES": ["billing.ratelimit.WorkspaceRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["fileloom.api_toolkit.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "fileloom.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fileloom API",
    "DESCRIPTION": "Self-hosted, fileloom.io-compatible HTML and Handlebars to PDF API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # "Authorize" in /v1/docs keeps the key across reloads (in the browser's localStorage).
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    # Every operation's error statuses, with the error envelope (fileloom/openapi.py).
    # /v1/schema is Fileloom's API; the cloudlayer surface has its own (cloudlayer/openapi.py).
    "PREPROCESSING_HOOKS": ["cloudlayer.openapi.fileloom_endpoints"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "fileloom.openapi.add_error_responses"],
}

# --- Logging -------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# Celery's per-task bookkeeping (beat's "Sending due task", "Task … received/succeeded" for the
# periodic jobs every few seconds, and for every render) shows only with LOG_LEVEL=DEBUG; its
# warnings and errors always show.
_CELERY_CHATTER_LEVEL = "DEBUG" if LOG_LEVEL.upper() == "DEBUG" else "WARNING"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "fileloom.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "weasyprint": {"level": "ERROR"},
        "fontTools": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
        **{
            name: {"level": _CELERY_CHATTER_LEVEL}
            for name in ("celery.beat", "celery.worker.strategy", "celery.app.trace", "celery.worker.request")
        },
    },
}
