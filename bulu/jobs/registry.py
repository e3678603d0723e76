"""The outbox's handlers: which function runs a job of each name, and how people call it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise

Hook = Callable[[Sequence[Any], str], None]
# What a job works on, for the people who see it failed: (text, link or "").
Describe = Callable[[Sequence[Any]], tuple[str, str]]


@dataclass(frozen=True)
class Handler:
    name: str
    run: Callable[..., Any]
    # Hard limit of one run (Celery kills the run past it); also how long a run may go unseen.
    time_limit: int
    on_retry: Hook | None = None
    on_give_up: Hook | None = None
    label: str | Promise = ""
    describe: Describe | None = None


HANDLERS: dict[str, Handler] = {}


def handler_get(name: str) -> Handler:
    if name not in HANDLERS:
        from bulu.celery import app

        app.loader.import_default_modules()  # every app's tasks module registers its handlers
    return HANDLERS[name]
