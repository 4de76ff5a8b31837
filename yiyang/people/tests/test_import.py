"""Roster import: all rows or none, within jurisdiction, audited, and safe with hostile files."""

from __future__ import annotations

import contextvars
import csv
import io
import zipfile

import openpyxl
import pytest
from django.db import connection
from django.test import override_settings
from django.utils import translation

from yiyang import cli
from yiyang.conftest import birth_for_age, make_id_number
from yiyang.core import audit, crypto
from yiyang.core.errors import PermissionDenied
from yiyang.core.models import AuditEntry
from yiyang.people import importing, services
from yiyang.people.importing import error_report_xlsx, import_roster
from yiyang.people.models import Contact, Elder, HardshipStatus
from yiyang.people.roster import COLUMNS, roster_template_xlsx

HEADERS = [column.header for column in COLUMNS]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def person(n: int, village: str = "510703001001", age: int = 75, **cells) -> dict:
    """A valid roster row (by heading); ``cells`` override or add columns."""
    row = {
        "序号": n, "姓名": f"导入老人{n}", "身份证号": make_id_number(village[:6], birth_for_age(age), 100 + n, "M" if n % 2 else "F"),
        "性别": "男" if n % 2 else "女", "联系电话": f"1390000{n:04d}", "村（社区）代码": village, "现住址": f"导入路{n}号",
        "户籍地代码": village[:6], "居住情况": "独居", "困难类别": "低保、独居", "紧急联系人": f"子女{n}",
        "紧急联系人电话": f"1370000{n:04d}", "与老人关系": "儿子",
    }
    row.update(cells)
    return row


def write_xlsx(path, rows: list[dict | None], headers=HEADERS, title="花名册"):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(headers)
    for row in rows:
        sheet.append([(row or {}).get(h, "") for h in headers])
    book.save(path)
    return path


def write_csv(path, rows: list[dict | None], headers=HEADERS, encoding="utf-8-sig"):
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        for row in rows:
            writer.writerow([(row or {}).get(h, "") for h in headers])
    return path


def yiyang(*args) -> int:
    """Run the command in a copy of the context: it binds its own request context for the audit."""
    return contextvars.copy_context().run(cli.main, list(args))


def counts() -> tuple[int, int, int, int]:
    return Elder.objects.count(), HardshipStatus.objects.count(), Contact.objects.count(), AuditEntry.objects.count()


def messages(report) -> list[tuple]:
    return [(e.row, e.column, e.message) for e in report.errors]


# --- good files --------------------------------------------------------------------------------

def test_xlsx_import_creates_encrypted_audited_elders(city, tmp_path):
    user = city.user("county_a")
    rows = [person(1), person(2, village="510703001002"), person(3, 状态="死亡", 死亡日期="2024年1月5日")]
    report = import_roster(write_xlsx(tmp_path / "roster.xlsx", rows), acting_user=user)
    assert report.ok, messages(report)
    assert (report.created, report.updated, report.unchanged, report.rows) == (3, 0, 0, 3)
    assert report.sheet == "花名册" and report.header_row == 1

    elder = Elder.objects.get(name="导入老人1")
    assert elder.id_number == rows[0]["身份证号"] and elder.phone == "13900000001"
    assert elder.area_id == "510703001001" and elder.living_arrangement == "alone" and elder.sex == "M"
    assert elder.id_index == crypto.blind_index(elder.id_number, "id")
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, phone FROM people_elder WHERE id = %s", [elder.pk])
        sealed_id, sealed_phone = cursor.fetchone()
    assert elder.id_number not in sealed_id and crypto.decrypt(sealed_id) == elder.id_number
    assert "13900000001" not in sealed_phone
    assert set(elder.hardships.values_list("category", "source")) == {("dibao", "import"), ("living_alone", "import")}
    contact = elder.contacts.get()
    assert (contact.name, contact.relation, contact.phone) == ("子女1", "son", "13700000001")
    dead = Elder.objects.get(name="导入老人3")
    assert dead.status == "deceased" and dead.death_date.isoformat() == "2024-01-05"

    entry = AuditEntry.objects.get(action="create", object_type="people.elder", object_id=str(elder.pk))
    assert entry.actor == user and entry.after["id_number"] == f"{elder.id_number_masked} #{audit.fingerprint(elder.id_number)}"
    assert {k: v for k, v in entry.after.items() if k not in ("hardships", "contact")} == services._snapshot(elder)
    assert entry.after["contact"]["phone"] == "137****0001"
    batch = AuditEntry.objects.get(action="import")
    assert batch.after["created"] == 3 and batch.after["file"] == "roster.xlsx"


