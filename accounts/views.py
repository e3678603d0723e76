from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import registry
from accounts.forms import (
    InitialPasswordsForm,
    RegistryConfirmForm,
    RegistryUploadForm,
    RoleChangeProposeForm,
    RoleChangeRefuseForm,
)
from accounts.models import Membership, Organization, RoleChange, User
from accounts.passwords import IssuedPassword, initial_passwords_issue
from accounts.registry import RegistryResult
from accounts.selectors import (
    classes_for_password_issue,
    organizations_for_user,
    role_change_get_for_user,
    role_changes_pending,
    role_changes_visible_to,
    user_may_see_role_changes,
)
from accounts.services import (
    role_change_confirm,
    role_change_propose,
    role_change_refuse,
    user_may_manage_roles,
)
from bulu.exceptions import AccessDenied, ApplicationError
from bulu.web import current_user
from bulu.xlsx import xlsx_write_text

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 50
# A page of 20,000 rows times several errors would not load on a phone; the command lists them all.
MAX_SHOWN_ERRORS = 1000
SESSION_KEY = "registry_uploads"
# Uploads nobody confirmed are removed after a day (they hold students' personal data).
STALE_SECONDS = 24 * 3600


def _require_registry_manager(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not (
        organizations_for_user(user=user, perm="accounts.manage_registry").exists()
    ):
        raise PermissionDenied
    return user


def _upload_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "registry"


def _upload_path(token: str) -> Path:
    # `token` is always str(uuid.UUID(...)): no path can be smuggled in.
    return _upload_dir() / f"{uuid.UUID(token)}.xlsx"


def _store_upload(upload: UploadedFile) -> str:
    directory = _upload_dir()
    directory.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - STALE_SECONDS
    for old in directory.glob("*.xlsx"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    token = str(uuid.uuid4())
    with _upload_path(token).open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return token


def _discard(request: HttpRequest, token: str) -> None:
    _upload_path(token).unlink(missing_ok=True)
    tokens = [t for t in request.session.get(SESSION_KEY, []) if t != token]
    request.session[SESSION_KEY] = tokens


def _render_preview(
    request: HttpRequest, result: RegistryResult, *, token: str | None, create_colleges: bool
) -> HttpResponse:
    changed = result.changed_rows
    confirm = (
        RegistryConfirmForm(initial={"token": token, "create_colleges": create_colleges})
        if token
        else None
    )
    return render(
        request,
        "accounts/registry_preview.html",
        {
            "result": result,
            "errors": result.errors[:MAX_SHOWN_ERRORS],
            "errors_truncated": len(result.errors) > MAX_SHOWN_ERRORS,
            "changed_rows": changed[:PREVIEW_ROWS],
            "changed_count": len(changed),
            "preview_rows": PREVIEW_ROWS,
            "confirm_form": confirm,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def registry_import(request: HttpRequest) -> HttpResponse:
    """Center staff upload the student registry and see what an import would change."""
    _require_registry_manager(request)
    if request.method != "POST":
        return render(request, "accounts/registry_import.html", {"form": RegistryUploadForm()})
    form = RegistryUploadForm(request.POST, request.FILES)
    if form.is_valid():
        create_colleges: bool = form.cleaned_data["create_colleges"]
        token = _store_upload(form.cleaned_data["file"])
        try:
            with _upload_path(token).open("rb") as fileobj:
                result = registry.registry_preview(fileobj=fileobj, create_colleges=create_colleges)
        except ApplicationError as exc:
            _discard(request, token)
            form.add_error("file", exc.message)
        else:
            if result.ok and result.changed_rows:
                request.session[SESSION_KEY] = [*request.session.get(SESSION_KEY, [])[-4:], token]
            else:
                _discard(request, token)
                token = ""
            return _render_preview(
                request, result, token=token or None, create_colleges=create_colleges
            )
    return render(request, "accounts/registry_import.html", {"form": form})


@login_required
@require_POST
def registry_import_confirm(request: HttpRequest) -> HttpResponse:
    """Commit the previewed file; it is judged again, as the data may have changed meanwhile."""
    user = _require_registry_manager(request)
    form = RegistryConfirmForm(request.POST)
    token = str(form.cleaned_data["token"]) if form.is_valid() else ""
    if (
        not token
        or token not in request.session.get(SESSION_KEY, [])
        or not _upload_path(token).is_file()
    ):
        messages.error(request, _("上传的名册已失效，请重新上传。"))
        return redirect("accounts:registry_import")
    create_colleges: bool = form.cleaned_data["create_colleges"]
    try:
        with _upload_path(token).open("rb") as fileobj:
            result = registry.registry_import(fileobj=fileobj, create_colleges=create_colleges)
    except ApplicationError as exc:
        failed = exc.extra.get("result")
        if isinstance(failed, RegistryResult):
            # The preview page lists the errors found on this second look.
            return _render_preview(request, failed, token=None, create_colleges=create_colleges)
        messages.error(request, exc.message)
        return redirect("accounts:registry_import")
    finally:
        _discard(request, token)
    logger.info("registry import by %s: %s", user.username, result.summary())
    messages.success(request, _("名册导入完成：%(summary)s") % {"summary": result.summary()})
    return redirect("accounts:registry_import")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change, which also ends the 'must change the initial password' state."""

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)
        user = form.user
        if getattr(user, "must_change_password", False):
            User.objects.filter(pk=user.pk).update(must_change_password=False)
        return response


@login_required
def initial_passwords(request: HttpRequest) -> HttpResponse:
    """Counselors (own classes), secretaries (their college) and the center issue initial passwords.

    The result is an xlsx sheet to print and hand out; the plain passwords are never stored.
    """
    user = request.user
    assert isinstance(user, User)
    classes = (
        classes_for_password_issue(user=user)
        .select_related("parent")
        .order_by("parent__name", "name")
    )
    if not classes.exists():
        raise PermissionDenied
    form = InitialPasswordsForm(request.POST or None, classes=classes)
    if request.method == "POST" and form.is_valid():
        klass = form.cleaned_data["klass"]
        students = User.objects.filter(
            memberships__role=Membership.Role.STUDENT, memberships__organization=klass
        )
        issued = initial_passwords_issue(students=students, reset=form.cleaned_data["reset"])
        logger.info(
            "initial passwords issued by %s for class %s: %d", user.username, klass.pk, len(issued)
        )
        if not issued:
            messages.info(request, _("该班级所有学生都已有密码；如需重置请勾选“重置已有密码”。"))
            return redirect("accounts:initial_passwords")
        return _initial_password_sheet(klass, issued)
    return render(request, "accounts/initial_passwords.html", {"form": form})


def _initial_password_sheet(klass: Organization, issued: list[IssuedPassword]) -> HttpResponse:
    from io import BytesIO
    from urllib.parse import quote

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "初始密码"
    college = klass.parent.name if klass.parent else ""
    rows = [["学号", "姓名", "学院", "班级", "初始密码"]] + [
        [entry.user.username, entry.user.name, college, klass.name, entry.password]
        for entry in issued
    ]
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values, start=1):
            # Names come from an uploaded registry: never let a cell become a formula.
            xlsx_write_text(ws.cell(row=r, column=c), value)
    for column, width in zip("ABCDE", (14, 10, 24, 16, 14), strict=True):
        ws.column_dimensions[column].width = width
    buf = BytesIO()
    wb.save(buf)
    filename = f"{klass.name}-初始密码.xlsx"
    response = HttpResponse(
        buf.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    response["Cache-Control"] = "no-store"
    return response


# --- roles: the log, proposals, confirmations ----------------------------------------------------

ROLE_LOG_PAGE = 50


def _roles_page(request: HttpRequest, *, form: RoleChangeProposeForm | None = None) -> HttpResponse:
    user = current_user(request)
    if not user_may_see_role_changes(user=user):
        raise PermissionDenied
    may_manage = user_may_manage_roles(user=user)
    if form is None and may_manage:
        form = RoleChangeProposeForm(
            initial={k: request.GET[k] for k in ("organization", "role") if k in request.GET}
        )
    page = Paginator(role_changes_visible_to(user=user), ROLE_LOG_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "accounts/roles.html",
        {
            "pending": list(role_changes_pending(user=user)),
            "page": page,
            "form": form if may_manage else None,
            "refuse_form": RoleChangeRefuseForm(),
            "may_manage": may_manage,
        },
    )


@login_required
def roles(request: HttpRequest) -> HttpResponse:
    return _roles_page(request)


@login_required
@require_POST
def role_change_propose_view(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    if not user_may_manage_roles(user=user):
        raise PermissionDenied
    form = RoleChangeProposeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            change = role_change_propose(
                actor=user,
                user=data["username"],
                organization=data["organization"],
                role=data["role"],
                action=data["action"],
                reason=data["reason"],
            )
        except AccessDenied:
            raise
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            if change.status == RoleChange.Status.PENDING:
                messages.success(
                    request, _("已提出，须由另一位二课中心工作人员或系统管理员确认后生效。")
                )
            else:
                messages.success(request, _("已生效：%(change)s") % {"change": change})
            return redirect("accounts:roles")
    return _roles_page(request, form=form)


@login_required
@require_POST
def role_change_decide_view(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    user = current_user(request)
    change = role_change_get_for_user(user=user, pk=pk)
    try:
        if decision == "confirm":
            role_change_confirm(change=change, actor=user)
            messages.success(request, _("已确认，角色调整已生效。"))
        else:
            form = RoleChangeRefuseForm(request.POST)
            if not form.is_valid():  # nothing refused: the reason is refused, not dropped
                raise ApplicationError("".join(map(str, form.errors["reason"])))
            role_change_refuse(change=change, actor=user, reason=form.cleaned_data["reason"])
            messages.success(request, _("已拒绝该角色调整。"))
    except AccessDenied:
        raise
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("accounts:roles")
