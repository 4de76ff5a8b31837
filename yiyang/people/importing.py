"""Roster import (花名册导入): all rows or none, fast, audited.

1. Refuse unsafe files before any parser sees them: too big, content that is not
   what the name says (magic bytes), zip bombs.
2. Find the sheet whose header row names the roster columns (``roster.py``).
3. Clean every row with the registry's own rules (``validation.py``), with no
   query per row: villages are checked in one query, ID numbers by blind index
   in batches.
4. Only if no row failed: in one transaction, create new elders, update changed
   ones, add hardships and contacts, and audit each elder, through COPY
   (``core.bulk``). Identical rows are left alone: a re-import writes nothing,
   not even the batch's audit entry, since nothing changed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from itertools import chain, islice
from operator import itemgetter
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.areas.models import Area, Level
from yiyang.core import audit, bulk, context, crypto
from yiyang.core.errors import PermissionDenied
from yiyang.core.masking import mask_id_number, mask_phone
from yiyang.core.models import AuditAction, AuditEntry
from yiyang.core.scoping import code_in_scope

from . import roster, rules, validation
from .models import Contact, Elder, ElderStatus, HardshipSource, HardshipStatus

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls and password-protected workbooks
XLSX_MAX_MEMBERS = 10_000
XLSX_MAX_UNCOMPRESSED = 1024**3  # all members together
XLSX_MAX_RATIO = 100  # uncompressed / compressed, for members over 1 MB
HEADER_SEARCH_ROWS = 20
QUERY_BATCH = 5000
WRITE_CHUNK = 20_000


@dataclass(frozen=True)
class RowError:
    row: int | None  # the row number the clerk sees; None for the file as a whole
    column: str  # the heading as written in the file
    value: str
    message: str


@dataclass
class ImportReport:
    filename: str = ""
    sheet: str = ""
    header_row: int = 0
    rows: int = 0  # data rows read, empty ones not counted
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_empty: int = 0
    errors: list[RowError] = field(default_factory=list)
    duplicates: list[tuple[int, int]] = field(default_factory=list)  # (first row, repeated row)
    ignored_columns: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rejected_rows(self) -> int:
        return len({error.row for error in self.errors if error.row is not None})


class _Rejected(Exception):
    """The file cannot be imported at all; ``errors`` say why."""

    def __init__(self, *errors: RowError):
        super().__init__(errors[0].message)
        self.errors = list(errors)


def _file_error(message: str, value: str = "") -> _Rejected:
    return _Rejected(RowError(None, "", value, message))


def import_roster(source, *, acting_user, area: str | None = None, dry_run: bool = False,
                  filename: str | None = None) -> ImportReport:
    """Import a roster (.xlsx or .csv, a path or a binary file object) as ``acting_user``.

    Every row is validated first; if any fails, nothing is written. ``area``
    restricts the rows to one area inside the user's jurisdiction.
    """
    if not acting_user.has_perm("people.import_elders"):
        raise PermissionDenied(_("You do not have permission to do this."))
    report = ImportReport(dry_run=dry_run)
    today = timezone.localdate()
    try:
        data, report.filename = _read_source(source, filename)
        area = _check_area(area, acting_user)
        tables = _open_tables(data, report.filename)
        rows, id_heading = _clean_table(tables, report, acting_user=acting_user, area=area, today=today)
    except _Rejected as rejected:
        report.errors.extend(rejected.errors)
        return report
    if report.errors:
        return report
    with nullcontext() if dry_run else transaction.atomic():
        if not dry_run:
            _lock_registry()
        plan = _plan(rows, report, acting_user=acting_user, today=today, id_heading=id_heading)
        if report.errors:
            return report
        report.created, report.updated, report.unchanged = len(plan.new), len(plan.changed), plan.unchanged
        if not dry_run and (plan.new or plan.changed):
            _write(plan, report, acting_user=acting_user, area=area, today=today)
    return report


# --- 1. The file -------------------------------------------------------------------------------

def _read_source(source, filename: str | None) -> tuple[bytes, str]:
    """The file's bytes, refusing anything over IMPORT_MAX_BYTES before reading it all."""
    limit = settings.IMPORT_MAX_BYTES
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.stat().st_size > limit:
            raise _too_big(limit)
        return path.read_bytes(), filename or path.name
    data = source.read(limit + 1)
    if len(data) > limit:
        raise _too_big(limit)
    return data, filename or Path(getattr(source, "name", "") or "").name


def _too_big(limit: int) -> _Rejected:
    return _file_error(_("The file is larger than %(limit)s, the most that can be imported.")
                       % {"limit": filesizeformat(limit)})


