"""Pages shared by all kinds: home, 我的申请, 我的待办, the request page and its decision,
the center's overview, messages, notices and the missing-owner list."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.selectors import (
    user_is_school_wide,
    user_scope,
)
from bulu.exceptions import AccessDenied, ApplicationError
from bulu.web import (
    current_user,
    first_rows,
    keyset_page,
    paginate,
    posted_version,
    query_without_page,
)
from bulu.workflow import selectors, services
from bulu.workflow.forms import OpinionForm, QueueFilterForm, WindowForm, filter_controls
from bulu.workflow.models import BackfillRequest, Decision, State, Window
from bulu.workflow.registry import kind_hooks, registered_kinds, request_checks, request_summary
from bulu.workflow.resume import OWN_STEP, destination_text, resume_offered
from bulu.workflow.tallies import tally_counts


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Role-aware home: 我的待办 for approvers, 我的申请 and 新建 for applicants, open notices."""
    user = current_user(request)
    todo = selectors.todo_for_user(user=user).order_by("updated_at", "pk")
    display = selectors.request_list_for_display
    return render(
        request,
        "home.html",
        {
            "todo": first_rows(todo, 10, display),
            "todo_count": todo.count(),
            "my_requests": first_rows(selectors.my_requests(user=user), 10, display),
            "windows": selectors.windows_open(),
            "unread": selectors.notifications_unread_count(user=user),
        },
    )


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """我的申请: every request the user filed, of every kind, with the 新建 entries."""
    user = current_user(request)
    panels = []
    for kind in registered_kinds():
        hooks = kind_hooks(kind)
        if hooks.mine_template:
            panels.append((hooks.mine_template, hooks.mine_context(user)))
    return render(
        request,
        "workflow/mine.html",
        {
            "page": paginate(
                request,
                selectors.my_requests(user=user),
                display=selectors.request_list_for_display,
            ),
            "query": "",
            "panels": panels,
        },
    )


def _filter_form(request: HttpRequest, user: User, *, with_state: bool) -> QueueFilterForm:
    form = QueueFilterForm(request.GET or None)
    if not with_state:
        # Everything in a queue is waiting (pending): a state filter would only confuse.
        del form.fields["state"]
    choices = selectors.queue_filter_choices(user=user, college=request.GET.get("college", ""))
    form.fields["college"].choices = [("", _("全部学院")), *choices.colleges]  # type: ignore[attr-defined]
    form.fields["klass"].choices = [  # type: ignore[attr-defined]
        ("", _("先选学院") if choices.pick_college_first else _("全部班级")),
        *choices.classes,
    ]
    form.fields["window"].choices = [("", _("全部通知")), *choices.windows]  # type: ignore[attr-defined]
    return form


def _filter_context(form: QueueFilterForm) -> dict[str, Any]:
    """The filter fields for the template, and how many are set (the fold stays open then)."""
    controls = filter_controls(form)
    return {"controls": controls, "filters_active": sum(1 for c in controls if c["value"])}


def _filters(form: QueueFilterForm) -> dict[str, Any]:
    """The valid fields only: an invalid one is dropped on its own (its error is shown)."""
    data: dict[str, Any] = {}
    if form.is_bound:
        form.is_valid()
        data = dict(form.cleaned_data)
    return {
        "kind": data.get("kind") or "",
        "college": data.get("college") or "",
        "klass": data.get("klass") or "",
        "window": data.get("window") or "",
        "waiting_days": data.get("waiting_days"),
        "search": data.get("q") or "",
        "state": data.get("state") or "",
    }


