"""The Celery app. Without REDIS_URL settings make tasks run eagerly in-process."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bulu.settings")

app = Celery("bulu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="bulu.ping")
def ping() -> str:
    """Proves the broker-worker wiring end to end."""
    return "pong"
