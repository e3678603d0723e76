from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Role-aware home: 我的待办 for approvers, 我的申请 for students."""
    return render(request, "home.html", {"todo": [], "my_requests": []})
