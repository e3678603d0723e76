"""Anonymizing graduated students (PIPL): everywhere their name and 学号 were copied, files gone,
statistics and the approval log's hash chain unchanged, idempotent, a dry run that changes
nothing, students still involved in live work left for later."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, User
from accounts.services import role_grant
from bulu.jobs.models import Job
from bulu.workflow.ledger import log_verify
from bulu.workflow.models import (
    ApprovalRecord,
    BackfillRequest,
    Notification,
    RequestTally,
    State,
    Window,
)
from cadre import services as cadre_services
from cadre.models import CadreEntry, CadreRequest
from collective.models import CollectiveRequest
from credits.models import CreditRecord
from documents.models import RequestDocument
from documents.selectors import request_forms
from exports.models import ExportBatch, ExportFile
from exports.selectors import ExportFilters
from exports.services import export_batch_confirm, export_batch_create, export_batch_download
from imports.models import RosterEntry, RosterUpload
from personal import services as personal_services
from personal.models import Evidence, PersonalRequest
from privacy.selectors import grade_year, graduation_cutoff, graduation_date
from privacy.services import (
    ANON_NAME,
    IN_PROGRESS,
    NOT_IMPORTED,
    RECENT,
    students_anonymize,
)
from privacy.tasks import graduates_anonymize_task
from stats.models import CreditTally, WaitTally
from stats.selectors import stats_page, stats_scope_for_user
from stats.tallies import stats_rebuild
from tests.cadre.conftest import Cadre, served
from tests.collective.conftest import Kit, ready_request
from tests.conftest import School, decide, deputy
from tests.documents.conftest import approve_all, club_request, render
from tests.factories import UserFactory
from tests.personal.conftest import Mirror, make_draft

TOMORROW = timezone.localdate() + timedelta(days=1)
OLD_NO, OLD_NAME, OLD_EMAIL, OLD_PHONE = "2024010001", "李爱丽", "alice@example.edu", "13900000001"


# --- the dataset --------------------------------------------------------------------------------


@dataclass
class World:
    alice: User  # graduated (年级 2019)
    recent: User  # 年级 2025: not due
    personal: PersonalRequest
    recent_personal: PersonalRequest
    collective: CollectiveRequest
    cadre_list: CadreRequest
    batch: ExportBatch


def _personal_approved(school: School, student: User, mirror: Mirror) -> PersonalRequest:
    request = make_draft(student, mirror)
    personal_services.personal_request_submit(request=request, actor=student)
    for actor in (school.bob, school.carol, school.dave):
        decide(request, actor)
    request.refresh_from_db()
    assert request.state == State.APPROVED
    return request


def _cadre_list_approved(school: School, cadre: Cadre) -> CadreRequest:
    class_list = cadre_services.cadre_list_create(actor=school.bob, unit=school.class_a1)
    cadre_services.cadre_list_replace(
        request=class_list, actor=school.bob, rows=[served(school.alice, "班长")]
    )
    second = deputy(school.class_a1, Membership.Role.COUNSELOR, "T1011", "副辅导员")
    cadre_services.cadre_request_submit(request=class_list, actor=school.bob)
    for actor in (second, school.carol, school.dave):
        decide(class_list, actor)
    class_list.refresh_from_db()
    assert class_list.state == State.APPROVED
    return class_list


def build_world(school: School, mirror: Mirror, kit: Kit, cadre: Cadre) -> World:
    alice = school.alice
    User.objects.filter(pk=alice.pk).update(grade="2019", email=OLD_EMAIL, phone=OLD_PHONE)
    recent = kit.students[2]
    User.objects.filter(pk=recent.pk).update(grade="2025", email="recent@example.edu")
    User.objects.filter(pk=school.bob.pk).update(email="bob@example.edu")
    for user in (alice, recent, school.bob):
        user.refresh_from_db()
    personal = _personal_approved(school, alice, mirror)
    recent_personal = _personal_approved(school, recent, mirror)
    collective = club_request(school, kit)
    approve_all(collective, school.frank, school.carol, school.dave, school.erin)
    cadre_list = _cadre_list_approved(school, cadre)
    batch = export_batch_create(actor=school.dave, filters=ExportFilters(), rows_per_file=5)
    export_batch_download(batch=batch, actor=school.dave)
    export_batch_confirm(batch=batch, actor=school.dave)
    batch.refresh_from_db()
    assert batch.state == ExportBatch.State.IMPORTED and batch.files.count() > 1
    # The cached PDFs of a request of hers alone, of a request she shares and of someone else's.
    for request in (personal, collective, recent_personal):
        render(request, request_forms(request=request)[0].key)
    # The e-mails went out (the outbox ran them), a login and an admin change were recorded.
    Job.objects.update(state=Job.State.DONE)
    from axes.models import AccessLog

    AccessLog.objects.create(
        username=OLD_NO,
        ip_address="10.1.2.3",
        user_agent="Firefox",
        http_accept="*/*",
        path_info="/",
    )
    LogEntry.objects.create(
        user=school.dave,
        content_type=ContentType.objects.get_for_model(User),
        object_id=str(alice.pk),
        object_repr=str(alice),
        action_flag=CHANGE,
        change_message="[]",
    )
    for model in (PersonalRequest, CollectiveRequest, CadreRequest):
        for request in model.objects.all():
            request.refresh_from_db()
    return World(alice, recent, personal, recent_personal, collective, cadre_list, batch)


@pytest.fixture
def world(
    school: School,
    mirror: Mirror,
    kit: Kit,
    cadre: Cadre,
    personal_window: Window,
) -> World:
    return build_world(school, mirror, kit, cadre)


# --- reading the whole database -----------------------------------------------------------------


def _text_fields(model: type[models.Model]) -> list[str]:
    kinds = (models.CharField, models.TextField, models.JSONField, models.FileField)
    return [f.attname for f in model._meta.concrete_fields if isinstance(f, kinds)]


def db_mentions(*needles: str) -> list[str]:
    """Every "table.column #pk" whose text (JSON as text, non-ASCII unescaped) holds a needle."""
    found = []
    for model in apps.get_models():
        fields = _text_fields(model)
        if not fields:
            continue
        for row in model._default_manager.values("pk", *fields):
            for f in fields:
                value = row[f]
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                if any(n in text for n in needles):
                    found.append(f"{model._meta.db_table}.{f} #{row['pk']}")
    return found


def db_snapshot() -> dict[str, list[dict[str, Any]]]:
    return {
        model._meta.label: [
            {k: bytes(v) if isinstance(v, memoryview) else v for k, v in row.items()}
            for row in model._default_manager.order_by("pk").values()
        ]
        for model in apps.get_models()
    }


def tallies() -> list[list[tuple[Any, ...]]]:
    return [
        sorted(m.objects.values_list(*[f.attname for f in m._meta.concrete_fields][1:]))
        for m in (RequestTally, CreditTally, WaitTally)
    ]


def figures(user: User) -> tuple[Any, ...]:
    page = stats_page(scope=stats_scope_for_user(user=user, params={}))
    return page.totals, [(t.key, t.rows) for t in page.tables]


def stored_names(world: World) -> dict[str, list[str]]:
    """Stored files: hers alone, shared with others, and the other student's own."""
    alice = world.alice
    roster = RosterUpload.objects.filter(request=world.collective)
    hers = [e.file.name for e in Evidence.objects.filter(request__applicant=alice)]
    hers += [d.file.name for d in RequestDocument.objects.filter(request=world.personal)]
    shared = [d.file.name for d in RequestDocument.objects.filter(request=world.collective)]
    shared += [u.file.name for u in roster] + [u.annotated.name for u in roster if u.annotated]
    shared += [f.file.name for f in ExportFile.objects.filter(batch=world.batch)]
    shared.append(world.batch.bundle.name)
    others = [e.file.name for e in Evidence.objects.filter(request__applicant=world.recent)]
    others += [d.file.name for d in RequestDocument.objects.filter(request=world.recent_personal)]
    assert all(hers) and all(shared) and all(others)
    return {
        "hers": [str(n) for n in hers],
        "shared": [str(n) for n in shared],
        "others": [str(n) for n in others],
    }


