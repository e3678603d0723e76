"""Settings for bulu, read from the environment (django-environ).

Embedded default: no DATABASE_URL -> SQLite under var/; no REDIS_URL -> Celery tasks run in-process.
"""

from __future__ import annotations

from pathlib import Path

import django_stubs_ext
import environ
from celery.schedules import crontab

# Lets admin/ModelAdmin/QuerySet generics be subscripted at run time (django-stubs).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# Embedded default: no DATABASE_URL means a single machine with SQLite under var/.
EMBEDDED = not env.str("DATABASE_URL", default="")


def _embedded_secret_key() -> str:
    """A key generated once and kept in var/ (0600), so commands work on a bare machine."""
    import secrets

    path = BASE_DIR / "var" / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


# Production (a DATABASE_URL) refuses to start without a SECRET_KEY of its own.
SECRET_KEY = env.str("SECRET_KEY", default="") or (_embedded_secret_key() if EMBEDDED else "")
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "SECRET_KEY must be set when a production database (DATABASE_URL) is configured."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# A refused form answers with the app's own Chinese 403 page (bulu.errors), not Django's.
CSRF_FAILURE_VIEW = "bulu.errors.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "guardian",
    "django_fsm",
    "django_htmx",
    "axes",
    "csp",
    "accounts",
    "bulu.workflow",
    "bulu.jobs",
    "documents",
    "credits",
    "imports",
    "personal",
    "cadre",
    "collective",
    "stats",
    "exports",
    "privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "bulu.web.RequestSizeLimitMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "accounts.middleware.ForcePasswordChangeMiddleware",
    "bulu.web.DomainErrorMiddleware",
]

ROOT_URLCONF = "bulu.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "bulu.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "bulu.wsgi.application"
ASGI_APPLICATION = "bulu.asgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Writers take the lock when their transaction starts, so two simultaneous decisions queue
    # up and the second sees the first's version (SQLite has no SELECT ... FOR UPDATE).
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    # One-time initial passwords (accounts.passwords); re-hashed with the first one at login.
    "accounts.passwords.InitialPasswordHasher",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Guardian: anonymous object permissions are never used, so no AnonymousUser row is created.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# Evidence uploads: an image is decoded before it is accepted, under this pixel limit (a 50 MP
# phone photo passes; a decompression bomb does not); a PDF is read page by page.
BULU_EVIDENCE_MAX_PIXELS = env.int("BULU_EVIDENCE_MAX_PIXELS", default=60_000_000)
BULU_EVIDENCE_MAX_PDF_PAGES = env.int("BULU_EVIDENCE_MAX_PDF_PAGES", default=50)

# Login throttling (django-axes): lock an account+IP after repeated failures for one hour, and an
# address after many failures over any accounts (accounts.throttle). A campus NAT puts many
# students behind one address: the per-address limit is well above one student's typos.
BULU_LOGIN_FAILURES_PER_ACCOUNT = env.int("AXES_FAILURE_LIMIT", default=8)
BULU_LOGIN_FAILURES_PER_ADDRESS = env.int("BULU_LOGIN_FAILURES_PER_ADDRESS", default=40)
AXES_FAILURE_LIMIT = "accounts.throttle.failure_limit"
AXES_COOLOFF_TIME = 1
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_VERBOSE = False
# Behind nginx, the client's address comes from the header RATELIMIT_IP_META_KEY names.
AXES_CLIENT_IP_CALLABLE = "accounts.throttle.client_address"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
# Production serves the collected, hashed and compressed copies (collectstatic). `make run` (DEBUG
# off, BULU_STATIC_FROM_SOURCE=1) and DEBUG serve them straight from static/ and the apps
# (WhiteNoise's finders, changes picked up at once): no collectstatic on every start.
STATIC_FROM_SOURCE = DEBUG or env.bool("BULU_STATIC_FROM_SOURCE", default=False)
WHITENOISE_USE_FINDERS = STATIC_FROM_SOURCE
WHITENOISE_AUTOREFRESH = STATIC_FROM_SOURCE
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if STATIC_FROM_SOURCE
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Whole request body (uploads included), refused with a Chinese 413 page before it is read.
BULU_REQUEST_MAX_BYTES = env.int("BULU_REQUEST_MAX_BYTES", default=40 * 1024 * 1024)

