"""Student registry import: the service, the xlsx safety checks and the command."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Sequence
from io import StringIO
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Membership, Organization, RoleChange, User
from accounts.registry import RegistryResult, registry_import, registry_preview
from accounts.services import role_grant
from bulu import xlsx as xlsx_module
from bulu.exceptions import ApplicationError
from tests.conftest import School
from tests.factories import UserFactory

Kind = Organization.Kind
Role = Membership.Role
HEADER = ["学号", "姓名", "学院", "班级"]
COLLEGE_A = "智能制造学院"
COLLEGE_B = "汽车工程学院"


def xlsx(rows: Sequence[Sequence[object]], header: Sequence[object] = HEADER) -> io.BytesIO:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    out.seek(0)
    return out


GOOD_ROWS = [
    ["2024010101", "张三", COLLEGE_A, "机械2401"],
    ["2024010102", "李四", COLLEGE_A, "机械2401"],
    ["2024010103", "王五", COLLEGE_A, "机械2403"],
]


def import_rows(
    rows: Sequence[Sequence[object]],
    *,
    header: Sequence[object] = HEADER,
    create_colleges: bool = False,
) -> RegistryResult:
    return registry_import(fileobj=xlsx(rows, header), create_colleges=create_colleges)


def errors_of(
    rows: Sequence[Sequence[object]], *, header: Sequence[object] = HEADER
) -> list[tuple[int, str, str]]:
    """Import must fail; the (row, column, message) of every error."""
    with pytest.raises(ApplicationError) as caught:
        import_rows(rows, header=header)
    result = caught.value.extra["result"]
    assert isinstance(result, RegistryResult)
    return [(e.row, e.column, e.message) for e in result.errors]


def student_class(username: str) -> Organization:
    return Membership.objects.get(user__username=username, role=Role.STUDENT).organization


def snapshot() -> tuple[int, int, int, list[tuple[str, str]]]:
    return (
        User.objects.count(),
        Organization.objects.count(),
        Membership.objects.count(),
        list(User.objects.order_by("username").values_list("username", "name")),
    )


# --- good files -------------------------------------------------------------------------------


def test_it_creates_students_classes_and_memberships(school: School) -> None:
    result = import_rows(GOOD_ROWS)

    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    assert result.new_classes == [(COLLEGE_A, "机械2403")]
    zhang = User.objects.get(username="2024010101")
    assert zhang.name == "张三"
    assert not zhang.has_usable_password()
    assert student_class("2024010101") == school.class_a1
    new_class = student_class("2024010103")
    assert (new_class.name, new_class.kind, new_class.parent) == (
        "机械2403",
        Kind.CLASS,
        school.college_a,
    )


def test_it_changes_nothing_when_the_same_file_is_imported_again(school: School) -> None:
    import_rows(GOOD_ROWS)
    before = snapshot()

    result = import_rows(GOOD_ROWS)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert result.new_classes == []
    assert snapshot() == before


def test_it_updates_a_changed_name(school: School) -> None:
    result = import_rows([["2024010001", "李爱莉", COLLEGE_A, "机械2401"]])

    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    assert result.rows[0].changes == ["姓名：李爱丽 → 李爱莉"]
    school.alice.refresh_from_db()
    assert school.alice.name == "李爱莉"
    assert student_class("2024010001") == school.class_a1


def test_it_moves_a_student_to_another_class(school: School) -> None:
    result = import_rows([["2024010001", "李爱丽", COLLEGE_A, "机械2402"]])

    assert result.updated == 1
    assert Membership.objects.filter(user=school.alice, role=Role.STUDENT).count() == 1
    assert student_class("2024010001") == school.class_a2


def test_it_makes_a_student_of_an_applicant_without_a_class(school: School) -> None:
    # gina is a club's student applicant: she keeps that role and gains her class.
    import_rows([["2024010002", "高娜", COLLEGE_A, "机械2402"]])

    assert student_class("2024010002") == school.class_a2
    assert Membership.objects.filter(user=school.gina, role=Role.APPLICANT).exists()


def test_it_fills_optional_columns_and_keeps_values_for_empty_cells(school: School) -> None:
    header = [*HEADER, "性别", "专业", "年级", "联系电话"]
    import_rows(
        [["2024010101", "张三", COLLEGE_A, "机械2401", "男", "机械工程", 2024, 13800000000]],
        header=header,
    )
    zhang = User.objects.get(username="2024010101")
    assert (zhang.gender, zhang.major, zhang.grade, zhang.phone) == (
        "男",
        "机械工程",
        "2024",
        "13800000000",
    )

    result = import_rows(
        [["2024010101", "张三", COLLEGE_A, "机械2401", "", "", "", ""]], header=header
    )

    assert result.unchanged == 1
    zhang.refresh_from_db()
    assert zhang.phone == "13800000000"


def test_it_finds_columns_by_name_in_any_order(school: School) -> None:
    header = ["班级", "联系电话", "姓名", "备注", "学院", "学号"]
    import_rows([["机械2401", "", "张三", "随便", COLLEGE_A, "2024010101"]], header=header)

    assert student_class("2024010101") == school.class_a1


def test_it_normalizes_numeric_and_full_width_student_ids(school: School) -> None:
    result = import_rows(
        [
            [2024010101, "张三", COLLEGE_A, "机械2401"],
            ["\u3000２０２４０１０１０２ ", "李　四", f" {COLLEGE_A}\u3000", "机械2401"],
        ]
    )

    assert result.created == 2
    assert User.objects.filter(username="2024010101", name="张三").exists()
    assert User.objects.filter(username="2024010102", name="李四").exists()
    assert not User.objects.filter(username__contains="E+").exists()
    assert not User.objects.filter(username__endswith=".0").exists()


def test_it_creates_an_unknown_college_with_its_branch_when_allowed(school: School) -> None:
    result = import_rows([["2024010101", "张三", "新能源学院", "新能2401"]], create_colleges=True)

    assert result.new_colleges == ["新能源学院"]
    college = Organization.objects.get(kind=Kind.COLLEGE, name="新能源学院")
    assert Organization.objects.filter(kind=Kind.BRANCH, parent=college).exists()
    assert student_class("2024010101").parent == college


def test_it_writes_ten_thousand_rows_in_bulk(
    school: School, django_assert_max_num_queries: object
) -> None:
    rows = [
        [f"2025{n:06d}", f"学生{n}", COLLEGE_A if n % 2 else COLLEGE_B, f"班{n % 40:02d}-{n % 2}"]
        for n in range(10_000)
    ]
    fileobj = xlsx(rows)

    # SQLite binds at most 999 parameters, so ~60 users per INSERT; PostgreSQL takes 500. The
    # roles' log adds its own bulk INSERTs (~90 rows each on SQLite).
    with django_assert_max_num_queries(420):  # type: ignore[operator]
        result = registry_import(fileobj=fileobj, create_colleges=False)

    assert result.created == 10_000
    assert Membership.objects.filter(role=Role.STUDENT).count() == 10_000 + 2
    assert RoleChange.objects.filter(source=RoleChange.Source.IMPORT).count() == 10_000


# --- bad files --------------------------------------------------------------------------------


def test_it_reports_a_missing_column(school: School) -> None:
    errors = errors_of([["2024010101", "张三", COLLEGE_A]], header=["学号", "姓名", "学院"])

    assert [(row, column) for row, column, _m in errors] == [(1, "班级")]
    assert "缺少必填列“班级”" in errors[0][2]


def test_it_rejects_an_unknown_college_unless_allowed(school: School) -> None:
    errors = errors_of([["2024010101", "张三", "新能源学院", "新能2401"]])

    assert errors == [
        (2, "学院", "学院“新能源学院”不存在。请核对名称，或选择“允许新建学院”后重新导入。")
    ]
    assert not Organization.objects.filter(name__in=["新能源学院", "新能2401"]).exists()


def test_it_reports_a_duplicate_student_id_on_the_later_row(school: School) -> None:
    errors = errors_of([*GOOD_ROWS, ["2024010101", "张叁", COLLEGE_A, "机械2402"]])

    assert errors == [(5, "学号", "学号“2024010101”与第 2 行重复。")]


def test_it_reports_an_empty_name(school: School) -> None:
    errors = errors_of([["2024010101", "  ", COLLEGE_A, "机械2401"]])

    assert errors == [(2, "姓名", "姓名不能为空。")]


def test_it_reports_every_bad_row_with_its_row_and_column(school: School) -> None:
    header = [*HEADER, "性别"]
    rows: list[list[object]] = [
        ["2024010101", "张三", COLLEGE_A, "机械2401", "男"],  # fine
        ["12ab", "", COLLEGE_A, "机械2401", ""],
        [2024010103.5, "王五", COLLEGE_A, "机械2401", ""],
        ["2024010104", "赵六", COLLEGE_A, "机械2401", "M"],
        ["2024010105", "钱七", COLLEGE_B, "机械2401", ""],  # class of another college
        [None, None, None, None, None],  # blank rows are skipped
        ["2024010107", "孙八", COLLEGE_A, "", ""],
        ["2024010108", "周九", COLLEGE_A, "新班", ""],
        ["2024010109", "吴十", COLLEGE_B, "新班", ""],  # same new class, other college
    ]

    errors = errors_of(rows, header=header)

    assert [(row, column) for row, column, _m in errors] == [
        (3, "学号"),
        (3, "姓名"),
        (4, "学号"),
        (5, "性别"),
        (6, "班级"),
        (8, "班级"),
        (10, "班级"),
    ]
    messages = dict(((row, column), message) for row, column, message in errors)
    assert messages[(3, "学号")].startswith("学号“12ab”无效：应为 6–20 位数字。")
    assert "文本" in messages[(4, "学号")]
    assert messages[(5, "性别")] == "性别只能填写“男”或“女”，此处为“M”。"
    assert "已属于学院“智能制造学院”" in messages[(6, "班级")]
    assert "第 9 行" in messages[(10, "班级")]


def test_it_changes_nothing_when_any_row_is_bad(school: School) -> None:
    before = snapshot()
    rows = [
        *GOOD_ROWS,
        ["2024010001", "改名", COLLEGE_A, "机械2402"],  # would update alice
        ["2024010104", "赵六", "新能源学院", "新能2401"],
    ]

    errors = errors_of(rows)

    assert [(row, column) for row, column, _m in errors] == [(6, "学院")]
    assert snapshot() == before
    assert student_class("2024010001") == school.class_a1


def test_it_refuses_to_turn_a_staff_account_into_a_student(school: School) -> None:
    teacher = UserFactory.create(username="20190001", name="老师")
    role_grant(user=teacher, organization=school.class_a2, role=Role.COUNSELOR)

    errors = errors_of([["20190001", "老师", COLLEGE_A, "机械2401"]])

    assert errors == [(2, "学号", "学号“20190001”已是教职工账号，不能作为学生导入。")]


def test_it_refuses_a_file_with_no_students(school: School) -> None:
    errors = errors_of([])

    assert errors == [(2, "", "文件中没有学生数据（第 2 行起为数据）。")]


@pytest.mark.parametrize(
    "content",
    [
        "学号,姓名,学院,班级\n2024010101,张三,智能制造学院,机械2401\n".encode(),
        bytes(range(256)) * 40,
        b"",
    ],
    ids=["csv", "random-bytes", "empty"],
)
def test_it_refuses_a_file_that_is_not_xlsx(school: School, content: bytes) -> None:
    with pytest.raises(ApplicationError) as caught:
        registry_import(fileobj=io.BytesIO(content), create_colleges=False)

    assert "不是 xlsx 格式" in caught.value.message
    assert "result" not in caught.value.extra


def test_it_refuses_a_zip_that_is_not_a_workbook(school: School) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("hello.txt", "not a workbook")
    out.seek(0)

    with pytest.raises(ApplicationError) as caught:
        registry_preview(fileobj=out, create_colleges=False)

    assert "不是 xlsx 格式" in caught.value.message


def _bomb(megabytes: int) -> io.BytesIO:
    """A zip with one entry of `megabytes` MB of zeros, written in chunks (about 1 MB on disk)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as entry:
            chunk = b"\0" * (1 << 20)
            for _ in range(megabytes):
                entry.write(chunk)
    out.seek(0)
    return out


