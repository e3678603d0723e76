"""Settings for `make bench-load`: the app as deployed (DEBUG off), plus the bench's floor page.

Differences from production, each because the bench runs on loopback without TLS or a proxy:
plain HTTP (no HTTPS redirect, no secure-only cookies, no HSTS), django-axes off (hundreds of
logins from one address), and MD5 password hashes (bench.settings) so that logging in the
simulated users costs nothing next to the pages measured. The floor view lives here, never in the
app's URLs.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from bench.settings import *  # noqa: F403
from bench.settings import BASE_DIR, DEBUG, INSTALLED_APPS, STORAGES, TEMPLATES

if DEBUG:
    raise ImproperlyConfigured("The load bench measures the app as deployed: run it with DEBUG=0.")

# django-import-export and its throwaway model belong to the roster bench only.
INSTALLED_APPS = [a for a in INSTALLED_APPS if a not in ("import_export", "bench.iebench")]
ROOT_URLCONF = "bench.load.urls"
TEMPLATES = [{**TEMPLATES[0], "DIRS": [BASE_DIR / "templates", BASE_DIR / "bench/load/templates"]}]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
AXES_ENABLED = False
if os.environ.get("BENCH_LOAD_COLLECTSTATIC", "1") == "0":
    # Quick (smoke) runs skip collectstatic: plain static URLs, no manifest.
    STORAGES = {
        **STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
# Server errors go to the gunicorn error log, so a failing page is seen, not just counted.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR"}},
}