def _check_area(area: str | None, acting_user) -> str:
    """The area prefix rows must lie under: ``area`` if given and allowed, else the user's scope."""
    if not area:
        return "" if acting_user.is_superuser else acting_user.scope_code
    area = area.strip()
    if not (acting_user.is_superuser or code_in_scope(area, acting_user.scope_code)):
        raise _file_error(_("Area %(code)s is outside your jurisdiction.") % {"code": area})
    if not Area.objects.filter(code=area).exists():
        raise _file_error(_("There is no area with code %(code)s.") % {"code": area})
    return area


@dataclass
class _Table:
    """Rows of one sheet (or the CSV), each a list of cell values, numbered from 1."""

    sheet: str
    rows: Iterator[list]
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)


def _open_tables(data: bytes, name: str) -> list[_Table]:
    """The file's sheets, after checking the content is what the name says."""
    suffix = Path(name).suffix.lower()
    if suffix not in ("", ".xlsx", ".csv"):
        raise _file_error(_("Only .xlsx workbooks and .csv files can be imported."), name)
    if data.startswith(OLE_MAGIC):
        raise _file_error(_("This is an old .xls or a password-protected workbook: save it as .xlsx without a password."), name)
    if data.startswith(ZIP_MAGIC) and suffix != ".csv":
        _check_zip(data)
        return _xlsx_tables(data)
    if suffix != ".xlsx" and b"\x00" not in data[:65536]:
        return [_csv_table(data)]
    if suffix == ".xlsx":
        raise _file_error(_("“%(name)s” is not an .xlsx workbook: its content does not match its name.") % {"name": name}, name)
    raise _file_error(_("“%(name)s” is not a CSV text file.") % {"name": name or "?"}, name)


def _check_zip(data: bytes) -> None:
    """Refuse zip bombs and non-workbooks before the parser inflates anything.

    Declared sizes are checked first; then each member is inflated (and dropped)
    to prove its declared size, since a crafted archive can understate it.
    """
    damaged = _file_error(_("The workbook is damaged: it cannot be opened as .xlsx."))
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise damaged from None
    if len(members) > XLSX_MAX_MEMBERS or "xl/workbook.xml" not in {m.filename for m in members}:
        raise _file_error(_("The file is a zip archive but not an .xlsx workbook."))
    if sum(m.file_size for m in members) > XLSX_MAX_UNCOMPRESSED or any(
            m.file_size > 1024**2 and m.file_size > XLSX_MAX_RATIO * max(m.compress_size, 1) for m in members):
        raise _file_error(_("The workbook unpacks to an absurd size (a “zip bomb”); it was not opened."))
    for member in members:
        if _inflated_size(data, member) != member.file_size:
            raise damaged


def _inflated_size(data: bytes, member: zipfile.ZipInfo) -> int | None:
    """The real size of one member, counting no further than just past its declared size; None if unreadable."""
    offset = member.header_offset
    if (data[offset:offset + 4] != ZIP_MAGIC or len(data) < offset + 30
            or member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)):
        return None
    name_length, extra_length = struct.unpack_from("<HH", data, offset + 26)
    start = offset + 30 + name_length + extra_length
    if member.compress_type == zipfile.ZIP_STORED:
        return len(data[start:start + member.compress_size])
    pending = memoryview(data)[start:start + member.compress_size]
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    size = 0
    try:
        while pending and size <= member.file_size:
            size += len(inflater.decompress(pending, 1 << 20))
            pending = inflater.unconsumed_tail
        return size + len(inflater.flush())
    except zlib.error:
        return None


def _xlsx_tables(data: bytes) -> list[_Table]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        tables = []
        for name in book.sheet_names:
            sheet = book.get_sheet_by_name(name)
            tables.append(_Table(name, _sheet_rows(sheet), sheet.merged_cell_ranges or []))
        return tables
    except CalamineError:
        raise _file_error(_("The workbook is damaged: it cannot be opened as .xlsx.")) from None


def _sheet_rows(sheet) -> Iterator[list]:
    """Rows from row 1 and column A, whatever empty margin calamine trimmed."""
    first_column = sheet.start[1] if sheet.start else 0
    pad = [""] * first_column
    for row in sheet.iter_rows():
        yield pad + row if first_column else row