@pytest.fixture
def calamine_must_not_run(monkeypatch: pytest.MonkeyPatch) -> None:
    class Refuse:
        @classmethod
        def from_filelike(cls, *args: object, **kwargs: object) -> None:
            raise AssertionError("calamine was asked to parse a rejected file")

    monkeypatch.setattr(xlsx_module, "CalamineWorkbook", Refuse)


def test_it_rejects_a_zip_bomb_before_parsing(school: School, calamine_must_not_run: None) -> None:
    bomb = _bomb(300)
    assert len(bomb.getvalue()) < 2 * 1024 * 1024

    with pytest.raises(ApplicationError) as caught:
        registry_preview(fileobj=bomb, create_colleges=False)

    assert "已拒绝读取" in caught.value.message


def test_it_rejects_an_entry_compressed_beyond_any_spreadsheet(
    school: School, calamine_must_not_run: None
) -> None:
    with pytest.raises(ApplicationError) as caught:
        registry_preview(fileobj=_bomb(20), create_colleges=False)

    assert "压缩比异常" in caught.value.message


def _understate_size(fileobj: io.BytesIO, name: str, size: int) -> io.BytesIO:
    """Rewrite the uncompressed size that the local and central headers declare for `name`."""
    data = bytearray(fileobj.getvalue())
    for signature, name_len_at, name_at, size_at in (
        (b"PK\x03\x04", 26, 30, 22),
        (b"PK\x01\x02", 28, 46, 24),
    ):
        at = data.find(signature)
        while at >= 0:
            (name_len,) = struct.unpack_from("<H", data, at + name_len_at)
            if data[at + name_at : at + name_at + name_len] == name.encode():
                struct.pack_into("<I", data, at + size_at, size)
            at = data.find(signature, at + 4)
    return io.BytesIO(bytes(data))


