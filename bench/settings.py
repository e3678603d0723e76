"""Settings for `make bench`: the project's, plus django-import-export and a throwaway model."""

from __future__ import annotations

from bulu.settings import *  # noqa: F403
from bulu.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "import_export", "bench.iebench"]
# The bench judges 100k rows in one file; production keeps the 20k default.
BULU_ROSTER_MAX_ROWS = 200_000
BULU_UPLOAD_MAX_BYTES = 64 * 1024 * 1024
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AXES_ENABLED = False
LOGGING = {"version": 1, "disable_existing_loggers": False}
# The benches drive pages through Django's test client, whose requests name the host
# "testserver"; the project's default ALLOWED_HOSTS (127.0.0.1, localhost) would answer 400.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # noqa: F405