def _csv_table(data: bytes) -> _Table:
    """Rows of a CSV in UTF-8 (with or without BOM) or GBK/GB18030, decoded as they are read."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            sample = data.decode(encoding)[:8192]  # decoding it all proves the encoding
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _file_error(_("The CSV file is neither UTF-8 nor GBK/GB18030 text."))
    delimiter = max(",\t;", key=sample.count)  # whichever separates the first rows most
    text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    return _Table("", csv.reader(text, delimiter=delimiter))


# --- 2. The header -----------------------------------------------------------------------------

@dataclass
class _Header:
    table: _Table
    row: int  # 1-based
    positions: dict[str, int]  # column key -> 0-based cell index
    headings: dict[str, str]  # column key -> heading as written
    ignored: list[str]
    data: list[list]  # rows already read after the header


def _find_header(tables: list[_Table]) -> _Header:
    """The row (in the first 20 of any sheet) naming the most roster columns."""
    best: tuple[int, _Table, int, list, list[list]] | None = None
    for table in tables:
        head = list(islice(table.rows, HEADER_SEARCH_ROWS))
        for index, cells in enumerate(head):
            found = {roster.column_key(cell) for cell in cells if isinstance(cell, str)} - {None}
            if len(found) >= 2 and (best is None or len(found) > best[0]):
                best = (len(found), table, index + 1, cells, head[index + 1:])
    if best is None:
        names = "、".join(t.sheet or "CSV" for t in tables) or "-"
        raise _file_error(_("No sheet has the roster header (a row with %(columns)s); sheets found: %(sheets)s.")
                          % {"columns": "、".join(c.header for c in roster.REQUIRED), "sheets": names})
    _score, table, row, cells, data = best
    return _header_columns(table, row, cells, data)


def _header_columns(table: _Table, row: int, cells: list, data: list[list]) -> _Header:
    positions: dict[str, int] = {}
    headings: dict[str, str] = {}
    ignored, errors = [], []
    for index, cell in enumerate(cells):
        heading = str(cell).strip() if cell not in (None, "") else ""
        key = roster.column_key(heading)
        if key is None:
            if heading:
                ignored.append(heading)
        elif key in positions:
            errors.append(RowError(row, heading, heading, _("Two columns mean %(column)s (“%(first)s” and “%(second)s”): keep one.")
                                   % {"column": roster.BY_KEY[key].header, "first": headings[key], "second": heading}))
        else:
            positions[key], headings[key] = index, heading
    missing = [c.header for c in roster.REQUIRED if c.key not in positions]
    if missing:
        where = _("sheet “%(sheet)s”, row %(row)d") % {"sheet": table.sheet, "row": row} if table.sheet else _("row %(row)d") % {"row": row}
        errors.append(RowError(row, "", "、".join(missing), _("The header row (%(where)s) has no column %(columns)s.")
                               % {"where": where, "columns": "、".join(missing)}))
        merged = _merged_near(table, row)
        if merged:
            errors.append(RowError(row, "", merged, _("The header has merged cells (%(cells)s): use one header row with "
                                                      "one heading per column.") % {"cells": merged}))
    if errors:
        raise _Rejected(*errors)
    return _Header(table, row, positions, headings, ignored, data)


def _merged_near(table: _Table, row: int) -> str:
    from openpyxl.utils import get_column_letter

    def ref(r, c):
        return f"{get_column_letter(c + 1)}{r + 1}"

    return ", ".join(f"{ref(*start)}:{ref(*end)}" for start, end in table.merged if start[0] <= row and end[0] >= row - 2)


# --- 3. The rows -------------------------------------------------------------------------------

@dataclass(slots=True)
class _Row:
    """One cleaned row. ``None`` means the cell was empty: the registry's value stays."""

    row: int
    id_text: str
    number: str
    id_index: str
    birth_date: dt.date
    sex: str
    converted: bool
    name: str
    area_code: str
    phone: str | None = None
    address: str | None = None
    hukou_area_code: str | None = None
    living_arrangement: str | None = None
    hardships: tuple[str, ...] = ()
    contact: tuple[str, str, str] | None = None  # name, relation, phone
    status: str | None = None
    death_date: dt.date | None = None


_SCIENTIFIC = re.compile(r"^\d(\.\d+)?e\+?\d+$", re.IGNORECASE)