def test_it_rejects_an_entry_that_lies_about_its_size(school: School) -> None:
    # The zip checks trust declared sizes because calamine stops at the declared size itself.
    rows = [[f"2024{n:06d}", "学生", COLLEGE_A, "机械2401"] for n in range(2000)]
    liar = _understate_size(xlsx(rows), "xl/worksheets/sheet1.xml", 1000)

    with pytest.raises(ApplicationError) as caught:
        registry_preview(fileobj=liar, create_colleges=False)

    assert "不是 xlsx 格式" in caught.value.message


def test_it_refuses_more_rows_than_the_roster_limit(school: School, settings: object) -> None:
    settings.BULU_ROSTER_MAX_ROWS = 2  # type: ignore[attr-defined]

    with pytest.raises(ApplicationError) as caught:
        import_rows(GOOD_ROWS)

    assert "超过 2 行" in caught.value.message


# --- the command ------------------------------------------------------------------------------


def _save(tmp_path: Path, fileobj: io.BytesIO, name: str = "名册.xlsx") -> str:
    path = tmp_path / name
    path.write_bytes(fileobj.getvalue())
    return str(path)


def test_it_imports_from_the_command_line(school: School, tmp_path: Path) -> None:
    out = StringIO()

    call_command("import_students", _save(tmp_path, xlsx(GOOD_ROWS)), stdout=out)

    assert "导入完成：新增 3 人，更新 0 人，不变 0 人" in out.getvalue()
    assert "设置初始密码" in out.getvalue()
    assert User.objects.filter(username="2024010103").exists()