def test_csv_import_in_gbk_with_synonym_headings(city, tmp_path):
    headings = [{"身份证号": "公民身份号码", "联系电话": "手机号", "村（社区）代码": " 村(社区)代码 "}.get(h, h) for h in HEADERS]
    rows = [{headings[HEADERS.index(k)]: v for k, v in person(n).items()} for n in (1, 2)]
    path = write_csv(tmp_path / "roster.csv", rows, headers=headings, encoding="gbk")
    report = import_roster(path, acting_user=city.user("county_a"))
    assert report.ok, messages(report)
    assert report.created == 2
    assert Elder.objects.get(name="导入老人2").phone == "13900000002"


def test_reimport_changes_nothing_and_changed_rows_update(city, tmp_path):
    user = city.user("county_a")
    rows = [person(1), person(2)]
    path = write_xlsx(tmp_path / "roster.xlsx", rows)
    assert import_roster(path, acting_user=user).created == 2
    before, stamps = counts(), list(Elder.objects.order_by("pk").values_list("updated_at", flat=True))

    again = import_roster(path, acting_user=user)
    assert again.ok and (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert counts() == before
    assert list(Elder.objects.order_by("pk").values_list("updated_at", flat=True)) == stamps

    rows[1].update({"联系电话": "13911112222", "现住址": "新地址8号", "困难类别": "低保、特困"})
    changed = import_roster(write_xlsx(tmp_path / "changed.xlsx", rows), acting_user=user)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 1)
    elder = Elder.objects.get(name="导入老人2")
    assert (elder.phone, elder.address) == ("13911112222", "新地址8号")
    assert elder.hardships.filter(category="tekun", end_date__isnull=True).exists()
    entry = AuditEntry.objects.filter(action="update", object_id=str(elder.pk)).get()
    old, new = (f"{phone[:3]}****{phone[-4:]} #{audit.fingerprint(phone)}" for phone in ("13900000002", "13911112222"))
    assert entry.before == {"phone": old, "address": "导入路2号"}
    assert entry.after == {"phone": new, "address": "新地址8号", "hardships": ["tekun"]}


def test_large_files_are_written_in_chunks(city, tmp_path, monkeypatch):
    monkeypatch.setattr(importing, "WRITE_CHUNK", 2)
    rows = [person(n, 紧急联系人=f"联系人{n}", 困难类别="特困" if n % 2 else "空巢") for n in range(1, 6)]
    report = import_roster(write_xlsx(tmp_path / "r.xlsx", rows), acting_user=city.user("county_a"))
    assert report.ok and report.created == 5
    for n in range(1, 6):
        elder = Elder.objects.get(name=f"导入老人{n}")
        assert elder.contacts.get().name == f"联系人{n}"
        assert list(elder.hardships.values_list("category", flat=True)) == ["tekun" if n % 2 else "empty_nest"]
        assert AuditEntry.objects.get(action="create", object_id=str(elder.pk)).object_label == elder.name


def test_empty_cells_keep_registry_values(city, tmp_path):
    elder = city.elders["510703"][0]
    row = {"姓名": elder.name, "身份证号": elder.id_number, "村（社区）代码": elder.area_id}
    report = import_roster(write_csv(tmp_path / "r.csv", [row], headers=["姓名", "身份证号", "村（社区）代码"]),
                           acting_user=city.user("county_a"))
    assert report.ok and report.unchanged == 1
    elder.refresh_from_db()
    assert elder.phone and elder.address


def test_empty_rows_are_skipped_and_rows_keep_their_numbers(city, tmp_path):
    rows = [person(1), None, None, person(2, 身份证号="123")]
    report = import_roster(write_xlsx(tmp_path / "r.xlsx", rows), acting_user=city.user("county_a"))
    assert report.skipped_empty == 2 and report.rows == 2
    assert [(e.row, e.column) for e in report.errors] == [(5, "身份证号")]


def test_full_width_digits_are_accepted(city, tmp_path):
    wide = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
    row = person(1)
    number = row["身份证号"]
    row.update({"身份证号": number.translate(wide), "联系电话": "１３９００００１１１１", "村（社区）代码": "５１０７０３００１００１"})
    report = import_roster(write_xlsx(tmp_path / "r.xlsx", [row]), acting_user=city.user("county_a"))
    assert report.ok, messages(report)
    elder = Elder.objects.get(name="导入老人1")
    assert (elder.id_number, elder.phone, elder.area_id) == (number, "13900001111", "510703001001")