def _plain(value) -> str:
    """A cell as text, as written: numbers without a trailing .0, dates as 1945-03-12."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _code(value) -> str:
    """A cell holding digits (codes, phones): full-width digits made ASCII."""
    text = _plain(value)
    return text if text.isascii() else unicodedata.normalize("NFKC", text).strip()


def _living_arrangement(text: str) -> str:
    return validation.clean_living_arrangement(roster.LIVING.value(text) or text)


# Columns an empty cell leaves unchanged: key -> (reads the cell as, cleans it).
_OPTIONAL = {
    "phone": (_code, rules.normalize_phone),
    "address": (_plain, lambda text: validation.clean_text(text, 200)),
    "hukou_area_code": (_code, validation.clean_hukou_area_code),
    "living_arrangement": (_plain, _living_arrangement),
}


class _RowCleaner:
    """Applies the registry's field rules (validation.py) to each row, collecting every error."""

    def __init__(self, header: _Header, report: ImportReport, *, acting_user, area: str, today: dt.date):
        self.header = header
        self.report = report
        self.acting_user = acting_user
        self.area = area
        self.today = today
        self.optional = [key for key in _OPTIONAL if key in header.positions]
        self.keys = tuple(header.positions)
        self.pick = itemgetter(*header.positions.values())
        self.width = max(header.positions.values()) + 1
        self.villages: dict[str, str | None] = {}  # code -> error message, or None when allowed
        self.rows_by_village: dict[str, list[int]] = {}
        self.first_row: dict[str, int] = {}  # ID number -> first row it appeared on
        self.hardship_words: dict[str, tuple[tuple[str, ...], list[str]]] = {}

    def fail(self, row: int, key: str, value, message) -> None:
        self.report.errors.append(RowError(row, self.header.headings.get(key, roster.BY_KEY[key].header),
                                           _plain(value), str(message)))

    def cells(self, values: list) -> dict | None:
        """Cells by column key, stripped; None for an empty row or the template's example row."""
        if len(values) < self.width:
            values = [*values, *[""] * (self.width - len(values))]
        cells = {key: value.strip() if isinstance(value, str) else ("" if value is None else value)
                 for key, value in zip(self.keys, self.pick(values), strict=True)}
        seq = cells.pop("seq", "")
        if seq == roster.EXAMPLE_MARK or all(value == "" for value in cells.values()):
            return None
        return cells

    def clean(self, row: int, cells: dict) -> _Row | None:
        """The row's values, or None after recording every problem it has."""
        errors_before = len(self.report.errors)
        identity = self.identity(row, cells)
        name = cells.get("name", "")
        try:
            name = validation.clean_name(_plain(name))
        except ValueError as exc:
            self.fail(row, "name", name, exc)
        area_code = self.village(row, cells.get("area_code", ""))
        values = {}
        for key in self.optional:
            value = cells[key]
            if value != "":
                read, clean = _OPTIONAL[key]
                try:
                    values[key] = clean(read(value))
                except ValueError as exc:
                    self.fail(row, key, value, exc)
        if cells.get("hardships", ""):
            values["hardships"] = self.hardships(row, cells["hardships"])
        values["contact"] = self.contact(row, cells)
        values["status"], values["death_date"] = self.status(row, cells, identity[2] if identity else None)
        if identity is None or len(self.report.errors) > errors_before:
            return None
        return _Row(row, _plain(cells["id_number"]), *identity, name=name, area_code=area_code, **values)

    def identity(self, row: int, cells: dict) -> tuple | None:
        """(number, blind index, birth date, sex, converted) from the ID number, cross-checked."""
        raw = cells.get("id_number", "")
        text = _code(raw)
        if _SCIENTIFIC.match(text) or (isinstance(raw, (int, float)) and not (raw == int(raw) and raw < 10**15)):
            # Excel keeps 15 significant digits: an 18-digit number has lost its last ones for good.
            self.fail(row, "id_number", raw, _("The ID number was stored as a number and lost digits: format the "
                                              "column as text and type the number again."))
            return None
        if "*" in text:
            self.fail(row, "id_number", raw, _("The ID number is masked (*): the import needs the full number."))
            return None
        try:
            parsed = validation.clean_id_number(text, self.today)
        except ValueError as exc:
            self.fail(row, "id_number", raw, exc)
            return None
        first = self.first_row.setdefault(parsed.number, row)
        if first != row:
            self.fail(row, "id_number", raw, _("The same ID number is already on row %(row)d.") % {"row": first})
            self.report.duplicates.append((first, row))
        self.cross_check(row, cells, parsed)
        return (parsed.number, crypto.blind_index(parsed.number, "id"), parsed.birth_date, parsed.sex,
                parsed.converted_from_15)

    def cross_check(self, row: int, cells: dict, parsed) -> None:
        """性别 and 出生日期 are optional, but must agree with the ID number when given."""
        sex = cells.get("sex", "")
        if sex != "":
            try:
                code = roster.SEX.value(_plain(sex))
                if code is None:
                    raise ValueError(_("Write 男 or 女."))
                validation.check_sex_matches(code, parsed)
            except ValueError as exc:
                self.fail(row, "sex", sex, exc)
        birth = cells.get("birth_date", "")
        if birth != "" and birth != parsed.birth_date.isoformat():  # the usual spelling needs no parsing
            try:
                validation.check_birth_date_matches(birth if isinstance(birth, dt.date) else _code(birth), parsed)
            except ValueError as exc:
                self.fail(row, "birth_date", birth, exc)

    def village(self, row: int, value) -> str:
        """The village code if allowed; whether it exists is checked for all rows at once, later."""
        code = _code(value)
        if code not in self.villages:
            self.villages[code] = self.village_problem(code)
        problem = self.villages[code]
        if problem:
            self.fail(row, "area_code", value, problem)
        else:
            self.rows_by_village.setdefault(code, []).append(row)
        return code

    def village_problem(self, code: str) -> str | None:
        try:
            validation.check_village_code(code)
            validation.check_in_scope(code, self.acting_user)
        except ValueError as exc:
            return str(exc)
        if not code.startswith(self.area):
            return _("Village %(code)s is not under area %(area)s.") % {"code": code, "area": self.area}
        return None

    def hardships(self, row: int, value) -> tuple[str, ...]:
        """Categories named in the cell (高龄 accepted and dropped: it follows from the birth date)."""
        text = _plain(value)
        if text not in self.hardship_words:
            words = [(word, roster.HARDSHIP.value(word)) for word in roster.split_hardships(text)]
            known = tuple(dict.fromkeys(v for _word, v in words if v and v != "advanced_age"))
            self.hardship_words[text] = known, [word for word, v in words if v is None]
        known, unknown = self.hardship_words[text]
        for word in unknown:
            self.fail(row, "hardships", value, _("Unknown hardship category “%(value)s”.") % {"value": word})
        return known

    def contact(self, row: int, cells: dict) -> tuple[str, str, str] | None:
        name, relation = _plain(cells.get("contact_name", "")), _plain(cells.get("contact_relation", ""))
        phone = _code(cells.get("contact_phone", ""))
        if not (name or phone or relation):
            return None
        try:
            if not name:
                raise ValueError(_("Enter the contact's name."))
            name = validation.clean_text(name, 64)
        except ValueError as exc:
            self.fail(row, "contact_name", name, exc)
        try:
            phone = rules.normalize_phone(phone)
        except ValueError as exc:
            self.fail(row, "contact_phone", phone, exc)
        value = roster.RELATION.value(relation) if relation else "other"
        if value is None:
            self.fail(row, "contact_relation", relation, _("Unknown relation “%(value)s”.") % {"value": relation})
        return name, value or "other", phone

    def status(self, row: int, cells: dict, birth: dt.date | None) -> tuple[str | None, dt.date | None]:
        """状态 and 死亡日期 together: a date of death alone means 死亡."""
        text, death = _plain(cells.get("status", "")), cells.get("death_date", "")
        status = roster.STATUS.value(text) if text else None
        if text and status is None:
            self.fail(row, "status", text, _("Unknown status “%(value)s”.") % {"value": text})
            return None, None
        if death == "":
            if status == ElderStatus.DECEASED:
                self.fail(row, "death_date", "", _("Enter the date of death."))
            return status, None
        if status not in (None, ElderStatus.DECEASED):
            self.fail(row, "death_date", death, _("A date of death needs the status 死亡."))
            return status, None
        try:
            day = validation.clean_death_date(death if isinstance(death, dt.date) else _code(death), birth, self.today)
        except ValueError as exc:
            self.fail(row, "death_date", death, exc)
            return status, None
        return ElderStatus.DECEASED, day

    def check_villages_exist(self) -> None:
        """One query for all the file's villages; rows naming a missing one fail."""
        codes = list(self.rows_by_village)
        found = set()
        for start in range(0, len(codes), QUERY_BATCH):
            found.update(Area.objects.filter(code__in=codes[start:start + QUERY_BATCH], level=Level.VILLAGE)
                         .values_list("code", flat=True))
        for code in codes:
            if code not in found:
                for row in self.rows_by_village[code]:
                    self.fail(row, "area_code", code, _("There is no village with code %(code)s.") % {"code": code})


