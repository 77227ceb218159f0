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


DATA_DIR = Path(os.environ.get("KAM_DATA_DIR") or (Path.cwd() / "data")).resolve()


def _secret_key() -> str:
    """KAM_SECRET_KEY wins; otherwise a random key is generated once and kept in
    the data folder, so sessions survive restarts without anyone configuring it."""
    from_env = os.environ.get("KAM_SECRET_KEY")
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
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
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
    url = os.environ.get("KAM_DATABASE_URL", "").strip()
    if url:
        import dj_database_url

        try:
            config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"KAM_DATABASE_URL is not a database URL ({exc}); "
                "expected e.g. postgres://user:password@127.0.0.1:5432/kam"
            ) from None
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

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = _env_int("KAM_SESSION_AGE", 12 * 3600)
SESSION_COOKIE_SECURE = _env_bool("KAM_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

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