def test_template_imports_cleanly_without_its_example_row(city, tmp_path):
    path = tmp_path / "template.xlsx"
    path.write_bytes(roster_template_xlsx())
    report = import_roster(path, acting_user=city.user("county_a"))
    assert report.ok and report.skipped_empty == 1 and report.created == 0
    assert openpyxl.load_workbook(path).sheetnames == ["花名册", "说明"]


def test_dry_run_writes_nothing(city, tmp_path):
    before = counts()
    report = import_roster(write_xlsx(tmp_path / "r.xlsx", [person(1)]), acting_user=city.user("county_a"), dry_run=True)
    assert report.ok and report.created == 1
    assert counts() == before


# --- rejected rows: nothing is written ----------------------------------------------------------

@pytest.mark.parametrize("bad_id", ["5107031945031", "WRONG-CHECK"], ids=["malformed", "checksum"])
def test_bad_id_number_rejects_the_whole_file(city, tmp_path, bad_id):
    rows = [person(1), person(2), person(3)]
    if bad_id == "WRONG-CHECK":
        good = rows[1]["身份证号"]
        bad_id = good[:17] + ("0" if good[17] != "0" else "1")
    rows[1]["身份证号"] = bad_id
    before = counts()
    report = import_roster(write_xlsx(tmp_path / "r.xlsx", rows), acting_user=city.user("county_a"))
    assert not report.ok and report.created == 0
    assert [(e.row, e.column, e.value) for e in report.errors] == [(3, "身份证号", bad_id)]
    assert counts() == before


def test_duplicate_id_within_the_file(city, tmp_path):
    rows = [person(1), person(2), person(3)]
    rows[2]["身份证号"] = rows[0]["身份证号"]
    report = import_roster(write_csv(tmp_path / "r.csv", rows), acting_user=city.user("county_a"))
    assert report.duplicates == [(2, 4)]
    assert messages(report) == [(4, "身份证号", "The same ID number is already on row 2.")]
    assert not Elder.objects.filter(name__startswith="导入老人").exists()


def test_id_registered_in_another_county_is_neither_moved_nor_revealed(city, tmp_path):
    other = city.elders["510704"][0]
    rows = [person(1), person(2, 身份证号=other.id_number, 姓名="冒名")]
    report = import_roster(write_xlsx(tmp_path / "r.xlsx", rows), acting_user=city.user("county_a"))
    assert [(e.row, e.column) for e in report.errors] == [(3, "身份证号")]
    assert "outside your jurisdiction" in report.errors[0].message
    assert other.name not in report.errors[0].message and other.area_id not in report.errors[0].message
    other.refresh_from_db()
    assert other.area_id.startswith("510704") and other.name != "冒名"
    assert not Elder.objects.filter(name="导入老人1").exists()


def test_village_outside_scope_or_area_or_unknown(city, tmp_path):
    user = city.user("county_a")
    rows = [person(1, village="510704001001"), person(2, village="510703001099"), person(3, village="510703001002")]
    report = import_roster(write_xlsx(tmp_path / "r.xlsx", rows), acting_user=user, area="510703001001")
    assert [(e.row, e.column) for e in report.errors] == [(2, "村（社区）代码"), (3, "村（社区）代码"), (4, "村（社区）代码")]
    assert "outside your jurisdiction" in report.errors[0].message
    assert "not under area 510703001001" in report.errors[2].message
    wrong_area = import_roster(tmp_path / "r.xlsx", acting_user=user, area="510704")
    assert wrong_area.errors[0].row is None and "outside your jurisdiction" in wrong_area.errors[0].message
    assert not Elder.objects.filter(name__startswith="导入老人").exists()


def test_unknown_village_and_other_field_errors_name_row_and_column(city, tmp_path):
    rows = [person(1, village="510703001009"), person(2, 居住情况="住桥下", 困难类别="低保、富裕", 状态="在世", 死亡日期="2024-01-01")]
    report = import_roster(write_xlsx(tmp_path / "r.xlsx", rows), acting_user=city.user("county_a"))
    assert [(e.row, e.column) for e in report.errors] == [
        (2, "村（社区）代码"), (3, "居住情况"), (3, "困难类别"), (3, "死亡日期")]
    assert "There is no village with code 510703001009." in report.errors[0].message


def test_dates_as_partial_text_are_rejected_full_text_dates_accepted(city, tmp_path):
    row = person(1)
    birth = birth_for_age(75)
    good = person(2, 出生日期=f"{birth.year}年{birth.month}月{birth.day}日")
    row["出生日期"] = "1945年3月"
    report = import_roster(write_xlsx(tmp_path / "r.xlsx", [row, good]), acting_user=city.user("county_a"))
    assert [(e.row, e.column) for e in report.errors] == [(2, "出生日期")]
    assert "has no day" in report.errors[0].message