def test_it_checks_without_writing_on_a_dry_run(school: School, tmp_path: Path) -> None:
    out = StringIO()

    call_command("import_students", _save(tmp_path, xlsx(GOOD_ROWS)), "--dry-run", stdout=out)

    assert "检查通过（未写入）：新增 3 人" in out.getvalue()
    assert not User.objects.filter(username="2024010103").exists()


def test_it_creates_colleges_from_the_command_line_only_when_asked(
    school: School, tmp_path: Path
) -> None:
    path = _save(tmp_path, xlsx([["2024010101", "张三", "新能源学院", "新能2401"]]))

    with pytest.raises(CommandError):
        call_command("import_students", path, stdout=StringIO(), stderr=StringIO())
    call_command("import_students", path, "--create-colleges", stdout=StringIO())

    assert Organization.objects.filter(kind=Kind.COLLEGE, name="新能源学院").exists()


def test_it_exits_1_and_prints_every_error_line(school: School, tmp_path: Path) -> None:
    rows = [
        ["2024010101", "", COLLEGE_A, "机械2401"],
        ["2024010102", "李四", "新能源学院", "新能2401"],
    ]
    err = StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("import_students", _save(tmp_path, xlsx(rows)), stdout=StringIO(), stderr=err)

    assert caught.value.returncode == 1
    assert err.getvalue().splitlines() == [
        "第 2 行 [姓名] 姓名不能为空。",
        "第 3 行 [学院] 学院“新能源学院”不存在。请核对名称，或选择“允许新建学院”后重新导入。",
    ]
    assert not User.objects.filter(username="2024010101").exists()


def test_it_exits_2_for_an_unreadable_file(school: School, tmp_path: Path) -> None:
    path = tmp_path / "名册.xlsx"
    path.write_bytes("学号,姓名\n".encode())

    with pytest.raises(CommandError) as caught:
        call_command("import_students", str(path), stdout=StringIO(), stderr=StringIO())

    assert caught.value.returncode == 2
    assert "不是 xlsx 格式" in str(caught.value)


def test_it_exits_2_for_a_missing_file(school: School, tmp_path: Path) -> None:
    with pytest.raises(CommandError) as caught:
        call_command("import_students", str(tmp_path / "nope.xlsx"), stdout=StringIO())

    assert caught.value.returncode == 2
