"""The UI speaks Simplified Chinese by default: the catalogue is compiled and used."""

import pytest
from django.utils import translation

from yiyang.conftest import PASSWORD


@pytest.fixture
def chinese(settings):
    settings.LANGUAGE_CODE = "zh-hans"
    with translation.override("zh-hans"):
        yield


def test_messages_are_translated(chinese):
    from yiyang.people import idnumber

    with pytest.raises(idnumber.InvalidIdNumber) as excinfo:
        idnumber.parse("51070319450312001X")
    message = str(excinfo.value)
    assert message != "The check character of the ID number is wrong: the number may have been mistyped."
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message)


def test_pages_default_to_chinese(city, client, chinese):
    client.post("/login/", {"username": "t-county-a", "password": PASSWORD})
    page = client.get("/elders/").content.decode()
    assert 'lang="zh-hans"' in page
    assert "老年人" in page


def test_browser_language_does_not_override_the_default(city, client, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    client.post("/login/", {"username": "t-county-a", "password": PASSWORD})
    page = client.get("/elders/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "老年人" in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/elders/"})
    english = client.get("/elders/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert 'lang="en"' in english and "English" in english and "简体中文" in english


def test_audit_log_renders_every_kind_of_entry(city, client):
    from yiyang.core import audit
    from yiyang.core.models import AuditAction

    audit.record(AuditAction.UPDATE, actor=None, object_type="benefits.payrollrun", object_id=1, area_code="510703",
                 before={"lines": 0}, after={"lines": 3, "total_fen": 7500})
    client.force_login(city.user("county_a"))
    response = client.get("/audit/")
    assert response.status_code == 200
    assert "total (fen)" in response.content.decode()