# E-mail: console backend unless EMAIL_URL says otherwise (e.g. smtp+tls://user:pw@host:587).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="bulu@localhost")

# Celery: Redis when REDIS_URL is set, otherwise tasks run in-process (eager).
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
# kombu's Redis transport with a fix: the worker reconnects when Redis goes away (bulu.broker).
CELERY_BROKER_TRANSPORT = (
    "bulu.broker:Transport" if REDIS_URL.startswith(("redis://", "rediss://")) else None
)
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# Background work goes through the outbox (bulu.jobs): a job row in the same transaction, handed
# to the broker after commit. Handing over fails fast when the broker is down (no retry loop in a
# web request); the sweeper hands it over later. A job is tried BULU_JOB_MAX_ATTEMPTS times.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 1.0
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
BULU_JOB_MAX_ATTEMPTS = env.int("BULU_JOB_MAX_ATTEMPTS", default=3)
BULU_JOB_HEARTBEAT_SECONDS = env.float("BULU_JOB_HEARTBEAT_SECONDS", default=5.0)
# A running job whose heart stopped this long ago lost its worker (killed, OOM, restart).
BULU_JOB_STALE_SECONDS = env.int("BULU_JOB_STALE_SECONDS", default=45)
# Pause before the next attempt, times the attempts so far.
BULU_JOB_RETRY_SECONDS = env.int("BULU_JOB_RETRY_SECONDS", default=20)
# A pending job handed over this long ago and not started is handed over again (lost message).
BULU_JOB_REPUBLISH_SECONDS = env.int("BULU_JOB_REPUBLISH_SECONDS", default=900)
# After a failed hand-over a process hands nothing over for this long (the sweeper does it).
BULU_JOB_BROKER_PAUSE_SECONDS = env.float("BULU_JOB_BROKER_PAUSE_SECONDS", default=10.0)
BULU_ROSTER_TASK_TIME_LIMIT = env.int("BULU_ROSTER_TASK_TIME_LIMIT", default=600)
# Unacknowledged messages come back after this long (Redis's default is an hour): a message a dead
# worker had prefetched but not started runs within a few minutes. It may be shorter than the
# longest task's limit: a redelivered copy of a job still running (its heart beats) does nothing.
# Dead workers running a job are found sooner by the sweeper's heartbeat check.
# Publishing asks kombu for a connection with these failover options: one quick retry, not the
# default loop (~19 s with Redis down, inside a web request).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("BULU_BROKER_VISIBILITY_SECONDS", default=300),
    "socket_connect_timeout": 1,
    # A broker that accepts connections and answers nothing (frozen, a partition) fails a
    # hand-over after this long instead of holding the web request 10 s per job.
    "socket_timeout": 1,
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "jobs-sweep": {"task": "jobs.sweep", "schedule": 20.0},
    "remind-windows-closing": {"task": "workflow.remind_windows_closing", "schedule": 6 * 3600},
    "remind-waiting-approvers": {
        "task": "workflow.remind_waiting_approvers",
        "schedule": 24 * 3600,
    },
    "purge-roster-uploads": {"task": "imports.roster_uploads_purge", "schedule": 24 * 3600},
    "purge-orphan-files": {"task": "jobs.orphan_files_purge", "schedule": 24 * 3600},
    # Students whose retention period ended are anonymized once a month (docs/privacy.md).
    "anonymize-graduates": {
        "task": "privacy.graduates_anonymize",
        "schedule": crontab(minute=30, hour=3, day_of_month=1),
    },
}
# A stored file no row points to is deleted after this long (a younger one may belong to a
# transaction still running; the longest, an export of 100k records, takes seconds).
BULU_ORPHAN_FILE_GRACE_HOURS = env.float("BULU_ORPHAN_FILE_GRACE_HOURS", default=24.0)

# Caches: the PDF verification page's rate limit (django-ratelimit) counts in Redis when there is
# one (shared by all processes), otherwise per process; while Redis is down it falls back to the
# process's memory (bulu.cache), so /verify/ keeps answering.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "ratelimit": (
        {"BACKEND": "bulu.cache.FallbackRedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ratelimit"}
    )
    | {"KEY_PREFIX": "bulu-ratelimit"},
}
RATELIMIT_USE_CACHE = "ratelimit"
# Behind a proxy, the header holding the client's address (e.g. HTTP_X_REAL_IP set by nginx).
RATELIMIT_IP_META_KEY = env.str("RATELIMIT_IP_META_KEY", default="") or None

