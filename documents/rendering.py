"""HTML -> PDF with WeasyPrint, fetching nothing but data: URIs and the app's own static files.

WeasyPrint is imported once per process (the import alone costs ~0.5 s): the worker does it when
it starts (`documents.tasks`), a web process on its first render. Renders in the web process have
a time limit (`render_guarded`: a timer signal, or a forked child off the main thread); the worker
relies on the Celery task's soft and hard time limits instead.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings

from bulu.text import strip_controls

logger = logging.getLogger(__name__)

_weasyprint: ModuleType | None = None
_fetcher_class: type | None = None


class RenderTimeout(Exception):
    """The render took longer than allowed and was stopped."""


class RenderFailed(Exception):
    """The render failed in the child process (its message says why)."""


def weasyprint() -> ModuleType:
    global _weasyprint
    if _weasyprint is None:
        import weasyprint as module

        _weasyprint = module
    return _weasyprint


def preload() -> None:
    """Import WeasyPrint now (worker start), so no task pays for it."""
    weasyprint()
    fetcher_class()


def static_root() -> Path:
    """The app's own static directory: the only place files may be read from."""
    return Path(settings.BASE_DIR, "static").resolve()


def fetcher_class() -> type:
    """A URLFetcher (WeasyPrint 70: subclass it) that allows data: and our static files only."""
    global _fetcher_class
    if _fetcher_class is not None:
        return _fetcher_class
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, allowed_protocols=("data", "file"), **kwargs)
            self.blocked: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(unquote(urlsplit(url).path)).resolve()
                root = static_root()
                if path.is_relative_to(root) and path.is_file():
                    return URLFetcherResponse(url, path.read_bytes(), status=200)
            self.blocked.append(url)
            logger.warning("PDF render: blocked a fetch of %r", url[:200])
            raise ValueError(f"fetching {url[:80]!r} is not allowed")

    _fetcher_class = StaticOnlyFetcher
    return _fetcher_class


@dataclass
class Rendered:
    pdf: bytes
    pages: int
    seconds: float
    blocked: list[str] = field(default_factory=list)


def render(html: str) -> Rendered:
    """Render in this process (the worker's path: Celery's time limits apply)."""
    module = weasyprint()
    started = time.perf_counter()
    html = strip_controls(html)  # typed text may carry C0 controls; a PDF shows none of them
    fetcher = fetcher_class()()
    document = module.HTML(
        string=html, base_url=static_root().as_uri() + "/", url_fetcher=fetcher
    ).render()
    pdf = document.write_pdf()
    return Rendered(pdf, len(document.pages), time.perf_counter() - started, fetcher.blocked)


def _child(html: str, conn: Any) -> None:
    try:
        conn.send(("ok", render(html)))
    except BaseException as exc:  # report anything to the parent, which decides
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def render_guarded(html: str, *, timeout: float) -> Rendered:
    """Render, stopped after `timeout` seconds (RenderTimeout): the web process's guard.

    On the main thread (gunicorn's sync workers) a timer signal interrupts the render in place;
    elsewhere (a threaded server) the render runs in a forked child that is killed.
    """
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        return _render_with_alarm(html, timeout=timeout)
    return _render_in_child(html, timeout=timeout)


def _render_with_alarm(html: str, *, timeout: float) -> Rendered:
    def stop(signum: int, frame: Any) -> None:
        raise RenderTimeout(f"render took longer than {timeout} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return render(html)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _render_in_child(html: str, *, timeout: float) -> Rendered:
    """Render in a forked child; kill it after `timeout` seconds.

    The child inherits the already imported WeasyPrint, so forking costs milliseconds; it only
    renders the HTML it was given and never touches the database.
    """
    preload()
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(html, sender), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            raise RenderTimeout(f"render took longer than {timeout} s")
        status, payload = receiver.recv()
    except EOFError as exc:
        raise RenderFailed("the render process ended without a result") from exc
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join(5)
    if status != "ok":
        raise RenderFailed(str(payload))
    assert isinstance(payload, Rendered)
    return payload
