"""The one settings module. Everything that differs between installations comes
from the environment (KAM_*), so the same code runs a laptop demo and a team
server. See README "Configuration" for the list."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent  # the kam/ package
REPO_DIR = BASE_DIR.parent


def _env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean: use 1/0, true/false, yes/no or on/off."
    )


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None


def _env_positive(name: str, default: int) -> int:
    value = _env_int(name, default)
    if value < 1:
        raise ImproperlyConfigured(f"{name}={value} must be 1 or more.")
    return value


def _env_secret(name: str) -> str:
    """NAME, or the content of the file named by NAME_FILE (stripped), so a secret can
    come from a file only its owner reads (systemd credentials, Docker secrets)."""
    value = os.environ.get(name, "")
    file_name = os.environ.get(f"{name}_FILE", "").strip()
    if value.strip() and file_name:
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
    if not file_name:
        return value
    try:
        content = Path(file_name).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ImproperlyConfigured(f"{name}_FILE={file_name!r}: there is no such file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {reason}.") from None
    if not content:
        raise ImproperlyConfigured(f"{name}_FILE={file_name!r} is empty.")
    return content


DATA_DIR = Path(os.environ.get("KAM_DATA_DIR") or (Path.cwd() / "data")).resolve()


def _secret_key() -> str:
    """KAM_SECRET_KEY (or KAM_SECRET_KEY_FILE) wins; otherwise a random key is generated
    once and kept in the data folder, so sessions survive restarts without anyone
    configuring it."""
    from_env = _env_secret("KAM_SECRET_KEY")
    if from_env:
        return from_env
    path = DATA_DIR / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
    return key


SECRET_KEY = _secret_key()
DEBUG = _env_bool("KAM_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("KAM_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("KAM_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "kam.core",
    "kam.methodology",
    "kam.users",
    "kam.accounts",
    "kam.contacts",
    "kam.opportunities",
    "kam.stakeholders",
    "kam.intel",
    "kam.competition",
    "kam.segments",
    "kam.partners",
    "kam.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "kam.config.headers.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "kam.core.limits.RequestLimitsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "kam.users.sessions.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kam.config.urls"
WSGI_APPLICATION = "kam.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _databases() -> dict:
    url = _env_secret("KAM_DATABASE_URL").strip()
    if url:
        import dj_database_url

        try:
            config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"KAM_DATABASE_URL is not a database URL ({exc}); "
                "expected e.g. postgres://user:password@127.0.0.1:5432/kam"
            ) from None
        # PostgreSQL's JIT compiles a query when its estimated cost is high; the
        # dashboard's grouped queries are estimated high and run in a second or less,
        # and compiling took longer than running (0.5-1.8 s of a team's dashboard at
        # 1,000,000 deals). Off for KAM's connections (a URL's own ?options= kept).
        if "postgresql" in config.get("ENGINE", ""):
            options = config.setdefault("OPTIONS", {})
            options["options"] = f"{options.get('options', '')} -c jit=off".strip()
        return {"default": config}
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "kam.sqlite3"),
            "OPTIONS": {
                # WAL lets readers go on while one writer writes; IMMEDIATE takes the
                # write lock at BEGIN so two writers queue (busy timeout) instead of
                # failing half-way with "database is locked".
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;PRAGMA busy_timeout=10000;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 10,
            },
        }
    }


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# ModelBackend refuses inactive users, also when it loads a session's user: a disabled
# user's old session cookie is anonymous at the next request (tests/security/test_sessions.py).
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = os.environ.get("KAM_TIME_ZONE", "Asia/Shanghai")
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Served by WhiteNoise straight from the app folders: no collectstatic step to forget.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG


def _session_max_seconds() -> int:
    """KAM_SESSION_MAX_HOURS; KAM_SESSION_AGE (seconds, its older name) still works."""
    hours = os.environ.get("KAM_SESSION_MAX_HOURS", "").strip()
    seconds = os.environ.get("KAM_SESSION_AGE", "").strip()
    if hours and seconds:
        raise ImproperlyConfigured(
            "Set KAM_SESSION_MAX_HOURS or its older name KAM_SESSION_AGE (seconds), not both."
        )
    if seconds:
        return _env_positive("KAM_SESSION_AGE", 12 * 3600)
    return _env_positive("KAM_SESSION_MAX_HOURS", 12) * 3600


# A session ends after KAM_SESSION_IDLE_MINUTES without a request, and
# KAM_SESSION_MAX_HOURS after sign-in whatever happens (kam/users/sessions.py).
KAM_SESSION_IDLE_SECONDS = _env_positive("KAM_SESSION_IDLE_MINUTES", 120) * 60
KAM_SESSION_MAX_SECONDS = _session_max_seconds()
SESSION_COOKIE_AGE = KAM_SESSION_MAX_SECONDS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Sign-in throttling (kam/users/throttle.py): counted in the database, so every process
# serving one database counts the same failures.
KAM_LOGIN_MAX_FAILURES = _env_positive("KAM_LOGIN_MAX_FAILURES", 5)
KAM_LOGIN_MAX_FAILURES_PER_IP = _env_positive("KAM_LOGIN_MAX_FAILURES_PER_IP", 20)
KAM_LOGIN_WINDOW_SECONDS = _env_positive("KAM_LOGIN_WINDOW_MINUTES", 15) * 60

# HTTPS. KAM_HTTPS=1 when users reach KAM over https:// only: secure cookies, http://
# redirected to https:// (except /healthz, for the proxy's checks), HSTS.
# KAM_SECURE_COOKIES alone turns on just the secure cookies.
KAM_HTTPS = _env_bool("KAM_HTTPS", False)
SESSION_COOKIE_SECURE = KAM_HTTPS or _env_bool("KAM_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = KAM_HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = _env_int("KAM_HSTS_SECONDS", 365 * 24 * 3600) if KAM_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = KAM_HTTPS and _env_bool("KAM_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = KAM_HTTPS and _env_bool("KAM_HSTS_PRELOAD", True)
# Behind a reverse proxy that ends TLS: `kam serve` trusts X-Forwarded-Proto and
# X-Forwarded-For from KAM_TRUSTED_PROXY only (waitress), so KAM sees the request as
# https and the client's address (for sign-in throttling) instead of the proxy's.
KAM_BEHIND_PROXY = _env_bool("KAM_BEHIND_PROXY", False)
KAM_TRUSTED_PROXY = os.environ.get("KAM_TRUSTED_PROXY", "").strip() or "127.0.0.1"
if KAM_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Headers on every response (SecurityMiddleware, XFrameOptionsMiddleware and
# kam/config/headers.py for the Content-Security-Policy).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts only from /static/ (no inline script, no eval); the templates' style=""
# attributes (bar widths, swatch colours) and the styles htmx and ECharts set need
# inline styles.
KAM_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# The largest request body (an API call's JSON, a form) and the most form fields or
# query parameters in one request; beyond them kam.core.limits answers 413 in words.
# Uploads may be as large as KAM_MAX_UPLOAD_BYTES / KAM_MAX_IMPORT_BYTES below.
DATA_UPLOAD_MAX_MEMORY_SIZE = _env_positive("KAM_MAX_REQUEST_BYTES", 2 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = _env_positive("KAM_MAX_REQUEST_FIELDS", 1000)

KAM_PLAYBOOK_DIRS = [BASE_DIR / "methodology" / "playbooks", DATA_DIR / "playbooks"]
# The evaluation, priority, risk and milestone models ship in kam/methodology/models/;
# a file of the same name here replaces the shipped one.
KAM_MODEL_OVERRIDE_DIR = DATA_DIR / "models"
# Uploaded documents (the customer's written disclosure of a partner's conflict of
# interest): in the data folder, served only through views that check the user.
KAM_UPLOAD_DIR = DATA_DIR / "uploads"
KAM_MAX_UPLOAD_BYTES = int(os.environ.get("KAM_MAX_UPLOAD_BYTES") or 10 * 1024 * 1024)
# Spreadsheets to import (.xlsx/.csv): the file's size, and what an .xlsx (a zip) may
# unpack to — checked on its directory before anything is unpacked.
KAM_MAX_IMPORT_BYTES = int(os.environ.get("KAM_MAX_IMPORT_BYTES") or 30 * 1024 * 1024)
KAM_MAX_IMPORT_UNPACKED_BYTES = int(
    os.environ.get("KAM_MAX_IMPORT_UNPACKED_BYTES") or 300 * 1024 * 1024
)
KAM_DEFAULT_PAGE_SIZE = 50
KAM_MAX_PAGE_SIZE = 200

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("KAM_LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
