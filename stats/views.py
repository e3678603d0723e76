from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from bulu.web import current_user
from stats import selectors
from stats.xlsx import table_workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@login_required
@require_GET
def page(request: HttpRequest) -> HttpResponse:
    """统计: the user's scope (school, college or units) in tables and charts."""
    scope = selectors.stats_scope_for_user(user=current_user(request), params=request.GET)
    return render(request, "stats/page.html", {"page": selectors.stats_page(scope=scope)})


@login_required
@require_GET
def table_xlsx(request: HttpRequest, key: str) -> HttpResponse:
    """One table of the page as xlsx, for the same scope."""
    scope = selectors.stats_scope_for_user(user=current_user(request), params=request.GET)
    stats = selectors.stats_page(scope=scope)
    table = selectors.oldest_table(stats) if key == "oldest" else stats.table(key)
    response = HttpResponse(table_workbook(table, scope_label=scope.label), content_type=XLSX)
    name = f"{table.title}-{scope.label}-{timezone.localdate():%Y%m%d}.xlsx"
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response