@login_required
def todo(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    form = _filter_form(request, user, with_state=False)
    filters = _filters(form)
    filters.pop("state")
    qs = selectors.todo_filtered(user=user, **filters)
    return render(
        request,
        "workflow/todo.html",
        {
            **_filter_context(form),
            "page": paginate(request, qs, display=selectors.request_list_for_display),
            "query": query_without_page(request),
            "opinion_form": OpinionForm(),
        },
    )


@login_required
@require_POST
def bulk_approve(request: HttpRequest) -> HttpResponse:
    """Approve the selected requests with one opinion; each goes through the state machine."""
    user = current_user(request)
    items: list[tuple[int, int]] = []
    for raw in request.POST.getlist("selected"):
        pk, _sep, version = raw.partition(":")
        if pk.isdigit() and version.isdigit():
            items.append((int(pk), int(version)))
    if not items:
        messages.error(request, _("请先勾选要审核通过的申请。"))
        return redirect("workflow:todo")
    opinion_form = OpinionForm(request.POST)
    if not opinion_form.is_valid():
        for error in opinion_form.errors["opinion"]:
            messages.error(request, str(error))
        return redirect("workflow:todo")
    opinion = opinion_form.cleaned_data["opinion"]
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
                "opinion": opinion,
            },
        )
    done, failed = services.requests_decide_bulk(actor=user, items=items, opinion=opinion)
    if done:
        messages.success(request, _("已审核通过 %(n)d 个申请。") % {"n": len(done)})
    for failed_pk, reason in failed:
        messages.error(
            request, _("申请 #%(pk)d 未处理：%(reason)s") % {"pk": failed_pk, "reason": reason}
        )
    return redirect("workflow:todo")


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """The school-wide view of every submitted request, with counts by state."""
    user = current_user(request)
    if not user_is_school_wide(user=user):
        raise PermissionDenied
    form = _filter_form(request, user, with_state=True)
    filters = _filters(form)
    qs = selectors.requests_filter(
        selectors.requests_visible_to(user=user).filter(submitted_at__isnull=False), **filters
    )
    if filters["klass"] or filters["waiting_days"] or filters["search"]:
        # Narrow filters: count what they select (never the whole table).
        by_state = dict(qs.order_by().values_list("state").annotate(n=Count("pk")))
    else:
        by_state = tally_counts(
            kind=filters["kind"],
            college=int(filters["college"]) if filters["college"] else None,
            window=int(filters["window"]) if filters["window"] else None,
        )
    counts = [(label, by_state[value]) for value, label in State.choices if by_state.get(value)]
    state = filters["state"]
    total = by_state.get(state, 0) if state else sum(by_state.values())
    return render(
        request,
        "workflow/overview.html",
        {
            **_filter_context(form),
            "page": keyset_page(request, qs, display=selectors.request_list_for_display),
            "query": query_without_page(request),
            "counts": counts,
            "total": total,
        },
    )


# --- the request page --------------------------------------------------------------------------


def _render_request(
    request: HttpRequest,
    obj: BackfillRequest,
    *,
    posted: QueryDict | None = None,
    status: int = 200,
) -> HttpResponse:
    user = current_user(request)
    hooks = kind_hooks(obj.kind)
    log = list(selectors.request_log(request=obj))
    may_act = selectors.request_may_act(user=user, request=obj)
    step = obj.current_step
    is_owner = obj.applicant_id == user.pk
    extra_inputs = may_act and step is not None and step.role in hooks.decision_roles
    last_reason = next(
        (r for r in reversed(log) if r.decision in (Decision.RETURN, Decision.REJECT)), None
    )
    posted_resume = posted.get("resume", "") if posted is not None else ""
    context: dict[str, Any] = {
        "obj": obj,
        # The returner's choice of where the resubmission goes (after the first step only).
        "resume_offered": may_act and resume_offered(obj),
        "resume_own_step": posted_resume == OWN_STEP,
        "resume_destination": (
            destination_text(last_reason.context)
            if last_reason is not None
            and obj.state == State.RETURNED
            and last_reason.decision == Decision.RETURN
            else ""
        ),
        "log": log,
        "route": list(obj.route_steps.select_related("organization")),
        "last_reason": last_reason if obj.state in (State.RETURNED, State.REJECTED) else None,
        "is_owner": is_owner,
        "may_act": may_act,
        "editable": is_owner and obj.state in (State.DRAFT, State.RETURNED),
        "edit_url_name": hooks.edit_url_name,
        "may_withdraw": is_owner
        and (
            obj.state in (State.DRAFT, State.RETURNED)
            or (obj.state == State.PENDING and obj.step_index == obj.start_index)
        ),
        "body_template": hooks.body_template,
        "decision_template": hooks.decision_template if extra_inputs else "",
        # Bound to what was posted: an over-long opinion is shown on its field, as typed.
        "opinion_form": OpinionForm(posted) if posted is not None else OpinionForm(),
        "downloads": hooks.downloads(obj, user) if hooks.downloads else [],
    }
    context.update(hooks.body_context(obj, user, request.GET))
    context["panels"] = [p for check in request_checks() if (p := check.panel(obj, user, posted))]
    if extra_inputs:
        context.update(hooks.decision_context(obj, posted))
    return render(request, "workflow/request.html", context, status=status)


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    obj = selectors.request_get_for_user(user=current_user(request), pk=pk)
    return _render_request(request, obj)


