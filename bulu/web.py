"""What every view shares: domain errors become a message or 403, never a 500; body size limits.

Views raise (or let services raise) `ApplicationError`; `DomainErrorMiddleware` shows its message
and sends the user back where they came from, so no view catches it by hand. `AccessDenied` (a
subclass) answers 403. A view that re-renders a form with the user's input catches
`ApplicationError` itself, re-raising `AccessDenied` (see `bulu.workflow.views.decide`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from accounts.models import User
from bulu.exceptions import AccessDenied, ApplicationError


class DomainErrorMiddleware:
    """ApplicationError -> message + back to where the user came from; AccessDenied -> 403."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if isinstance(exc, AccessDenied):
            from bulu.errors import permission_denied  # bulu.errors uses back_url below

            return permission_denied(request, PermissionDenied(exc.message))
        if isinstance(exc, ApplicationError):
            messages.error(request, exc.message)
            return HttpResponseRedirect(back_url(request))
        return None


class RequestSizeLimitMiddleware:
    """Refuse a request body over BULU_REQUEST_MAX_BYTES before anything reads it (413).

    nginx may have its own limit; this one holds wherever the app runs and explains itself in
    Chinese instead of a bare proxy error page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.BULU_REQUEST_MAX_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            return render(
                request,
                "413.html",
                {"size_mb": f"{length / 1048576:.1f}", "limit_mb": limit // 1048576},
                status=413,
            )
        return self.get_response(request)


def back_url(request: HttpRequest) -> str:
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


def current_user(request: HttpRequest) -> User:
    """The signed-in user (views are behind login_required)."""
    user = request.user
    assert isinstance(user, User)
    return user


class _Filed(Protocol):
    applicant_id: int


F = TypeVar("F", bound=_Filed)


def own_request(get: Callable[..., F], request: HttpRequest, pk: int) -> F:
    """The user's own request through a kind's `get(user=, pk=)`: 404 when they may not see it,
    403 when they see it but did not file it."""
    obj = get(user=current_user(request), pk=pk)
    if obj.applicant_id != request.user.pk:
        raise PermissionDenied
    return obj


def posted_version(request: HttpRequest) -> int:
    """The request version the user saw; every state-changing POST must carry it."""
    raw = request.POST.get("version", "")
    if not raw.isdigit():
        raise ApplicationError(_("页面信息不完整（缺少版本号），请刷新页面后再操作。"))
    return int(raw)


def paginate(
    request: HttpRequest,
    qs: QuerySet[Any],
    per_page: int = 30,
    display: Callable[[QuerySet[Any]], QuerySet[Any]] | None = None,
) -> Page[Any]:
    """A page of `qs`. With `display`, the page's ids are found first on `qs` alone (the
    database sorts and counts narrow rows) and only those rows are read through `display`
    (its joins): joining thousands of rows to show thirty is what made queues slow."""
    if display is None:
        return Paginator(qs, per_page).get_page(request.GET.get("page"))
    page = Paginator(qs.values_list("pk", flat=True), per_page).get_page(request.GET.get("page"))
    ids = list(page.object_list)
    rows = display(qs.model.objects.filter(pk__in=ids)).in_bulk(ids)
    page.object_list = [rows[pk] for pk in ids if pk in rows]
    return page


def first_rows(
    qs: QuerySet[Any], n: int, display: Callable[[QuerySet[Any]], QuerySet[Any]]
) -> list[Any]:
    """The first `n` rows of an ordered `qs`, their joins read for those rows only."""
    ids = list(qs.values_list("pk", flat=True)[:n])
    rows = display(qs.model.objects.all()).in_bulk(ids)
    return [rows[pk] for pk in ids if pk in rows]


@dataclass
class KeysetPage:
    """One page of a list ordered by descending id, reached by id instead of OFFSET: a deep page
    costs what the first does (no rows walked and thrown away)."""

    object_list: list[Any]
    newer: int | None  # first id of the page, for the "previous" link (?after=)
    older: int | None  # last id of the page, for the "next" link (?before=)
    has_previous: bool
    has_next: bool


def keyset_page(
    request: HttpRequest,
    qs: QuerySet[Any],
    per_page: int = 30,
    display: Callable[[QuerySet[Any]], QuerySet[Any]] | None = None,
) -> KeysetPage:
    """`qs` must not be ordered yet; `?before=<id>` goes older, `?after=<id>` newer. The ids are
    found first; only the page's rows are read through `display` (see `paginate`)."""
    before, after = request.GET.get("before", ""), request.GET.get("after", "")
    ids = qs.values_list("pk", flat=True)
    if after.isdigit():
        found = list(ids.filter(pk__gt=int(after)).order_by("pk")[: per_page + 1])
        has_previous = len(found) > per_page
        found = found[:per_page][::-1]
        has_next = bool(found)
    else:
        if before.isdigit():
            ids = ids.filter(pk__lt=int(before))
        found = list(ids.order_by("-pk")[: per_page + 1])
        has_next = len(found) > per_page
        found = found[:per_page]
        has_previous = before.isdigit() and bool(found)
    rows = (display(qs.model.objects.all()) if display else qs.model.objects.all()).in_bulk(found)
    return KeysetPage(
        object_list=[rows[pk] for pk in found if pk in rows],
        newer=found[0] if found else None,
        older=found[-1] if found else None,
        has_previous=has_previous,
        has_next=has_next,
    )


def query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    for key in ("page", "before", "after"):
        params.pop(key, None)
    return params.urlencode()