def run(
    django_capture_on_commit_callbacks: Any, *, dry_run: bool = False, before: date = TOMORROW
) -> Any:
    with django_capture_on_commit_callbacks(execute=True):
        return students_anonymize(graduated_before=before, dry_run=dry_run)


# --- the whole picture --------------------------------------------------------------------------


def test_a_graduate_is_anonymized_everywhere_and_nothing_else_changes(
    school: School, world: World, django_capture_on_commit_callbacks: Any
) -> None:
    assert db_mentions(OLD_NO) and db_mentions(OLD_NAME)  # the test looks at real copies
    recent_no, recent_name = world.recent.username, world.recent.name
    files = stored_names(world)
    tallies_before, figures_before = tallies(), figures(school.dave)
    log_before = list(ApprovalRecord.objects.order_by("pk").values())

    summary = run(django_capture_on_commit_callbacks)

    assert (summary.candidates, summary.anonymized, sum(summary.postponed.values())) == (1, 1, 0)
    assert summary.without_grade > 0  # the kit's students with no 年级 are left alone
    # Nowhere in the database: not her 学号, name, e-mail or phone number.
    assert db_mentions(OLD_NO, OLD_NAME, OLD_EMAIL, OLD_PHONE) == []
    alice = User.objects.get(pk=world.alice.pk)
    assert alice.username.startswith("anon-") and alice.name == ANON_NAME
    assert not alice.is_active and not alice.has_usable_password()
    assert (alice.email, alice.phone, alice.anonymized_at is not None) == ("", "", True)
    assert alice.grade == "2019"  # the cohort stays (it is what the rule reads)
    # Every copy carries the same pseudonym, so her records still belong together.
    for model, no, name in (
        (CreditRecord, "student_no", "student_name"),
        (RosterEntry, "student_no", "name"),
        (CadreEntry, "student_no", "name"),
    ):
        copies = model.objects.filter(student=alice)
        assert copies.exists()
        assert set(copies.values_list(no, name)) == {(alice.username, ANON_NAME)}
    # Her files and every file she shares are gone; the other student's own files stay.
    assert not any(default_storage.exists(n) for n in files["hers"] + files["shared"])
    assert all(default_storage.exists(n) for n in files["others"])
    assert summary.files == len(set(files["hers"] + files["shared"]))
    assert not Evidence.objects.filter(request__applicant=alice).exists()
    assert not RequestDocument.objects.filter(request__in=[world.personal, world.collective])
    # The other student is untouched, and so are statistics and the approval log.
    recent = User.objects.get(pk=world.recent.pk)
    assert (recent.username, recent.name, recent.is_active) == (recent_no, recent_name, True)
    assert CreditRecord.objects.filter(student_no=recent_no, student_name=recent_name).count() == 2
    assert tallies() == tallies_before and figures(school.dave) == figures_before
    stats_rebuild()
    assert tallies() == tallies_before
    assert list(ApprovalRecord.objects.order_by("pk").values()) == log_before
    breaks, _requests, records = log_verify()
    assert breaks == [] and records == len(log_before)
    out = StringIO()
    call_command("verify_log", stdout=out)
    assert "记录链完整" in out.getvalue()


