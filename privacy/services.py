"""Anonymizing graduated students (PIPL: personal data kept only as long as needed).

`students_anonymize` replaces a due student's 姓名 and 学号 everywhere the application copied
them, clears their contact data, closes the account and deletes the stored files that carry their
data; counts and credit values stay as they are, so every statistic reads the same afterwards.
The approval log and the role log are left untouched (append-only, see docs/privacy.md): they
name people by user id, and the user is now the anonymized account.

One transaction per chunk of students; the files go after it commits (a rollback keeps them).
A dry run does all of it and rolls each chunk back, so its counts are exactly what a real run
would change. An anonymized account is never picked again: running twice changes nothing.
"""

from __future__ import annotations

import re
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import reduce
from operator import or_
from typing import Any

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, TextField
from django.db.models.fields.files import FieldFile
from django.db.models.functions import Cast
from django.utils import timezone

from accounts.models import User
from bulu.files import files_delete_on_commit
from bulu.jobs.models import Job
from bulu.workflow.models import ApprovalRecord, BackfillRequest, Notification, State
from cadre.models import CadreEntry, CadreEvidence
from collective.models import CollectiveRequest
from credits.models import CreditRecord
from documents.models import RequestDocument
from exports.models import ExportBatch, ExportFile, ExportItem
from imports.models import RosterEntry, RosterUpload
from personal.models import Evidence, PersonalItem
from privacy.selectors import graduates_before, students_without_grade

ANON_NAME = "已匿名"
PSEUDONYM_PREFIX = "anon-"
# Students per transaction: small enough to keep locks short, large enough to be quick.
CHUNK = 200
# Requests that can still move: someone may yet submit, change or approve them.
OPEN_STATES = (State.DRAFT, State.PENDING, State.RETURNED)
FINISHED_JOBS = (Job.State.DONE, Job.State.FAILED)
FINISHED_BATCHES = (ExportBatch.State.IMPORTED, ExportBatch.State.CANCELLED)

# Why a due student waits for a later run.
IN_PROGRESS = "in_progress"
NOT_IMPORTED = "not_imported"
RECENT = "recent"
POSTPONE_REASONS = (IN_PROGRESS, NOT_IMPORTED, RECENT)


@dataclass(frozen=True)
class Subject:
    """One student being anonymized: what they were called and what they become."""

    pk: int
    old_no: str
    old_name: str
    old_email: str
    new_no: str

    def scrub(self, text: str) -> str:
        """`text` without this student's 学号 (the pseudonym instead), name and e-mail."""
        out = re.sub(rf"(?<![0-9A-Za-z]){re.escape(self.old_no)}(?![0-9A-Za-z])", self.new_no, text)
        # A one-character name would wipe that character from every sentence.
        if len(self.old_name) > 1:
            out = out.replace(self.old_name, ANON_NAME)
        if self.old_email:
            out = out.replace(self.old_email, "")
        return out


def scrub(value: Any, subjects: Iterable[Subject]) -> Any:
    """A text or a JSON value (lists, dicts, strings) with the subjects' data replaced."""
    subjects = list(subjects)
    if isinstance(value, str):
        for subject in subjects:
            value = subject.scrub(value)
        return value
    if isinstance(value, list):
        return [scrub(v, subjects) for v in value]
    if isinstance(value, dict):
        return {k: scrub(v, subjects) for k, v in value.items()}
    return value


@dataclass
class AnonymizeSummary:
    graduated_before: date
    dry_run: bool
    # Due students (graduated before the date), not anonymized yet.
    candidates: int = 0
    anonymized: int = 0
    # Reason (POSTPONE_REASONS) -> students left for a later run.
    postponed: Counter[str] = field(default_factory=Counter)
    # Students whose 年级 names no year (never picked: they cannot be dated).
    without_grade: int = 0
    # Model label -> rows rewritten or deleted.
    rows: Counter[str] = field(default_factory=Counter)
    files: int = 0
    # Approval records whose opinion names an anonymized 学号 (kept: the log is append-only).
    log_mentions: int = 0


