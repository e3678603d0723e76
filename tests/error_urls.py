"""Test-only URLconf: the app's URLs, its error handlers and a few views that fail on purpose."""

from __future__ import annotations

from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from bulu.exceptions import AccessDenied
from bulu.urls import handler400, handler403, handler404, handler500
from bulu.urls import urlpatterns as app_patterns

SECRET = "boom-9f3c-internal-detail"


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(SECRET)


def suspicious(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation(SECRET)


def missing(request: HttpRequest) -> HttpResponse:
    raise Http404(SECRET)


def denied(request: HttpRequest) -> HttpResponse:
    raise AccessDenied("只有二课中心工作人员可以这样做。")


urlpatterns = [
    path("test-errors/boom/", boom),
    path("test-errors/suspicious/", suspicious),
    path("test-errors/missing/", missing),
    path("test-errors/denied/", denied),
    *app_patterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