def _clean_table(tables: list[_Table], report: ImportReport, *, acting_user, area: str,
                 today: dt.date) -> tuple[list[_Row], str]:
    """Pass one: every row cleaned, every error collected, nothing written. Also the ID column's heading."""
    header = _find_header(tables)
    report.sheet, report.header_row, report.ignored_columns = header.table.sheet, header.row, header.ignored
    cleaner = _RowCleaner(header, report, acting_user=acting_user, area=area, today=today)
    rows: list[_Row] = []
    number = header.row
    for values in chain(header.data, header.table.rows):
        number += 1
        cells = cleaner.cells(values)
        if cells is None:
            report.skipped_empty += 1
            continue
        report.rows += 1
        clean = cleaner.clean(number, cells)
        if clean is not None:
            rows.append(clean)
    cleaner.check_villages_exist()
    report.errors.sort(key=lambda e: (e.row or 0))
    return rows, header.headings["id_number"]


# --- 4. The registry ---------------------------------------------------------------------------

@dataclass
class _Existing:
    id: int
    name: str
    phone_sealed: str
    phone_index: str
    area_code: str
    address: str
    hukou_area_code: str
    living_arrangement: str
    status: str
    death_date: dt.date | None
    moved_away_date: dt.date | None


@dataclass
class _Change:
    """A registered elder whose row brings something new."""

    row: _Row
    before: _Existing
    fields: dict  # changed field -> new value
    hardships: list[str]  # categories to open
    contact_priority: int | None  # call order of the contact to add; None: the contact is known


