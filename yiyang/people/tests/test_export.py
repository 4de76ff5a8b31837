"""Roster export: masked unless the user may reveal, scoped, audited, and importable again."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.utils import translation

from yiyang.accounts.models import User
from yiyang.accounts.roles import PERMISSIONS, Role
from yiyang.core.errors import PermissionDenied
from yiyang.core.models import AuditEntry
from yiyang.people.exporting import export_elders_xlsx
from yiyang.people.importing import import_roster
from yiyang.people.models import Elder
from yiyang.people.roster import COLUMNS


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def exporter_without_reveal(city, monkeypatch) -> User:
    """An assessor whose role is given the export permission for the test, but not the reveal one."""
    monkeypatch.setitem(PERMISSIONS, Role.ASSESSOR, PERMISSIONS[Role.ASSESSOR] | {"people.export_elders"})
    return User.objects.create(username="t-exporter", role=Role.ASSESSOR, scope_area_id="510703")


def read(data: bytes) -> list[dict]:
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert list(rows[0]) == [column.header for column in COLUMNS]
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_export_masks_for_a_user_who_may_not_reveal(city, exporter_without_reveal):
    rows = read(export_elders_xlsx(Elder.objects.all(), acting_user=exporter_without_reveal))
    assert len(rows) == 4
    for row in rows:
        assert row["身份证号"][:4] == "5107" and row["身份证号"][4:17] == "*" * 13
        assert row["联系电话"][3:7] == "****"
        assert row["村（社区）代码"].startswith("510703")
    first = next(row for row in rows if row["紧急联系人"])
    assert first["紧急联系人电话"] == "139****0000" and first["困难类别"] == "特困" and first["与老人关系"] == "儿子"
    entry = AuditEntry.objects.get(action="export")
    assert entry.actor == exporter_without_reveal and entry.after == {"rows": 4, "revealed": False}


def test_export_in_clear_for_an_official_is_scoped_and_audited(city):
    user = city.user("county_b")
    rows = read(export_elders_xlsx(Elder.objects.all(), acting_user=user))
    numbers = {row["身份证号"] for row in rows}
    assert numbers == {elder.id_number for elder in city.elders["510704"]}
    assert all(row["状态"] == "在世" and row["性别"] in ("男", "女") for row in rows)
    assert AuditEntry.objects.get(action="export").after == {"rows": 4, "revealed": True}


def test_an_export_imports_again_unchanged(city, tmp_path):
    user = city.user("county_a")
    elder = city.elders["510703"][1]
    elder.status, elder.death_date = "deceased", elder.birth_date.replace(year=elder.birth_date.year + 61)
    elder.living_arrangement = "with_children"
    elder.save()
    path = tmp_path / "export.xlsx"
    path.write_bytes(export_elders_xlsx(Elder.objects.all(), acting_user=user))
    report = import_roster(path, acting_user=user)
    assert report.ok, report.errors
    assert (report.created, report.updated, report.unchanged) == (0, 0, 4)


def test_a_masked_export_cannot_be_imported(city, exporter_without_reveal, tmp_path):
    path = tmp_path / "masked.xlsx"
    path.write_bytes(export_elders_xlsx(Elder.objects.all(), acting_user=exporter_without_reveal))
    report = import_roster(path, acting_user=city.user("county_a"))
    assert {e.column for e in report.errors} == {"身份证号", "联系电话", "紧急联系人电话"}
    assert "masked" in report.errors[0].message


def test_export_needs_the_permission(city):
    with pytest.raises(PermissionDenied):
        export_elders_xlsx(Elder.objects.all(), acting_user=city.user("agent"))
    assert not AuditEntry.objects.filter(action="export").exists()