# With REQUIRE_SERVICES=1 (CI) tests that need PostgreSQL or a real worker fail instead of skipping.
REQUIRE_SERVICES = env.bool("REQUIRE_SERVICES", default=False)

# Security: strict by default when DEBUG is off; `manage.py check --deploy` prints no warning.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
# Only behind a proxy that sets X-Forwarded-Proto itself; otherwise clients could claim HTTPS.
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts only from our own static files, no inline script.
# Styles allow inline attributes because Django's admin sets a few; our pages use none.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SESSION_COOKIE_AGE = 8 * 3600

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"weasyprint": {"level": "ERROR"}, "fontTools": {"level": "ERROR"}},
}

# Domain limits, configurable per deployment.
BULU_ROSTER_MAX_ROWS = env.int("BULU_ROSTER_MAX_ROWS", default=20_000)
BULU_UPLOAD_MAX_BYTES = env.int("BULU_UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
# Uploaded rosters hold personal data: they (and their results) are deleted after this many days.
BULU_ROSTER_RETENTION_DAYS = env.int("BULU_ROSTER_RETENTION_DAYS", default=30)
# PIPL (personal data only as long as needed): a student of 年级 G graduates in July of
# G + BULU_STUDY_YEARS; BULU_RETENTION_YEARS_AFTER_GRADUATION years later their personal data is
# anonymized, the statistics kept (privacy.services.students_anonymize, docs/privacy.md).
BULU_STUDY_YEARS = env.int("BULU_STUDY_YEARS", default=4)
BULU_RETENTION_YEARS_AFTER_GRADUATION = env.int("BULU_RETENTION_YEARS_AFTER_GRADUATION", default=3)
BULU_REMINDER_WAITING_DAYS = env.int("BULU_REMINDER_WAITING_DAYS", default=3)
# 第六条: each personal item is also filed online in 到梦空间; by default a request is submitted
# only once every item records that step. Off for a school that does not use the online form.
BULU_REQUIRE_ONLINE_SUBMISSION = env.bool("BULU_REQUIRE_ONLINE_SUBMISSION", default=True)
# 第四条「工作满一年」 in school years: a cadre term counts for a 学年 when it starts no later than
# this many days after the year's first day and ends no earlier than this many days before the
# end of its teaching weeks (appointments rarely fall on the calendar's exact dates).
BULU_CADRE_TERM_TOLERANCE_DAYS = env.int("BULU_CADRE_TERM_TOLERANCE_DAYS", default=14)

# PDFs (documents): the address printed in their QR codes, time limits, the verify page's rate.
# The address is the configured one, never the one a request came in on (the worker has no request,
# and a PDF must not depend on who asked first); without it, the address `make run` serves (it
# passes BULU_RUN_ADDRESS=127.0.0.1:$(PORT)). `demo_logins` prints it too.
BULU_PUBLIC_URL = env.str("BULU_PUBLIC_URL", default="") or (
    "http://" + env.str("BULU_RUN_ADDRESS", default="127.0.0.1:8000")
)
BULU_PDF_WEB_TIMEOUT = env.float("BULU_PDF_WEB_TIMEOUT", default=30.0)
BULU_PDF_TASK_SOFT_LIMIT = env.int("BULU_PDF_TASK_SOFT_LIMIT", default=300)
# An archive download renders at most this many missing PDFs itself; the worker does the rest.
BULU_PDF_ARCHIVE_RENDERS = env.int("BULU_PDF_ARCHIVE_RENDERS", default=20)
# 到梦空间 import sheets: rows per workbook; a bigger batch is split into files of the same
# layout (a zip). 到梦空间 states no limit we could find; 10,000 rows (~0.5 MB) keeps one upload
# small and quick to check by eye (see docs/decisions.md, "Export batches").
BULU_EXPORT_ROWS_PER_FILE = env.int("BULU_EXPORT_ROWS_PER_FILE", default=10_000)
# Queue and overview filter choices (colleges, classes, notices) are cached this long per user.
BULU_FILTER_CHOICES_SECONDS = env.int("BULU_FILTER_CHOICES_SECONDS", default=60)
BULU_VERIFY_RATE = env.str("BULU_VERIFY_RATE", default="30/m")