@login_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    """A decision at the current step, with the kind's extra inputs at its steps.

    A refusal shows the page again with everything the approver typed and the reason.
    """
    user = current_user(request)
    obj = selectors.request_get_for_user(user=user, pk=pk)
    hooks = kind_hooks(obj.kind)
    decision = request.POST.get("decision", "")
    opinion_form = OpinionForm(request.POST)
    if not opinion_form.is_valid():
        fresh = selectors.request_get_for_user(user=user, pk=pk)
        return _render_request(request, fresh, posted=request.POST, status=400)
    try:
        version = posted_version(request)
        step = obj.current_step
        payload = None
        if (
            decision == Decision.APPROVE
            and hooks.decision_parse is not None
            and step is not None
            and step.role in hooks.decision_roles
        ):
            payload = hooks.decision_parse(obj, request.POST)
        services.request_decide(
            request=obj,
            actor=user,
            decision=decision,
            opinion=opinion_form.cleaned_data["opinion"],
            expected_version=version,
            payload=payload,
            confirmations=frozenset(request.POST.getlist("confirm")),
            resume=request.POST.get("resume", "") if decision == Decision.RETURN else "",
        )
    except AccessDenied:
        raise
    except ApplicationError as exc:
        messages.error(request, exc.message)
        fresh = selectors.request_get_for_user(user=user, pk=pk)
        return _render_request(request, fresh, posted=request.POST, status=400)
    messages.success(request, _("已处理：%(d)s") % {"d": Decision(decision).label})
    return redirect("workflow:todo")


@login_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    obj = selectors.request_get_for_user(user=user, pk=pk)
    was_draft = obj.state == State.DRAFT
    services.request_withdraw(request=obj, actor=user, expected_version=posted_version(request))
    messages.success(request, _("草稿已放弃。") if was_draft else _("申请已撤回。"))
    return redirect("workflow:detail", obj.pk)


# --- messages, notices, owners -------------------------------------------------------------------


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    page = paginate(request, selectors.notifications_for(user=user))
    response = render(request, "workflow/notifications.html", {"page": page})
    services.notification_mark_read(user=user, pks=[n.pk for n in page.object_list])
    return response


def _is_center(user: User) -> bool:
    return bool(user_scope(user=user).org_ids("approve_as_center"))


@login_required
def windows(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    is_center = _is_center(user)
    qs = Window.objects.all() if is_center else Window.objects.filter(is_published=True)
    return render(
        request,
        "workflow/windows.html",
        {"windows": qs, "is_center": is_center, "now": timezone.now()},
    )


@login_required
def window_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = current_user(request)
    if not _is_center(user):
        raise PermissionDenied
    instance = Window.objects.filter(pk=pk).first() if pk else None
    if pk and instance is None:
        raise Http404
    form = WindowForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        data = services.WindowData(**{f: form.cleaned_data[f] for f in WindowForm.Meta.fields})
        try:
            if instance is None:
                services.window_create(actor=user, data=data)
            else:
                services.window_update(window=instance, actor=user, data=data)
        except AccessDenied:
            raise
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("补录通知已保存。"))
            return redirect("workflow:windows")
    return render(request, "workflow/window_form.html", {"form": form, "instance": instance})


@login_required
def owners_missing(request: HttpRequest) -> HttpResponse:
    """The center's list of organizations lacking an owner for a step some route needs."""
    user = current_user(request)
    if not _is_center(user):
        raise PermissionDenied
    return render(request, "workflow/owners_missing.html", {"gaps": selectors.owner_gaps()})