def test_the_anonymized_student_can_no_longer_log_in(
    client: Client, world: World, django_capture_on_commit_callbacks: Any
) -> None:
    assert client.login(username=OLD_NO, password="pass-1234")
    client.logout()
    run(django_capture_on_commit_callbacks)
    alice = User.objects.get(pk=world.alice.pk)
    assert not client.login(username=OLD_NO, password="pass-1234")
    assert not client.login(username=alice.username, password="pass-1234")


def test_the_batch_page_says_its_workbooks_were_deleted(
    client: Client, school: School, world: World, django_capture_on_commit_callbacks: Any
) -> None:
    run(django_capture_on_commit_callbacks)
    client.force_login(school.dave)
    page = client.get(reverse("exports:batch", args=[world.batch.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="batch-files-removed"' in body and 'id="batch-download"' not in body
    assert ANON_NAME in body and OLD_NAME not in body
    response = client.get(reverse("exports:download", args=[world.batch.pk]), follow=True)
    assert "已按个人信息保留期限删除" in response.content.decode()
    assert world.batch.downloads.count() == 1  # the refused download is not counted


def test_a_second_run_changes_nothing(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    run(django_capture_on_commit_callbacks)
    before = db_snapshot()

    again = run(django_capture_on_commit_callbacks)

    assert (again.candidates, again.anonymized, again.files, sum(again.rows.values())) == (
        0,
        0,
        0,
        0,
    )
    assert db_snapshot() == before


def test_a_dry_run_counts_and_changes_nothing(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    files = stored_names(world)
    before = db_snapshot()

    dry = run(django_capture_on_commit_callbacks, dry_run=True)

    assert (dry.dry_run, dry.anonymized, dry.files) == (
        True,
        1,
        len(set(files["hers"] + files["shared"])),
    )
    assert (
        dry.rows["credits.CreditRecord"] == CreditRecord.objects.filter(student=world.alice).count()
    )
    assert db_snapshot() == before
    assert all(default_storage.exists(n) for names in files.values() for n in names)
    real = run(django_capture_on_commit_callbacks)
    assert (real.anonymized, real.files, real.rows) == (dry.anonymized, dry.files, dry.rows)


# --- who waits ------------------------------------------------------------------------------------


@pytest.fixture
def graduate(school: School) -> User:
    """A student of 年级 2015 (graduated in 2019) who never used the system."""
    user = UserFactory.create(username="2015010001", name="毕业生")
    User.objects.filter(pk=user.pk).update(grade="2015级", email="g@example.edu")
    role_grant(user=user, organization=school.class_a1, role=Membership.Role.STUDENT)
    user.refresh_from_db()
    return user


def test_a_student_with_a_request_under_review_waits(
    school: School,
    graduate: User,
    mirror: Mirror,
    personal_window: Window,
) -> None:
    request = make_draft(graduate, mirror)
    personal_services.personal_request_submit(request=request, actor=graduate)

    summary = students_anonymize(graduated_before=TOMORROW, dry_run=False)

    assert (summary.anonymized, summary.postponed[IN_PROGRESS]) == (0, 1)
    graduate.refresh_from_db()
    assert (graduate.username, graduate.name, graduate.anonymized_at) == (
        "2015010001",
        "毕业生",
        None,
    )


def test_a_student_listed_in_someone_elses_draft_waits(
    school: School,
    graduate: User,
    kit: Kit,
) -> None:
    ready_request(school.gina, school.club, kit, students=[graduate, school.olivia])
    summary = students_anonymize(graduated_before=TOMORROW, dry_run=False)
    assert (summary.anonymized, summary.postponed[IN_PROGRESS]) == (0, 1)
    assert RosterEntry.objects.filter(student_no="2015010001", name="毕业生").exists()


def test_a_students_own_draft_does_not_hold_them_back(
    school: School,
    graduate: User,
    mirror: Mirror,
    personal_window: Window,
) -> None:
    draft = make_draft(graduate, mirror)
    summary = students_anonymize(graduated_before=TOMORROW, dry_run=False)
    assert summary.anonymized == 1
    draft.refresh_from_db()
    assert draft.state == State.DRAFT and not Evidence.objects.filter(request=draft).exists()


def test_credits_not_yet_imported_into_daomeng_hold_a_student_back(
    school: School,
    graduate: User,
    mirror: Mirror,
    personal_window: Window,
) -> None:
    _personal_approved(school, graduate, mirror)
    summary = students_anonymize(graduated_before=TOMORROW, dry_run=False)
    assert (summary.anonymized, summary.postponed[NOT_IMPORTED]) == (0, 1)
    assert CreditRecord.objects.filter(student_no="2015010001").exists()


def test_use_within_the_retention_period_holds_a_student_back(graduate: User) -> None:
    User.objects.filter(pk=graduate.pk).update(last_login=timezone.now() - timedelta(days=30))
    cutoff = graduation_cutoff(today=timezone.localdate(), years=3)
    summary = students_anonymize(graduated_before=cutoff, dry_run=False)
    assert (summary.candidates, summary.anonymized, summary.postponed[RECENT]) == (1, 0, 1)
    User.objects.filter(pk=graduate.pk).update(last_login=timezone.now() - timedelta(days=4 * 366))
    assert students_anonymize(graduated_before=cutoff, dry_run=False).anonymized == 1


def test_staff_and_students_without_a_year_are_never_picked(school: School, graduate: User) -> None:
    User.objects.filter(pk=school.bob.pk).update(grade="2010")  # a counselor, not a student
    User.objects.filter(pk=school.olivia.pk).update(grade="未知")
    summary = students_anonymize(graduated_before=TOMORROW, dry_run=False)
    assert summary.anonymized == 1 and summary.without_grade >= 1
    assert (
        User.objects.filter(pk__in=[school.bob.pk, school.olivia.pk], anonymized_at=None).count()
        == 2
    )


# --- the command, the task and the rule ---------------------------------------------------------


def test_the_command_prints_chinese_counts_and_its_dry_run_changes_nothing(graduate: User) -> None:
    out = StringIO()
    call_command("anonymize_graduates", "--dry-run", "--years", "3", stdout=out)
    text = out.getvalue()
    assert "试运行" in text and "将匿名化：1 人" in text
    assert User.objects.get(pk=graduate.pk).username == "2015010001"

    out = StringIO()
    call_command("anonymize_graduates", "--years", "3", stdout=out)
    assert "已匿名化：1 人" in out.getvalue() and "用户：1 条" in out.getvalue()
    assert User.objects.get(pk=graduate.pk).name == ANON_NAME

    out = StringIO()
    call_command("anonymize_graduates", stdout=out)
    assert "且尚未匿名化的学生：0 人" in out.getvalue()
    with pytest.raises(CommandError, match="不能为负数"):
        call_command("anonymize_graduates", "--years", "-1")


def test_the_monthly_task_uses_the_retention_setting(graduate: User, settings: Any) -> None:
    settings.BULU_RETENTION_YEARS_AFTER_GRADUATION = 20  # 2019 + 20 is still to come
    assert graduates_anonymize_task()["anonymized"] == 0
    settings.BULU_RETENTION_YEARS_AFTER_GRADUATION = 3
    assert graduates_anonymize_task() == {
        "candidates": 1,
        "anonymized": 1,
        "postponed": 0,
        "files": 0,
    }
    from bulu.settings import CELERY_BEAT_SCHEDULE

    assert CELERY_BEAT_SCHEDULE["anonymize-graduates"]["task"] == "privacy.graduates_anonymize"


def test_the_graduation_rule(settings: Any) -> None:
    assert [grade_year(g) for g in ("2019", "2019级", " 2020 ", "", "19", "20190", "未知")] == [
        2019,
        2019,
        2020,
        None,
        None,
        None,
        None,
    ]
    assert graduation_date(grade="2019级", study_years=4) == date(2023, 7, 1)
    assert graduation_date(grade="2021", study_years=3) == date(2024, 7, 1)
    assert graduation_cutoff(today=date(2028, 2, 29), years=3) == date(2025, 2, 28)
    assert graduation_cutoff(today=date(2026, 12, 7), years=3) == date(2023, 12, 7)


def test_it_keeps_requests_and_credits_whatever_it_removes(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    counts = {
        m: m.objects.count() for m in (BackfillRequest, CreditRecord, RosterEntry, CadreEntry)
    }
    notifications = Notification.objects.exclude(recipient=world.alice).count()
    run(django_capture_on_commit_callbacks)
    assert {m: m.objects.count() for m in counts} == counts
    assert Notification.objects.filter(recipient=world.alice).count() == 0
    assert Notification.objects.count() == notifications  # the others' are rewritten, not lost


def test_a_roster_whose_result_names_them_loses_its_files_and_the_mention(
    school: School, graduate: User, django_capture_on_commit_callbacks: Any
) -> None:
    from django.core.files.base import ContentFile

    message = "姓名“毕业生”与学生名册中学号 2015010001 的姓名不一致，请核对学号和姓名。"
    upload = RosterUpload(
        uploaded_by=school.bob,
        original_name="毕业生等名单.xlsx",
        size=3,
        sha256="0" * 64,
        status=RosterUpload.Status.DONE,
        error_count=1,
        result={"errors": [{"row": 2, "column": "姓名", "code": "x", "message": message}]},
    )
    upload.file.save("roster.xlsx", ContentFile(b"xls"), save=False)
    upload.annotated.save("annotated.xlsx", ContentFile(b"xls"), save=False)
    upload.save()
    # A later upload of the same bytes reused the result and shares the annotated copy.
    twin = RosterUpload.objects.create(
        uploaded_by=school.bob,
        original_name="again.xlsx",
        size=3,
        sha256="0" * 64,
        status=RosterUpload.Status.DONE,
        result=upload.result,
        file=upload.file.name,
        annotated=upload.annotated.name,
        reused_from=upload,
    )
    names = [upload.file.name, upload.annotated.name]

    run(django_capture_on_commit_callbacks)

    graduate.refresh_from_db()
    for row in (upload, twin):
        row.refresh_from_db()
        assert not row.file and not row.annotated
        assert row.result is not None
        text = row.result["errors"][0]["message"]
        assert "2015010001" not in text and "毕业生" not in text and graduate.username in text
    assert upload.original_name == "已匿名等名单.xlsx"
    assert not any(default_storage.exists(str(n)) for n in names)


def test_the_admin_shows_when_an_account_was_anonymized(client: Client, graduate: User) -> None:
    students_anonymize(graduated_before=TOMORROW, dry_run=False)
    admin = UserFactory.create(username="root", name="管理员", is_staff=True, is_superuser=True)
    client.force_login(admin)
    page = client.get(reverse("admin:accounts_user_change", args=[graduate.pk]))
    assert page.status_code == 200
    assert "匿名化时间" in page.content.decode() and ANON_NAME in page.content.decode()


def test_a_student_named_only_by_a_refused_row_of_an_open_request_waits(
    school: School, graduate: User, kit: Kit
) -> None:
    draft = ready_request(school.gina, school.club, kit, students=[school.olivia])
    RosterUpload.objects.create(
        uploaded_by=school.gina,
        original_name="名单.xlsx",
        size=3,
        sha256="1" * 64,
        status=RosterUpload.Status.DONE,
        error_count=1,
        result={"errors": [{"message": "学号 2015010001 的这条记录已申请过"}]},
        request=draft,
        version=9,
    )
    summary = students_anonymize(graduated_before=TOMORROW, dry_run=False)
    assert (summary.anonymized, summary.postponed[IN_PROGRESS]) == (0, 1)