class _Files:
    """Stored files whose rows this chunk drops (names in the default storage, like every file
    field here); `bulu.files` deletes them once the chunk commits, its purge catches leftovers."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def add(self, stored: FieldFile | None) -> None:
        if stored and stored.name:
            self.names.add(str(stored.name))


def students_anonymize(
    *, graduated_before: date, dry_run: bool, chunk_size: int = CHUNK
) -> AnonymizeSummary:
    """Anonymize every student who graduated before `graduated_before` (see the module doc).

    A student still involved in live work waits: listed in a request someone else may still
    submit or that is under review, their own request under review, credits not yet confirmed
    imported into 到梦空间, or any use of the account (login, request, credit) since
    `graduated_before` — the retention period runs from the later of graduation and last use.
    """
    summary = AnonymizeSummary(graduated_before=graduated_before, dry_run=dry_run)
    summary.without_grade = students_without_grade().count()
    due = graduates_before(graduated_before=graduated_before, study_years=settings.BULU_STUDY_YEARS)
    ids = list(due.order_by("pk").values_list("pk", flat=True))
    summary.candidates = len(ids)
    since = timezone.make_aware(datetime.combine(graduated_before, time.min))
    for start in range(0, len(ids), chunk_size):
        with transaction.atomic():
            _chunk_anonymize(ids[start : start + chunk_size], since=since, summary=summary)
            if dry_run:
                transaction.set_rollback(True)  # also drops the on-commit file deletions
    return summary


def _chunk_anonymize(ids: Sequence[int], *, since: datetime, summary: AnonymizeSummary) -> None:
    users = list(
        User.objects.select_for_update()
        .filter(pk__in=ids, anonymized_at__isnull=True)
        .order_by("pk")
    )
    postponed = _postponed(users, since=since)
    summary.postponed.update(postponed.values())
    taken: set[str] = set()
    subjects = {
        u.pk: Subject(u.pk, u.username, u.name, u.email, _pseudonym(taken))
        for u in users
        if u.pk not in postponed
    }
    if not subjects:
        return
    files = _Files()
    rows = summary.rows
    involved = _involved_requests(subjects)
    records = list(CreditRecord.objects.filter(_owned(subjects)).values_list("pk", flat=True))
    # Files first: finding them reads the 学号 the copies still hold.
    rows.update(_files_remove(subjects, involved, records, files))
    for subject in subjects.values():
        rows.update(_copies_rewrite(subject))
    rows.update(_messages_scrub(subjects))
    rows.update(_logins_forget(subjects))
    summary.log_mentions += ApprovalRecord.objects.filter(_mentions("opinion", subjects)).count()
    rows.update(_accounts_close([u for u in users if u.pk in subjects], subjects))
    summary.anonymized += len(subjects)
    summary.files += len(files.names)
    files_delete_on_commit(sorted(files.names))


def _pseudonym(taken: set[str]) -> str:
    """ "anon-" and 12 random hex digits: unique, and tied to nothing (not derived from the 学号,
    so no key can link it back)."""
    while True:
        candidate = PSEUDONYM_PREFIX + secrets.token_hex(6)
        if candidate not in taken and not User.objects.filter(username=candidate).exists():
            taken.add(candidate)
            return candidate


def _label(model: type[models.Model]) -> str:
    return model._meta.label


def _owned(subjects: Mapping[int, Subject], student: str = "student") -> Q:
    """Rows that copy one of the subjects: their user, or their 学号 where no user is linked."""
    return Q(**{f"{student}_id__in": list(subjects)}) | Q(
        **{f"{student}__isnull": True, "student_no__in": [s.old_no for s in subjects.values()]}
    )


def _mentions(column: str, subjects: Mapping[int, Subject], *, cast: bool = False) -> Q:
    """`column` contains one of the subjects' 学号 (a superset: `scrub` checks the edges)."""
    lookup = f"{column}_text__contains" if cast else f"{column}__contains"
    return reduce(or_, (Q(**{lookup: s.old_no}) for s in subjects.values()))


# --- who waits --------------------------------------------------------------------------------


