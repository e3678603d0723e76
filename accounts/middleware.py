"""Users signed in with a one-time initial password must choose their own before anything else."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _


class ForcePasswordChangeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and getattr(user, "must_change_password", False)
        ):
            allowed = (reverse("password_change"), reverse("logout"), settings.STATIC_URL)
            if not any(request.path.startswith("/" + p.lstrip("/")) for p in allowed):
                messages.warning(request, _("你正在使用初始密码，请先设置自己的新密码。"))
                return HttpResponseRedirect(reverse("password_change"))
        return self.get_response(request)
