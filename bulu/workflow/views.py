"""Pages shared by all kinds: home, 我的待办, the center's overview, messages, notices."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Organization, User
from accounts.selectors import user_is_school_wide, user_scope_classes, user_scope_colleges
from bulu.web import domain_errors, paginate, query_without_page
from bulu.workflow import selectors, services
from bulu.workflow.forms import QueueFilterForm, WindowForm
from bulu.workflow.models import BackfillRequest, State, Window
from bulu.workflow.registry import request_summary


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Role-aware home: 我的待办 for approvers, 我的申请 for students, open notices."""
    user = _user(request)
    todo = selectors.request_list_for_display(selectors.todo_for_user(user=user)).order_by(
        "updated_at"
    )
    mine = selectors.request_list_for_display(
        BackfillRequest.objects.filter(applicant=user)
    ).order_by("-created_at")
    return render(
        request,
        "home.html",
        {
            "todo": todo[:10],
            "todo_count": todo.count(),
            "my_requests": mine[:10],
            "windows": selectors.windows_open(),
            "unread": selectors.notifications_unread_count(user=user),
        },
    )


def _filter_form(request: HttpRequest, user: User, *, with_state: bool) -> QueueFilterForm:
    form = QueueFilterForm(request.GET or None)
    if not with_state:
        # Everything in a queue is waiting (pending): a state filter would only confuse.
        del form.fields["state"]
    colleges = user_scope_colleges(user=user).order_by("name")
    form.fields["college"].choices = [("", _("全部学院")), *((c.pk, c.name) for c in colleges)]  # type: ignore[attr-defined]
    classes = user_scope_classes(user=user).order_by("name")[:500]
    form.fields["klass"].choices = [("", _("全部班级")), *((c.pk, c.name) for c in classes)]  # type: ignore[attr-defined]
    windows = Window.objects.order_by("-opens_at")[:50]
    form.fields["window"].choices = [("", _("全部通知")), *((w.pk, w.title) for w in windows)]  # type: ignore[attr-defined]
    return form


def _valid_fields(form: QueueFilterForm) -> dict[str, object]:
    """The fields that are valid: an invalid one is dropped on its own (its error is shown)."""
    if not form.is_bound:
        return {}
    form.is_valid()
    return dict(form.cleaned_data)


def _filters(form: QueueFilterForm) -> dict[str, object]:
    d = _valid_fields(form)
    return {
        "kind": d.get("kind") or "",
        "college": d.get("college") or "",
        "klass": d.get("klass") or "",
        "window": d.get("window") or "",
        "waiting_days": d.get("waiting_days"),
        "search": d.get("q") or "",
    }


@login_required
def todo(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = _filter_form(request, user, with_state=False)
    qs = selectors.todo_filtered(user=user, **_filters(form))  # type: ignore[arg-type]
    return render(
        request,
        "workflow/todo.html",
        {"form": form, "page": paginate(request, qs), "query": query_without_page(request)},
    )


@login_required
@require_POST
@domain_errors
def bulk_approve(request: HttpRequest) -> HttpResponse:
    """Approve the selected requests with one opinion; each goes through the state machine."""
    user = _user(request)
    items: list[tuple[int, int]] = []
    for raw in request.POST.getlist("selected"):
        pk, _sep, version = raw.partition(":")
        if pk.isdigit() and version.isdigit():
            items.append((int(pk), int(version)))
    if not items:
        messages.error(request, _("请先勾选要审核通过的申请。"))
        return redirect("workflow:todo")
    if request.POST.get("confirmed") != "1":
        chosen = selectors.request_list_for_display(
            selectors.todo_for_user(user=user).filter(pk__in=[pk for pk, _v in items])
        )
        return render(
            request,
            "workflow/bulk_confirm.html",
            {
                "chosen": [(r, request_summary(r)) for r in chosen],
                "items": items,
                "opinion": request.POST.get("opinion", ""),
            },
        )
    done, failed = services.requests_decide_bulk(
        actor=user, items=items, opinion=request.POST.get("opinion", "")
    )
    if done:
        messages.success(request, _("已审核通过 %(n)d 个申请。") % {"n": len(done)})
    for failed_pk, reason in failed:
        messages.error(
            request, _("申请 #%(pk)d 未处理：%(reason)s") % {"pk": failed_pk, "reason": reason}
        )
    return redirect("workflow:todo")


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """The center's view of every request, with counts by state."""
    user = _user(request)
    if not user_is_school_wide(user=user):
        raise PermissionDenied
    form = _filter_form(request, user, with_state=True)
    f = _filters(form)
    state = str(_valid_fields(form).get("state") or "")
    qs = selectors.requests_filter(
        selectors.requests_visible_to(user=user),
        kind=str(f["kind"]),
        college=str(f["college"]),
        klass=str(f["klass"]),
        window=str(f["window"]),
        state=state,
        waiting_days=f["waiting_days"],  # type: ignore[arg-type]
        search=str(f["search"]),
    )
    by_state = dict(qs.order_by().values_list("state").annotate(n=Count("pk")))
    counts = [(label, by_state[value]) for value, label in State.choices if value in by_state]
    return render(
        request,
        "workflow/overview.html",
        {
            "form": form,
            "page": paginate(request, selectors.request_list_for_display(qs).order_by("-pk")),
            "query": query_without_page(request),
            "counts": counts,
        },
    )


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    obj = selectors.request_get_for_user(user=_user(request), pk=pk)
    return redirect(services.request_url(obj))


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    page = paginate(request, selectors.notifications_for(user=user))
    response = render(request, "workflow/notifications.html", {"page": page})
    services.notification_mark_read(user=user, pks=[n.pk for n in page.object_list])
    return response


@login_required
def windows(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    is_center = user.has_perm("accounts.approve_as_center", _center()) if _center() else False
    qs = Window.objects.all() if is_center else Window.objects.filter(is_published=True)
    return render(
        request,
        "workflow/windows.html",
        {"windows": qs, "is_center": is_center, "now": timezone.now()},
    )


def _center() -> Organization | None:
    return Organization.objects.filter(kind=Organization.Kind.CENTER).first()


@login_required
@domain_errors
def window_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = _user(request)
    center = _center()
    if center is None or not user.has_perm("accounts.approve_as_center", center):
        raise PermissionDenied
    instance = Window.objects.filter(pk=pk).first() if pk else None
    if pk and instance is None:
        from django.http import Http404

        raise Http404
    form = WindowForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        window = form.save(commit=False)
        if window.created_by_id is None:
            window.created_by = user
        window.save()
        messages.success(request, _("补录通知已保存。"))
        return redirect("workflow:windows")
    return render(request, "workflow/window_form.html", {"form": form, "instance": instance})
