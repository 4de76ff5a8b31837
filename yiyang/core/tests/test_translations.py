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
