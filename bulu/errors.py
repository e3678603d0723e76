"""The app's own error pages: 400, 403 (a CSRF failure too), 404 and 500.

Each says in Chinese what happened and offers a way back (the page the user came from when it is
on this site, and 首页); none lists the app's URLs or shows a stack trace — also under `make run`,
which serves with DEBUG off. 403 and 404 render inside the app's layout (the signed-in user keeps
the menu); 400 and 500 are self-contained (`errors/bare.html`): no context processors, no database
and no static manifest, since a 400 may come from a Host header Django refused and a 500 from the
database itself.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _

from bulu.web import back_url


def _back(request: HttpRequest) -> str:
    """The same-site page the user came from, or "" when there is none to go back to."""
    try:
        back = back_url(request)
    except Exception:  # a refused Host header: nothing to compare the referer with
        return ""
    return "" if back == "/" else back


def _bare(request: HttpRequest, template_name: str, status: int) -> HttpResponse:
    html = loader.get_template(template_name).render({"back": _back(request)})
    return HttpResponse(html, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _bare(request, "400.html", 400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    context = {"exception": str(exception), "back": _back(request)}
    return render(request, "403.html", context, status=403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    # The exception is not shown: a URL that matched nothing carries the patterns that were tried.
    return render(request, "404.html", {"back": _back(request)}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return _bare(request, "500.html", 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: usually a form left open past its session, or cookies switched off."""
    message = _(
        "页面已过期或无法确认来自本站（安全校验失败），这次提交没有保存。"
        "请返回上一页，刷新后重新提交；如果一直这样，请确认浏览器允许本站使用 Cookie。"
    )
    context = {"exception": message, "back": _back(request)}
    return render(request, "403.html", context, status=403)
