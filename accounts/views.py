from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def registry_import(request: HttpRequest) -> HttpResponse:
    """Center staff: upload the student registry, preview, then commit (being built)."""
    return render(request, "home.html")
