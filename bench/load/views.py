"""The floor: the cheapest honest Django page over the same data, to compare the app's pages to."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from bulu.workflow.models import BackfillRequest

FLOOR_ROWS = 50


def floor(request: HttpRequest) -> HttpResponse:
    """50 rows of workflow_backfillrequest through a template: one query, no permissions."""
    rows = BackfillRequest.objects.order_by("-pk").values(
        "pk", "title", "state", "submitted_at", "updated_at"
    )[:FLOOR_ROWS]
    return render(request, "bench_load/floor.html", {"rows": rows})