def test_sex_and_birth_date_are_cross_checked(city, tmp_path):
    rows = [person(1, 性别="女"), person(2, 出生日期="1950-01-01")]
    report = import_roster(write_xlsx(tmp_path / "r.xlsx", rows), acting_user=city.user("county_a"))
    assert messages(report) == [(2, "性别", "The sex does not match the ID number."),
                                (3, "出生日期", "The birth date does not match the ID number.")]


def test_id_number_stored_as_excel_number_is_rejected_unless_exact(city, tmp_path):
    legacy = make_id_number("510703", birth_for_age(80), 130, "F")
    rows = [person(1, 身份证号=int(person(1)["身份证号"][:17] + "1")),  # 18 digits: Excel keeps 15
            person(2, 身份证号=int(legacy[:6] + legacy[8:17]))]  # a 15-digit number is exact
    report = import_roster(write_xlsx(tmp_path / "r.xlsx", rows), acting_user=city.user("county_a"))
    assert [(e.row, e.column) for e in report.errors] == [(2, "身份证号")]
    assert "stored as a number" in report.errors[0].message
    assert import_roster(write_xlsx(tmp_path / "legacy.xlsx", rows[1:]), acting_user=city.user("county_a")).created == 1


# --- the file as a whole -----------------------------------------------------------------------

def test_missing_required_columns_and_merged_header(city, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["序号", "姓名", "身份证号", "居住地", None])
    sheet.append([None, None, None, "村（社区）代码", "现住址"])
    sheet.merge_cells("D1:E1")
    sheet.append([1, "某人", person(1)["身份证号"], "510703001001", "某路"])
    book.save(tmp_path / "r.xlsx")
    report = import_roster(tmp_path / "r.xlsx", acting_user=city.user("county_a"))
    assert [e.row for e in report.errors] == [1, 1]
    assert "has no column 村（社区）代码" in report.errors[0].message
    assert "merged cells (D1:E1)" in report.errors[1].message


