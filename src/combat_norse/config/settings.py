"""The one settings module (DESIGN.md principle 8): every value from the environment, parsed
strictly at start-up; a malformed value stops the process with a message naming it.

Environment:
    DATABASE_URL   postgres://user@host:port/db or sqlite:///path (default: a SQLite file
                   combat_norse.sqlite3 under VAR_DIR)
    SECRET_KEY     required in production; if unset a random key is kept in var/secret_key
    DEBUG          1/0 (default 0)
    ALLOWED_HOSTS  comma-separated (default 127.0.0.1,localhost)
    VAR_DIR        where the SQLite file, secret key and mail live (default ./var); made
                   0700, and the database and mail files in it 0600
    BEHIND_TLS_PROXY  1 behind a TLS-terminating proxy: secure cookies, HSTS, https redirect
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from combat_norse.config.env import (
    ConfigError,
    DatabaseConfig,
    env_bool,
    env_int,
    env_list,
    parse_database_url,
)
from combat_norse.core.files import private_dir, private_sqlite_database

PROJECT_DIR = Path(__file__).resolve().parents[3]
VAR_DIR = Path(os.environ.get("VAR_DIR") or PROJECT_DIR / "var").absolute()
try:
    private_dir(VAR_DIR)  # 0700: the database, secret key and mail below it are trial data
except OSError as exc:
    raise ConfigError(f"VAR_DIR: cannot create or protect {VAR_DIR}: {exc.strerror}") from None

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    raw = os.environ.get("SECRET_KEY")
    if raw is not None:
        if len(raw) < 32 or len(set(raw)) < 5:
            raise ConfigError("SECRET_KEY: must be at least 32 characters with 5 distinct ones")
        return raw
    key_file = VAR_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text(encoding="utf-8").strip()
    key = secrets.token_urlsafe(50)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])

_database_url = os.environ.get("DATABASE_URL")
DATABASES = {
    "default": (
        DatabaseConfig("django.db.backends.sqlite3", str(VAR_DIR / "combat_norse.sqlite3"))
        if _database_url is None
        else parse_database_url(_database_url, base_dir=PROJECT_DIR)
    ).as_django()
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] != ":memory:":
        # created 0600 before SQLite opens it; its -wal/-shm/-journal files inherit the mode
        try:
            private_sqlite_database(Path(str(DATABASES["default"]["NAME"])))
        except OSError as exc:
            problem = f"cannot create the SQLite file: {exc.strerror}"
            raise ConfigError(f"DATABASE_URL: {problem}") from None
    DATABASES["default"]["OPTIONS"] = {
        # writers queue instead of failing with "database is locked"
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background work (e-mail now; clocks and exports later) goes through Django's Tasks API
# (django-tasks backport). The database backend queues a task in the same transaction as the
# change that asked for it, so nothing is sent for a rolled-back change and nothing is lost
# after a commit; `manage.py db_worker` runs them (make run starts one).
TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",  # tests
    "dummy": "django_tasks.backends.dummy.DummyBackend",
}
_tasks_backend = os.environ.get("TASKS_BACKEND", "database")
if _tasks_backend not in TASK_BACKENDS:
    raise ConfigError(f"TASKS_BACKEND: one of {', '.join(TASK_BACKENDS)}, got {_tasks_backend!r}")
TASKS = {"default": {"BACKEND": TASK_BACKENDS[_tasks_backend]}}

# The audit trail's keys and signed checkpoints (issue 19), outside the database: the first seal
# creates the Ed25519 signing key and the leaf HMAC key (0600) under AUDIT_KEY_DIR and writes one
# checkpoint file per seal under AUDIT_CHECKPOINT_DIR (append-only). Production keeps both off
# the database server, and the signing key off the machines the DBA can read (README).
def _absolute_dir(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    path = Path(raw)
    if not path.is_absolute():
        raise ConfigError(f"{name}: must be an absolute path, got {raw!r}")
    return path


COMBAT_NORSE_AUDIT_KEY_DIR = _absolute_dir("AUDIT_KEY_DIR", VAR_DIR / "audit")
COMBAT_NORSE_AUDIT_CHECKPOINT_DIR = _absolute_dir(
    "AUDIT_CHECKPOINT_DIR", VAR_DIR / "audit" / "checkpoints"
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "combat_norse.core.apps.CoreConfig",
    "combat_norse.sites.apps.SitesConfig",
    "combat_norse.accounts.apps.AccountsConfig",
    "combat_norse.web.apps.WebConfig",
    "ninja",  # the API docs page's own static files (Swagger UI), not a CDN
    "combat_norse.api.apps.ApiConfig",
    "combat_norse.participants.apps.ParticipantsConfig",
    "combat_norse.allocation.apps.AllocationConfig",
    "combat_norse.crf.apps.CrfConfig",
    "combat_norse.safety.apps.SafetyConfig",
    "combat_norse.audit.apps.AuditConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "combat_norse.accounts.middleware.SecurityHeadersMiddleware",
    # static files with DEBUG=0 (and DEBUG=1 alike): from STATIC_ROOT after `collectstatic`,
    # compressed and cached for a year under their hashed names; the headers above still apply
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "combat_norse.core.http.RejectNulBytesMiddleware",  # before any lookup (PostgreSQL)
    "combat_norse.api.base.MethodNotAllowedJson",  # an API 405 is the API's JSON error too
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # the language of the session/cookie/browser
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "combat_norse.accounts.middleware.RequireTwoFactorMiddleware",
    "combat_norse.accounts.middleware.RequirePasswordChangeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",  # request.htmx: a partial update asked by htmx
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # the pages' answer to a refusal, an unknown id or bad input (web/errors.py's one table)
    "combat_norse.web.middleware.DomainErrorPageMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into its response
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out credentials
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

ROOT_URLCONF = "combat_norse.config.urls"
WSGI_APPLICATION = "combat_norse.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "combat_norse.web.context.navigation",  # role navigation, user and site
            ],
        },
    },
]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The languages the pages ship in (issue 17); translations live in each app's locale/ folder
# (web/locale: compiled .mo files are committed, so no gettext is needed to run).
LANGUAGES = [
    ("en", "English"),
    ("fr", "Français"),
    ("it", "Italiano"),
    ("ko", "한국어"),
    ("sv", "Svenska"),
]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"  # `manage.py collectstatic` (make run does it) fills it
# Hashed names (a new USWDS release is never served from an old cache) and gzip/brotli copies,
# made by collectstatic: the pages need it run once after each upgrade (`make run` does).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "combat_norse.web.storage.StaticStorage"},
}

# Mail goes to files under var/mail by default (directory 0700, files 0600): the console
# backend would print it on the stdout of whichever command triggered it (a coordinator's
# `randomize` would show the statisticians' list alert). Production sets EMAIL_BACKEND to SMTP.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "combat_norse.core.mail.PrivateFileEmailBackend")
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
COORDINATING_CENTRE_EMAIL = os.environ.get("COORDINATING_CENTRE_EMAIL", "ccc@combat-norse.invalid")

# Login lockout (django-axes): after AXES_FAILURE_LIMIT failures for one username the account
# is locked for the cool-off period; an administrator can unlock with `manage.py axes_reset`.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("LOGIN_LOCKOUT_MINUTES", 30, minimum=1) / 60  # hours
# Per username only: a per-IP lock would shut a whole hospital behind one NAT out of the ICU.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]  # the per-username choice above is deliberate
AXES_RESET_ON_SUCCESS = True
# The cool-off runs from the lockout: tries during it do not restart it (else anyone could keep
# an ICU coordinator locked out by trying once every 29 minutes).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"

OTP_TOTP_ISSUER = "COMBAT-NORSE"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # no secret in any django_otp admin (accounts/admin.py)

SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 30 * 60, minimum=60)
SESSION_SAVE_EVERY_REQUEST = True  # the age counts from the last request: expiry after inactivity
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 365 * 24 * 3600)  # sent only on HTTPS responses
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Behind a TLS-terminating proxy in production. The variable is not called HTTPS: that is the
# CGI variable which wsgiref (runserver) copies from the process environment into every
# request, so HTTPS=1 made plain HTTP count as HTTPS (no redirect, "secure" cookies sent over
# http). A truthy HTTPS is refused at start-up, and BEHIND_TLS_PROXY is parsed strictly.
_cgi_https = os.environ.get("HTTPS")
if _cgi_https is not None and _cgi_https.strip().lower() not in ("", "0", "false", "no", "off"):
    raise ConfigError(
        "HTTPS: set BEHIND_TLS_PROXY=1 instead and unset HTTPS (the CGI variable HTTPS makes "
        "runserver treat plain HTTP requests as HTTPS)"
    )
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
SESSION_COOKIE_SECURE = BEHIND_TLS_PROXY
CSRF_COOKIE_SECURE = BEHIND_TLS_PROXY
SECURE_SSL_REDIRECT = BEHIND_TLS_PROXY
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

# Flash messages stay on the server (the session): they may name a participant, and nothing
# about a participant goes into the browser's storage (cookies included).
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
