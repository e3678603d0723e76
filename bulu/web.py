"""Small helpers shared by views: domain errors become messages or 403, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme

from bulu.exceptions import ApplicationError

V = TypeVar("V", bound=Callable[..., HttpResponse])


def domain_errors(view: V) -> V:
    """ApplicationError -> message + back to where the user came from; PermissionError -> 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(_back(request))
        except PermissionError as exc:
            raise PermissionDenied(str(exc)) from exc

    return cast(V, wrapper)


def _back(request: HttpRequest) -> str:
    """The page the user came from (same host only), else home: never a loop on this URL."""
    referer = request.headers.get("referer", "")
    if (
        referer
        and url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        and (urlsplit(referer).path != request.path or request.method != "GET")
    ):
        return referer
    return "/"


def paginate(request: HttpRequest, qs: QuerySet[Any], per_page: int = 30) -> Page[Any]:
    # Counting a filtered 100k-row queryset is one indexed COUNT; the page itself is LIMIT/OFFSET.
    return Paginator(qs, per_page).get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