def _postponed(users: Sequence[User], *, since: datetime) -> dict[int, str]:
    """Student id -> the first reason they wait (POSTPONE_REASONS order)."""
    subjects = {u.pk: Subject(u.pk, u.username, u.name, u.email, "") for u in users}
    if not subjects:
        return {}
    pks = list(subjects)
    by_no = {s.old_no: s.pk for s in subjects.values()}
    found: dict[int, str] = {}

    def mark(reason: str, rows: Iterable[tuple[int | None, str]]) -> None:
        for pk, no in rows:
            student = pk if pk in subjects else by_no.get(no)
            if student is not None:
                found.setdefault(student, reason)

    # In progress: their own request under review, or listed in a request someone else filed
    # that may still be submitted or approved (their own drafts only they could move on).
    mark(
        IN_PROGRESS,
        BackfillRequest.objects.filter(applicant_id__in=pks, state=State.PENDING).values_list(
            "applicant_id", "applicant__username"
        ),
    )
    mark(
        IN_PROGRESS,
        RosterEntry.objects.filter(_owned(subjects), upload__request__state__in=OPEN_STATES)
        .exclude(upload__request__applicant_id=F("student_id"))
        .values_list("student_id", "student_no"),
    )
    mark(
        IN_PROGRESS,
        CadreEntry.objects.filter(student_id__in=pks, request__state__in=OPEN_STATES)
        .exclude(request__applicant_id=F("student_id"))
        .values_list("student_id", "student_no"),
    )
    # A roster of such a request whose result names them (a row it refused, say).
    open_rosters = _rosters_naming(subjects).filter(request__state__in=OPEN_STATES)
    results = open_rosters.values_list("result", "request__applicant_id")
    mark(
        IN_PROGRESS,
        (
            (s.pk, "")
            for result, applicant in results
            for s in subjects.values()
            if s.old_no in str(result or "") and s.pk != applicant
        ),
    )
    imported = ExportItem.objects.filter(
        record_id=OuterRef("pk"), active=True, batch__state=ExportBatch.State.IMPORTED
    )
    mark(
        NOT_IMPORTED,
        CreditRecord.objects.filter(_owned(subjects), delivery=CreditRecord.Delivery.BATCH)
        .exclude(Exists(imported))
        .values_list("student_id", "student_no"),
    )
    mark(RECENT, ((u.pk, "") for u in users if u.last_login and u.last_login >= since))
    mark(
        RECENT,
        BackfillRequest.objects.filter(applicant_id__in=pks, updated_at__gte=since).values_list(
            "applicant_id", "applicant__username"
        ),
    )
    mark(
        RECENT,
        CreditRecord.objects.filter(_owned(subjects), created_at__gte=since).values_list(
            "student_id", "student_no"
        ),
    )
    return found


def _involved_requests(subjects: Mapping[int, Subject]) -> dict[int, set[int]]:
    """Request id -> the subjects it concerns (applicant, roster row, cadre entry, credit)."""
    by_no = {s.old_no: s.pk for s in subjects.values()}
    involved: dict[int, set[int]] = defaultdict(set)
    sources: list[Iterable[tuple[int | None, int | None, str]]] = [
        BackfillRequest.objects.filter(applicant_id__in=list(subjects)).values_list(
            "pk", "applicant_id", "applicant__username"
        ),
        RosterEntry.objects.filter(_owned(subjects), upload__request__isnull=False).values_list(
            "upload__request_id", "student_id", "student_no"
        ),
        CadreEntry.objects.filter(student_id__in=list(subjects)).values_list(
            "request_id", "student_id", "student_no"
        ),
        CreditRecord.objects.filter(_owned(subjects)).values_list(
            "request_id", "student_id", "student_no"
        ),
    ]
    for rows in sources:
        for request_id, pk, no in rows:
            student = pk if pk in subjects else by_no.get(no)
            if request_id is not None and student is not None:
                involved[request_id].add(student)
    return involved


# --- copies of the name and 学号 ---------------------------------------------------------------


def _scrub_rows(qs: QuerySet[Any], fields: Sequence[str], subjects: Iterable[Subject]) -> int:
    """Rewrite the text/JSON `fields` of `qs`'s rows that mention the subjects; rows changed."""
    subjects = list(subjects)
    changed = 0
    for row in qs.values("pk", *fields):
        new = {f: scrub(row[f], subjects) for f in fields}
        new = {f: v for f, v in new.items() if v != row[f]}
        if new:
            qs.model._default_manager.filter(pk=row["pk"]).update(**new)
            changed += 1
    return changed