@dataclass
class _Plan:
    new: list[_Row] = field(default_factory=list)
    changed: list[_Change] = field(default_factory=list)
    unchanged: int = 0


def _lock_registry() -> None:
    """Serialise imports and registrations so ID numbers and ids cannot race (SQLite locks on BEGIN)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Elder._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")


def _plan(rows: list[_Row], report: ImportReport, *, acting_user, today: dt.date, id_heading: str) -> _Plan:
    """Pass two: match ID numbers against the registry and decide what to write."""
    existing = _existing_elders([row.id_index for row in rows])
    ids = [e.id for e in existing.values()]
    open_hardships = _open_hardships(ids)
    contacts = _contacts(ids)
    plan = _Plan()
    for row in rows:
        before = existing.get(row.id_index)
        if before is None:
            plan.new.append(row)
        elif not (acting_user.is_superuser or code_in_scope(before.area_code, acting_user.scope_code)):
            report.errors.append(RowError(row.row, id_heading, row.id_text, _(
                "This person is registered in an area outside your jurisdiction; ask the city to transfer them.")))
        else:
            known = contacts.get(before.id, [])
            change = _Change(row, before, _changes(row, before, today),
                             [c for c in row.hardships if c not in open_hardships.get(before.id, ())],
                             len(known) + 1 if row.contact and not _has_contact(known, row.contact) else None)
            if change.fields or change.hardships or change.contact_priority:
                plan.changed.append(change)
            else:
                plan.unchanged += 1
    return plan


def _existing_elders(indexes: list[str]) -> dict[str, _Existing]:
    """The registry's values for the file's ID numbers (phones stay sealed: most rows are not changed)."""
    fields = ["id_index", "id", "name", "phone", "phone_index", "area", "address", "hukou_area_code",
              "living_arrangement", "status", "death_date", "moved_away_date"]
    return {index: _Existing(*values) for index, *values in _select_in(Elder, fields, "id_index", indexes)}


def _open_hardships(elder_ids: list[int]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for elder_id, category in _select_in(HardshipStatus, ["elder", "category"], "elder", elder_ids, "end_date IS NULL"):
        found.setdefault(elder_id, set()).add(category)
    return found


def _contacts(elder_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    for elder_id, name, phone_index in _select_in(Contact, ["elder", "name", "phone_index"], "elder", elder_ids):
        found.setdefault(elder_id, []).append((name, phone_index))
    return found


def _select_in(model, fields: list[str], key: str, keys: list, condition: str = "") -> Iterator[tuple]:
    """Database values of ``fields`` for rows whose ``key`` is in ``keys``, in batches.

    Raw SQL on purpose: values stay as stored (ciphertext is not decrypted), and
    PostgreSQL gets one array parameter instead of thousands (the ORM's IN list
    costs more to build than the query takes to run).
    """
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in bulk.column_names(model, fields))
    key_column = quote(bulk.column_names(model, [key])[0])
    sql = f"SELECT {columns} FROM {quote(model._meta.db_table)} WHERE {condition + ' AND ' if condition else ''}"
    with connection.cursor() as cursor:
        for start in range(0, len(keys), QUERY_BATCH):
            batch = keys[start:start + QUERY_BATCH]
            if connection.vendor == "postgresql":
                cursor.execute(f"{sql}{key_column} = ANY(%s)", [batch])
            else:
                cursor.execute(f"{sql}{key_column} IN ({', '.join(['%s'] * len(batch))})", batch)
            yield from cursor.fetchall()


def _has_contact(known: list[tuple[str, str]], contact: tuple[str, str, str]) -> bool:
    """A contact is already there when one has the same name or the same phone."""
    name, _relation, phone = contact
    index = crypto.blind_index(phone, "phone") if phone else None
    return any(name == n or (index and index == i) for n, i in known)


def _changes(row: _Row, before: _Existing, today: dt.date) -> dict:
    """Fields whose value in the row differs from the registry (empty cells change nothing)."""
    changes = {}
    if row.name != before.name:
        changes["name"] = row.name
    if row.phone is not None and (crypto.blind_index(row.phone, "phone") if row.phone else "") != before.phone_index:
        changes["phone"] = row.phone
    if row.area_code != before.area_code:
        changes["area"] = row.area_code
    for key, old in (("address", before.address), ("hukou_area_code", before.hukou_area_code),
                     ("living_arrangement", before.living_arrangement)):
        new = getattr(row, key)
        if new is not None and new != old:
            changes[key] = new
    if row.status is not None and row.status != before.status:
        changes["status"] = row.status
        if before.status == ElderStatus.DECEASED:
            changes["death_date"] = None
        if row.status == ElderStatus.MOVED_AWAY:
            changes["moved_away_date"] = today
    if row.status == ElderStatus.DECEASED and row.death_date != before.death_date:
        changes["death_date"] = row.death_date
    return changes


# --- 5. Writing --------------------------------------------------------------------------------

ELDER_FIELDS = ["id", "name", "id_number", "id_index", "id_last4_index", "id_converted_from_15", "birth_date", "sex",
                "phone", "phone_index", "area", "address", "hukou_area_code", "living_arrangement", "status",
                "death_date", "moved_away_date", "moved_to", "chronic_conditions", "family_doctor", "created_at",
                "updated_at"]
UPDATE_FIELDS = ["name", "phone", "phone_index", "area", "address", "hukou_area_code", "living_arrangement", "status",
                 "death_date", "moved_away_date"]
HARDSHIP_FIELDS = ["elder", "category", "start_date", "source", "evidence", "recorded_by", "recorded_at"]
CONTACT_FIELDS = ["elder", "name", "relation", "phone", "phone_index", "is_guardian", "is_emergency", "lives_together",
                  "priority"]
AUDIT_FIELDS = ["created_at", "actor", "actor_name", "action", "object_type", "object_id", "object_label", "area_code",
                "before", "after", "note", "client_address", "request_id", "channel"]
_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _write(plan: _Plan, report: ImportReport, *, acting_user, area: str, today: dt.date) -> None:
    """Write the plan; the caller's transaction makes it all or nothing.

    New elders go in chunks, each followed by its hardships, contacts and audit
    entries, so memory stays bounded whatever the file's size.
    """
    now = timezone.now()
    evidence = (_("Roster import %(file)s") % {"file": report.filename})[:300]
    first_id = bulk.next_id(Elder)
    for start in range(0, len(plan.new), WRITE_CHUNK):
        related = _RelatedRows(acting_user, now, today, evidence)
        bulk.insert_rows(Elder, ELDER_FIELDS, related.new_elders(plan.new[start:start + WRITE_CHUNK], first_id + start))
        related.insert()
    bulk.reset_sequence(Elder)
    _update_elders(plan.changed, now)
    related = _RelatedRows(acting_user, now, today, evidence)
    related.add_changes(plan.changed)
    related.insert()
    audit.record(AuditAction.IMPORT, actor=acting_user, object_type=Elder._meta.label_lower, label=report.filename,
                 area_code=area, after={"file": report.filename, "sheet": report.sheet, "created": report.created,
                                        "updated": report.updated, "unchanged": report.unchanged,
                                        "skipped_empty": report.skipped_empty})


def _sealed_phone(phone: str | None) -> tuple[str, str]:
    """(ciphertext, blind index) of a phone, both empty for no phone."""
    if not phone:
        return "", ""
    return crypto.encrypt(phone), crypto.blind_index(phone, "phone")


def _update_elders(changed: list[_Change], now: dt.datetime) -> None:
    """One UPDATE per changed elder, sent in batches (executemany)."""
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(column)} = %s" for column in [*bulk.column_names(Elder, UPDATE_FIELDS), "updated_at"])
    sql = f"UPDATE {quote(Elder._meta.db_table)} SET {assignments} WHERE id = %s"
    values = []
    for change in changed:
        if not change.fields:
            continue
        new, before = change.fields, change.before
        phone = _sealed_phone(new["phone"]) if "phone" in new else (before.phone_sealed, before.phone_index)
        values.append((new.get("name", before.name), *phone, new.get("area", before.area_code),
                       new.get("address", before.address), new.get("hukou_area_code", before.hukou_area_code),
                       new.get("living_arrangement", before.living_arrangement), new.get("status", before.status),
                       new.get("death_date", before.death_date), new.get("moved_away_date", before.moved_away_date),
                       now, before.id))
    with connection.cursor() as cursor:
        for start in range(0, len(values), QUERY_BATCH):
            cursor.executemany(sql, values[start:start + QUERY_BATCH])


class _RelatedRows:
    """Hardship, contact and audit rows of the imported elders, ready for COPY.

    Those of new elders are computed while COPY streams the elder rows: the
    server, indexing those rows, is the slow side, so this work costs no time.
    """

    def __init__(self, actor, now: dt.datetime, today: dt.date, evidence: str):
        info = context.current()
        self.now, self.today, self.evidence, self.actor_id = now, today, evidence, actor.pk
        self.audit_head = (now, actor.pk, actor.get_username())
        self.audit_tail = ("", info.client_address, info.request_id, info.channel)
        self.hardships: list[tuple] = []
        self.contacts: list[tuple] = []
        self.audit: list[tuple] = []

    def new_elders(self, rows: list[_Row], first_id: int) -> Iterator[tuple]:
        """Elder rows for COPY, with explicit ids so the related rows can point at them."""
        encrypt, blind_index = crypto.encrypt, crypto.blind_index
        for elder_id, row in enumerate(rows, start=first_id):
            status = row.status or ElderStatus.ALIVE
            moved = self.today if status == ElderStatus.MOVED_AWAY else None
            yield (elder_id, row.name, encrypt(row.number), row.id_index, blind_index(row.number[-4:], "id4"),
                   row.converted, row.birth_date, row.sex, *_sealed_phone(row.phone), row.area_code, row.address or "",
                   row.hukou_area_code or "", row.living_arrangement or "", status, row.death_date, moved, "", "", "",
                   self.now, self.now)
            self.add_related(elder_id, row, row.hardships, 1 if row.contact else None)
            self.add_audit(AuditAction.CREATE, elder_id, row, None, _created_snapshot(row, status, moved))

    def insert(self) -> None:
        bulk.insert_rows(HardshipStatus, HARDSHIP_FIELDS, self.hardships)
        bulk.insert_rows(Contact, CONTACT_FIELDS, self.contacts)
        bulk.insert_rows(AuditEntry, AUDIT_FIELDS, self.audit)

    def add_changes(self, changes: list[_Change]) -> None:
        for change in changes:
            self.add_related(change.before.id, change.row, change.hardships, change.contact_priority)
            self.add_audit(AuditAction.UPDATE, change.before.id, change.row, *_changed_snapshots(change))

    def add_related(self, elder_id: int, row: _Row, hardships, contact_priority: int | None) -> None:
        for category in hardships:
            self.hardships.append((elder_id, category, self.today, HardshipSource.IMPORT, self.evidence, self.actor_id,
                                   self.now))
        if contact_priority is not None:
            name, relation, phone = row.contact
            self.contacts.append((elder_id, name, relation, *_sealed_phone(phone), False, True, False, contact_priority))

    def add_audit(self, action: str, elder_id: int, row: _Row, before: dict | None, after: dict) -> None:
        self.audit.append((*self.audit_head, action, ELDER_TYPE, str(elder_id), row.name, row.area_code,
                           None if before is None else _to_json(before), _to_json(after), *self.audit_tail))


ELDER_TYPE = Elder._meta.label_lower


def _created_snapshot(row: _Row, status: str, moved: dt.date | None) -> dict:
    """What services.py records for a new elder (masked), plus what the import added."""
    after = {
        "name": row.name, "id_number": _masked(mask_id_number, row.number), "birth_date": row.birth_date.isoformat(),
        "sex": row.sex, "phone": _masked(mask_phone, row.phone), "area": row.area_code, "address": row.address or "",
        "latitude": None, "longitude": None, "hukou_area_code": row.hukou_area_code or "",
        "living_arrangement": row.living_arrangement or "", "status": status, "death_date": _iso(row.death_date),
        "moved_away_date": _iso(moved), "moved_to": "", "chronic_conditions": "", "family_doctor": "",
        "family_doctor_signed_on": None,
    }
    return after | _related_snapshot(row, row.hardships, row.contact is not None)


def _changed_snapshots(change: _Change) -> tuple[dict, dict]:
    """Before and after of the changed fields only, as services.py records an update."""
    before = change.before
    old = {"name": before.name, "area": before.area_code, "address": before.address,
           "hukou_area_code": before.hukou_area_code, "living_arrangement": before.living_arrangement,
           "status": before.status, "death_date": _iso(before.death_date), "moved_away_date": _iso(before.moved_away_date),
           "phone": _masked(mask_phone, crypto.decrypt(before.phone_sealed)) if "phone" in change.fields and before.phone_sealed else ""}
    after = {key: _masked(mask_phone, value) if key == "phone" else _iso(value) for key, value in change.fields.items()}
    related = _related_snapshot(change.row, change.hardships, change.contact_priority is not None)
    return {key: old[key] for key in change.fields}, after | related


def _masked(mask, value: str | None) -> str:
    """A sensitive value as audit.snapshot records it: masked, with a keyed fingerprint."""
    return f"{mask(value)} #{audit.fingerprint(value)}" if value else ""


def _related_snapshot(row: _Row, hardships, contact_added: bool) -> dict:
    related = {}
    if hardships:
        related["hardships"] = list(hardships)
    if contact_added:
        name, relation, phone = row.contact
        related["contact"] = {"name": name, "relation": relation, "phone": mask_phone(phone)}
    return related


def _iso(value):
    return value.isoformat() if isinstance(value, dt.date) else value


# --- The error report --------------------------------------------------------------------------

ERROR_REPORT_HEADINGS = ["行号", "列", "内容", "问题"]


def error_report_xlsx(report: ImportReport) -> bytes:
    """Every rejected cell as a workbook the clerk can fix the roster from."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("错误")
    sheet.append(ERROR_REPORT_HEADINGS)
    for error in report.errors:
        sheet.append([error.row or "", error.column, error.value, error.message])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