def test_roster_on_another_sheet_is_found_and_wrong_sheet_is_named(city, tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "统计"
    book.active.append(["乡镇", "人数"])
    book.save(tmp_path / "wrong.xlsx")
    report = import_roster(tmp_path / "wrong.xlsx", acting_user=city.user("county_a"))
    assert report.errors[0].row is None
    assert "No sheet has the roster header" in report.errors[0].message and "统计" in report.errors[0].message

    roster = book.create_sheet("花名册")
    roster.append(HEADERS)
    roster.append([person(1).get(h, "") for h in HEADERS])
    book.save(tmp_path / "second.xlsx")
    found = import_roster(tmp_path / "second.xlsx", acting_user=city.user("county_a"))
    assert found.ok and found.sheet == "花名册" and found.created == 1


def test_header_below_a_title_row(city, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["某某街道老年人花名册"])
    sheet.append([])
    sheet.append(HEADERS)
    sheet.append([person(1).get(h, "") for h in HEADERS])
    sheet.append([person(2, 身份证号="1").get(h, "") for h in HEADERS])
    book.save(tmp_path / "r.xlsx")
    report = import_roster(tmp_path / "r.xlsx", acting_user=city.user("county_a"))
    assert report.header_row == 3 and [e.row for e in report.errors] == [5]


def test_table_starting_in_column_b_keeps_row_numbers(city, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    for offset, row in enumerate([{h: h for h in HEADERS}, person(1), person(2, 联系电话="1")]):
        for column, heading in enumerate(HEADERS, start=2):
            sheet.cell(row=3 + offset, column=column, value=row.get(heading))
    book.save(tmp_path / "r.xlsx")
    report = import_roster(tmp_path / "r.xlsx", acting_user=city.user("county_a"))
    assert report.header_row == 3 and [(e.row, e.column) for e in report.errors] == [(5, "联系电话")]


def test_legacy_15_digit_id_number_is_converted(city, tmp_path):
    number = make_id_number("510703", birth_for_age(80), 120)
    legacy = number[:6] + number[8:17]
    report = import_roster(write_csv(tmp_path / "r.csv", [person(1, 身份证号=legacy)]), acting_user=city.user("county_a"))
    assert report.ok, messages(report)
    elder = Elder.objects.get(name="导入老人1")
    assert elder.id_number == number and elder.id_converted_from_15


@override_settings(IMPORT_MAX_BYTES=1000)
def test_file_over_the_size_limit_is_refused(city, tmp_path):
    path = write_csv(tmp_path / "r.csv", [person(n) for n in range(1, 30)])
    assert path.stat().st_size > 1000
    report = import_roster(path, acting_user=city.user("county_a"))
    assert report.errors[0].row is None and "larger than" in report.errors[0].message
    with open(path, "rb") as handle:
        assert "larger than" in import_roster(handle, acting_user=city.user("county_a")).errors[0].message
    assert not Elder.objects.filter(name__startswith="导入老人").exists()


def test_zip_bomb_is_refused_before_parsing(city, tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (16 * 1024 * 1024))
    assert path.stat().st_size < 100_000
    report = import_roster(path, acting_user=city.user("county_a"))
    assert report.errors[0].row is None and "zip bomb" in report.errors[0].message


def test_zip_with_lying_sizes_is_refused(city, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>" * 1000)
    data = bytearray(buffer.getvalue())
    central = data.rindex(b"PK\x01\x02")
    data[central + 24:central + 28] = (20).to_bytes(4, "little")  # declared uncompressed size
    (tmp_path / "lying.xlsx").write_bytes(bytes(data))
    report = import_roster(tmp_path / "lying.xlsx", acting_user=city.user("county_a"))
    assert "damaged" in report.errors[0].message


@pytest.mark.parametrize("name, content, message", [
    ("notes.xlsx", "姓名,身份证号\n张三,1\n".encode(), "is not an .xlsx workbook"),
    ("old.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old .xls"),
    ("roster.csv", b"\x89PNG\r\n\x1a\n\0\0\0", "is not a CSV text file"),
    ("roster.txt", b"a,b\n", "Only .xlsx workbooks and .csv files"),
    ("other.xlsx", b"PK\x03\x04" + b"\0" * 100, "damaged"),
])
def test_content_must_match_an_accepted_format(city, tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    report = import_roster(tmp_path / name, acting_user=city.user("county_a"))
    assert report.errors[0].row is None and message in report.errors[0].message


def test_binary_file_object_and_permission(city, tmp_path):
    data = write_csv(tmp_path / "r.csv", [person(1)]).read_bytes()
    report = import_roster(io.BytesIO(data), acting_user=city.user("county_a"), filename="上传.csv")
    assert report.ok and report.filename == "上传.csv" and report.created == 1
    with pytest.raises(PermissionDenied):
        import_roster(io.BytesIO(data), acting_user=city.user("agent"), filename="r.csv")


def test_error_report_lists_every_error(city, tmp_path):
    rows = [person(1, 身份证号="1"), person(2, 联系电话="12")]
    report = import_roster(write_xlsx(tmp_path / "r.xlsx", rows), acting_user=city.user("county_a"))
    sheet = openpyxl.load_workbook(io.BytesIO(error_report_xlsx(report))).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("行号", "列", "内容", "问题")
    assert [(r[0], r[1], r[2]) for r in values[1:]] == [(2, "身份证号", "1"), (3, "联系电话", "12")]


# --- the command -------------------------------------------------------------------------------

def test_cli_exit_codes_and_error_report(city, tmp_path, capsys):
    good = write_xlsx(tmp_path / "good.xlsx", [person(1), person(2)])
    assert yiyang("import", "elders", str(good), "--user", "t-county-a", "--dry-run") == 0
    assert not Elder.objects.filter(name__startswith="导入老人").exists()
    assert yiyang("import", "elders", str(good), "--user", "t-county-a") == 0
    assert "2 new" in capsys.readouterr().out
    assert yiyang("import", "elders", str(good), "--user", "t-county-a") == 0
    assert "2 unchanged" in capsys.readouterr().out
    assert AuditEntry.objects.get(action="import").channel == "cli"

    bad = write_xlsx(tmp_path / "bad.xlsx", [person(3), person(4, 身份证号="510703")])
    assert yiyang("import", "elders", str(bad), "--user", "t-county-a") == 1
    err = capsys.readouterr().err
    assert "row 3 身份证号" in err
    assert (tmp_path / "bad.errors.xlsx").exists()
    assert not Elder.objects.filter(name="导入老人3").exists()
    assert yiyang("import", "elders", str(tmp_path / "missing.xlsx"), "--user", "t-county-a") == 1


def test_cli_default_user_is_the_city_official(city, tmp_path):
    path = write_csv(tmp_path / "r.csv", [person(1, village="510704001001")])
    assert yiyang("import", "elders", str(path)) == 0
    assert AuditEntry.objects.get(action="import").actor == city.user("city")