def _copies_rewrite(subject: Subject) -> Counter[str]:
    """The name and 学号 in every denormalized copy, and free texts about the student."""
    one = {subject.pk: subject}
    n: Counter[str] = Counter()
    records = CreditRecord.objects.filter(_owned(one))
    _scrub_rows(records, ("content", "award"), [subject])
    n[_label(CreditRecord)] += records.update(student_no=subject.new_no, student_name=ANON_NAME)
    entries = RosterEntry.objects.filter(_owned(one))
    _scrub_rows(entries, ("content", "award", "flags", "excluded_reason"), [subject])
    n[_label(RosterEntry)] += entries.update(student_no=subject.new_no, name=ANON_NAME)
    cadre = CadreEntry.objects.filter(student_id=subject.pk)
    _scrub_rows(cadre.filter(has_flags=True), ("flags",), [subject])
    n[_label(CadreEntry)] += cadre.update(student_no=subject.new_no, name=ANON_NAME)
    # What the student typed into their own requests.
    own = BackfillRequest.objects.filter(applicant_id=subject.pk)
    n[_label(BackfillRequest)] += _scrub_rows(own, ("title",), [subject])
    items = PersonalItem.objects.filter(request__applicant_id=subject.pk)
    n[_label(PersonalItem)] += _scrub_rows(
        items, ("content", "awards", "recognition_reason"), [subject]
    )
    collective = CollectiveRequest.objects.filter(applicant_id=subject.pk)
    texts = ("activity_name", "location", "credit_details", "reason", "cause", "summary")
    changed = _scrub_rows(collective, texts, [subject])
    changed += collective.exclude(contact_phone="").update(contact_phone="")
    n[_label(CollectiveRequest)] += changed
    return n


def _messages_scrub(subjects: Mapping[int, Subject]) -> Counter[str]:
    """In-app messages: theirs deleted, the others' about them rewritten; e-mails sent to them
    or naming them (finished outbox jobs) deleted."""
    n: Counter[str] = Counter()
    mine = Notification.objects.filter(recipient_id__in=list(subjects))
    n[_label(Notification)] += mine.delete()[0]
    about = Notification.objects.filter(
        Q(request__applicant_id__in=list(subjects)) | _mentions("text", subjects)
    )
    for pk, text, applicant in about.values_list("pk", "text", "request__applicant_id"):
        relevant = [s for s in subjects.values() if s.pk == applicant or s.old_no in text]
        new = scrub(text, relevant)
        if new != text:
            Notification.objects.filter(pk=pk).update(text=new)
            n[_label(Notification)] += 1
    emails = [s.old_email for s in subjects.values() if s.old_email]
    named = _mentions("args", subjects, cast=True)
    for email in emails:
        named |= Q(args_text__contains=email)
    jobs = Job.objects.annotate(args_text=Cast("args", TextField())).filter(
        named, state__in=FINISHED_JOBS
    )
    n[_label(Job)] += Job.objects.filter(pk__in=list(jobs.values_list("pk", flat=True))).delete()[0]
    return n


def _logins_forget(subjects: Mapping[int, Subject]) -> Counter[str]:
    """django-axes' login records (学号, address, browser) and the admin's change log."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    n: Counter[str] = Counter()
    nos = [s.old_no for s in subjects.values()]
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        n[_label(model)] += model.objects.filter(username__in=nos).delete()[0]
    user_type = ContentType.objects.get_for_model(User)
    entries = LogEntry.objects.filter(
        Q(content_type=user_type, object_id__in=[str(pk) for pk in subjects])
        | _mentions("object_repr", subjects)
    )
    for pk, repr_, object_id, type_id in entries.values_list(
        "pk", "object_repr", "object_id", "content_type_id"
    ):
        relevant = [
            s
            for s in subjects.values()
            if s.old_no in repr_ or (type_id == user_type.pk and object_id == str(s.pk))
        ]
        new = scrub(repr_, relevant)
        if new != repr_:
            LogEntry.objects.filter(pk=pk).update(object_repr=new)
            n[_label(LogEntry)] += 1
    return n


def _accounts_close(users: Sequence[User], subjects: Mapping[int, Subject]) -> Counter[str]:
    now = timezone.now()
    for user in users:
        user.username = subjects[user.pk].new_no
        user.name = ANON_NAME
        user.first_name = user.last_name = user.email = user.phone = user.gender = ""
        user.set_unusable_password()
        user.is_active = False
        user.must_change_password = False
        user.last_login = None
        user.anonymized_at = now
        user.save()
    return Counter({_label(User): len(users)})


# --- files --------------------------------------------------------------------------------------


def _files_remove(
    subjects: Mapping[int, Subject],
    involved: Mapping[int, set[int]],
    records: Sequence[int],
    files: _Files,
) -> Counter[str]:
    """Evidence, the cached PDFs of every request they are in, the rosters naming them and the
    workbooks of finished export batches holding their records."""
    n: Counter[str] = Counter()
    for model in (Evidence, CadreEvidence):
        evidence = model.objects.filter(request__applicant_id__in=list(subjects))
        for item in evidence.only("pk", "file"):
            files.add(item.file)
        n[_label(model)] += evidence.delete()[0]
    documents = RequestDocument.objects.filter(request_id__in=list(involved))
    for doc in documents.only("pk", "file"):
        files.add(doc.file)
    n[_label(RequestDocument)] += documents.delete()[0]
    n.update(_rosters_clear(subjects, involved, files))
    n.update(_batches_clear(records, files))
    return n


def _rosters_naming(subjects: Mapping[int, Subject]) -> QuerySet[RosterUpload]:
    """Uploads whose stored result quotes a subject's 学号 (only a listed problem does)."""
    return (
        RosterUpload.objects.filter(Q(error_count__gt=0) | Q(warning_count__gt=0))
        .annotate(result_text=Cast("result", TextField()))
        .filter(_mentions("result", subjects, cast=True))
    )


def _rosters_clear(
    subjects: Mapping[int, Subject], involved: Mapping[int, set[int]], files: _Files
) -> Counter[str]:
    """Every roster upload of a request they are in, or whose stored result names them: both
    stored files go (the rows live on as RosterEntry), the result and file name are scrubbed."""
    uploads = RosterUpload.objects.filter(
        Q(request_id__in=list(involved)) | Q(pk__in=_rosters_naming(subjects).values("pk"))
    )
    fields = ("pk", "file", "annotated", "result", "original_name")
    found: dict[int, RosterUpload] = {u.pk: u for u in uploads.only(*fields)}
    # A reused result shares the original's annotated copy: clear every row naming the file.
    names = [f.name for u in found.values() for f in (u.file, u.annotated) if f and f.name]
    if names:
        sharing = RosterUpload.objects.filter(Q(file__in=names) | Q(annotated__in=names))
        for u in sharing.exclude(pk__in=list(found)).only(*fields):
            found[u.pk] = u
    for upload in found.values():
        text = str(upload.result or "")
        relevant = [
            s
            for s in subjects.values()
            if s.pk in involved.get(upload.request_id or 0, ()) or s.old_no in text
        ]
        files.add(upload.file)
        files.add(upload.annotated)
        RosterUpload.objects.filter(pk=upload.pk).update(
            file="",
            annotated=None,
            result=scrub(upload.result, relevant),
            original_name=scrub(upload.original_name, relevant),
        )
    return Counter({_label(RosterUpload): len(found)}) if found else Counter()


def _batches_clear(records: Sequence[int], files: _Files) -> Counter[str]:
    """A finished batch's workbooks hold its records as they were sent: once one of its
    students is anonymized the stored files go (the records and what was sent — rows, totals,
    SHA-256 — stay). A live batch cannot hold them: such students wait (NOT_IMPORTED)."""
    n: Counter[str] = Counter()
    batches = ExportBatch.objects.filter(
        state__in=FINISHED_BATCHES,
        pk__in=ExportItem.objects.filter(record_id__in=list(records)).values("batch_id"),
    )
    for batch in batches.only("pk", "bundle"):
        stored = ExportFile.objects.filter(batch=batch).exclude(file="")
        for f in stored.only("pk", "file"):
            files.add(f.file)
        n[_label(ExportFile)] += stored.update(file="")
        if batch.bundle:
            files.add(batch.bundle)
            n[_label(ExportBatch)] += ExportBatch.objects.filter(pk=batch.pk).update(bundle="")
    return n
