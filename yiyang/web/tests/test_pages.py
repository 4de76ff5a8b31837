"""Back-office pages through the Django test client, as the shared personas."""

import datetime as dt
import sys
import types

import pytest

from yiyang.accounts import services as account_services
from yiyang.accounts.models import User
from yiyang.conftest import birth_for_age, make_id_number
from yiyang.core.errors import ValidationError
from yiyang.core.models import AuditAction, AuditEntry
from yiyang.people.models import Contact, Elder, HardshipStatus

pytestmark = pytest.mark.django_db

COUNTY_B_NAME = "乙老人"


def page_urls(city):
    elder = city.elders["510703"][0]
    return [
        "/", "/elders/", f"/elders/{elder.pk}/", "/elders/new/", f"/elders/{elder.pk}/edit/", "/elders/import/",
        "/areas/510703/", "/areas/510703001/", "/audit/", "/accounts/", "/accounts/new/",
        f"/accounts/{city.user('township_a').pk}/deactivate/",
    ]


def test_every_page_renders_for_a_county_official(city, client_for):
    client = client_for(city.user("county_a"))
    for url in page_urls(city):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "t-county-a" in response.content.decode(), url


def test_pages_need_login(city, client):
    for url in page_urls(city):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/"), url


def test_login_page_logs_in(city, client):
    response = client.post("/login/", {"username": "t-county-a", "password": "test-pass-2026"})
    assert response.status_code == 302 and response.url == "/"


def test_pages_need_the_permission(city, client_for):
    client = client_for(city.user("dispatcher"))  # organisation staff: no registry, audit or accounts
    for url in ["/elders/", f"/elders/{city.elders['510703'][0].pk}/", "/audit/", "/accounts/", "/elders/import/"]:
        assert client.get(url).status_code == 403, url


def test_home_counts_only_my_jurisdiction(city, client_for):
    response = client_for(city.user("county_a")).get("/")
    summary = response.context["summary"]
    assert dict(summary["by_status"])["alive"] == 4
    assert summary["advanced_age"] == 2  # aged 82 and 92
    assert dict(summary["hardships"])["tekun"] == 1
    assert [(area.code, living) for area, living, _total in response.context["by_area"]] == [("510703001", 4)]


def test_county_a_never_sees_county_b_elders(city, client_for):
    client = client_for(city.user("county_a"))
    other = city.elders["510704"][1]
    listing = client.get("/elders/").content.decode()
    assert "甲老人0" in listing and COUNTY_B_NAME not in listing
    for url in [f"/elders/{other.pk}/", f"/elders/{other.pk}/edit/"]:
        assert client.get(url).status_code == 404, url
    assert client.post(f"/elders/{other.pk}/reveal/id_number/").status_code == 404
    assert client.post(f"/elders/{other.pk}/hardships/", {}).status_code == 404
    for search in [COUNTY_B_NAME, other.id_number[-4:], other.phone, other.id_number]:
        response = client.get("/elders/", {"q": search})
        assert list(response.context["table"].data) == [], search
    assert list(client.get("/elders/", {"area": "510704"}).context["table"].data) == []
    assert client.get("/areas/510704/").status_code == 404
    assert client.get("/areas/").url == "/areas/510703/"


def test_export_is_scoped_and_filtered(city, client_for, monkeypatch):
    exported = {}

    def export_elders_xlsx(queryset, *, acting_user):
        exported["names"] = sorted(queryset.values_list("name", flat=True))
        exported["user"] = acting_user
        return b"PK-xlsx"

    fake = types.ModuleType("yiyang.people.exporting")
    fake.export_elders_xlsx = export_elders_xlsx
    monkeypatch.setitem(sys.modules, "yiyang.people.exporting", fake)
    client = client_for(city.user("county_a"))

    response = client.get("/elders/export/", {"area": "510703001001"})
    assert response.status_code == 200 and response.content == b"PK-xlsx"
    assert response["Content-Disposition"].startswith('attachment; filename="elders-')
    assert exported["names"] == ["甲老人0", "甲老人1"] and exported["user"] == city.user("county_a")

    client.get("/elders/export/")
    assert all(name.startswith("甲") for name in exported["names"]) and len(exported["names"]) == 4
    client.get("/elders/export/", {"area": "510704"})
    assert exported["names"] == []


def test_export_needs_the_permission(city, client_for):
    assert client_for(city.user("agent")).get("/elders/export/").status_code == 403


def test_list_filters_and_htmx_refresh(city, client_for):
    client = client_for(city.user("city"))
    response = client.get("/elders/", {"area": "510704", "hardship": "tekun"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.templates[0].name == "people/_elder_results.html"
    assert "<html" not in body and "乙老人0" in body and "乙老人1" not in body and "甲老人0" not in body
    assert "HX-Request" in response["Vary"]
    ages = client.get("/elders/", {"age_band": "80-89"}).context["table"].data
    assert {e.name for e in ages} == {"甲老人2", "乙老人2"}


def test_detail_shows_masked_values_and_history(city, client_for):
    elder = city.elders["510703"][0]
    body = client_for(city.user("county_a")).get(f"/elders/{elder.pk}/").content.decode()
    assert elder.id_number_masked in body and elder.id_number not in body
    assert elder.phone_masked in body and elder.phone not in body
    assert "子女" in body and "13900000000" not in body  # contact phone masked too
    assert 'id="audit-table"' in body and "甲老人0" in body


def test_reveal_needs_the_permission_and_is_audited(city, client_for, assessor):
    elder = city.elders["510703"][0]
    client = client_for(assessor)
    assert "reveal-id_number" not in client.get(f"/elders/{elder.pk}/").content.decode()
    assert client.post(f"/elders/{elder.pk}/reveal/id_number/").status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.REVEAL).exists()

    client = client_for(city.user("county_a"))
    assert client.get(f"/elders/{elder.pk}/reveal/id_number/").status_code == 405
    assert client.post(f"/elders/{elder.pk}/reveal/name/").status_code == 404
    response = client.post(f"/elders/{elder.pk}/reveal/id_number/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and elder.id_number in response.content.decode()
    entry = AuditEntry.objects.get(action=AuditAction.REVEAL)
    assert entry.actor == city.user("county_a") and entry.object_id == str(elder.pk) and "id_number" in entry.note


def _new_elder(**overrides):
    data = {"name": "新老人", "id_number": make_id_number("510703", birth_for_age(70), 9),
            "area_code": "510703001002", "phone": "13812345678", "address": "新路1号"}
    return {**data, **overrides}


def test_create_with_a_bad_id_shows_the_error_and_saves_nothing(city, client_for):
    client = client_for(city.user("county_a"))
    before = Elder.objects.count(), AuditEntry.objects.count()
    bad = _new_elder(id_number=_new_elder()["id_number"][:-1] + "0")
    if bad["id_number"] == _new_elder()["id_number"]:
        bad["id_number"] = bad["id_number"][:-1] + "1"
    response = client.post("/elders/new/", bad)
    assert response.status_code == 200
    assert response.context["form"].errors["id_number"]
    assert "check character" in response.content.decode()
    assert (Elder.objects.count(), AuditEntry.objects.count()) == before

    response = client.post("/elders/new/", _new_elder(area_code="510704001001"))
    assert "outside your jurisdiction" in response.context["form"].errors["area_code"][0]
    assert Elder.objects.count() == before[0]

    response = client.post("/elders/new/", _new_elder())
    elder = Elder.objects.get(name="新老人")
    assert response.status_code == 302 and response.url == f"/elders/{elder.pk}/"
    assert elder.area_id == "510703001002" and elder.sex == "M"


def test_id_number_check_while_typing(city, client_for):
    client = client_for(city.user("county_a"))
    good = _new_elder()["id_number"]
    body = client.post("/elders/check-id/", {"id_number": good}).content.decode()
    assert birth_for_age(70).isoformat() in body and "invalid-feedback" not in body
    body = client.post("/elders/check-id/", {"id_number": "123"}).content.decode()
    assert "invalid-feedback" in body and "18" in body
    assert client.post("/elders/check-id/", {"id_number": ""}).content.strip() == b""


def test_edit_records_a_death_and_keeps_personal_data(city, client_for):
    elder = city.elders["510703"][1]
    client = client_for(city.user("county_a"))
    form = client.get(f"/elders/{elder.pk}/edit/").context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    assert data["id_number"] == "" and data["phone"] == ""  # never sent to the browser
    died = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    response = client.post(f"/elders/{elder.pk}/edit/", {**data, "status": "deceased", "death_date": ""})
    assert response.context["form"].errors["death_date"]
    response = client.post(f"/elders/{elder.pk}/edit/", {**data, "status": "deceased", "death_date": died})
    assert response.status_code == 302
    elder.refresh_from_db()
    assert elder.status == "deceased" and elder.death_date.isoformat() == died
    assert elder.id_number == city.elders["510703"][1].id_number and elder.phone


def test_hardship_and_contact_sections(city, client_for):
    elder = city.elders["510703"][1]
    client = client_for(city.user("county_a"))
    url = f"/elders/{elder.pk}/hardships/"
    response = client.post(url, {"category": "dibao", "start_date": "", "source": "civil_affairs"}, HTTP_HX_REQUEST="true")
    assert response.templates[0].name == "people/_hardships.html" and response.context["hardship_form"].errors
    response = client.post(url, {"category": "dibao", "start_date": "2024-01-05", "source": "civil_affairs",
                                 "evidence": "绵民〔2024〕1号"}, HTTP_HX_REQUEST="true")
    status = HardshipStatus.objects.get(elder=elder, category="dibao")
    assert "绵民〔2024〕1号" in response.content.decode()

    end_url = f"/elders/{elder.pk}/hardships/{status.pk}/end/"
    response = client.post(end_url, {"end_date": "2023-01-01"}, HTTP_HX_REQUEST="true")
    assert "on or after the start date" in response.content.decode()
    response = client.post(end_url, {"end_date": "2024-06-30"})
    assert response.status_code == 302
    status.refresh_from_db()
    assert status.end_date == dt.date(2024, 6, 30)

    response = client.post(f"/elders/{elder.pk}/contacts/", {"name": "女儿", "relation": "daughter", "phone": "12345",
                                                               "priority": 1}, HTTP_HX_REQUEST="true")
    assert "phone" in response.context["contact_form"].errors
    client.post(f"/elders/{elder.pk}/contacts/", {"name": "女儿", "relation": "daughter", "phone": "13700001111",
                                                    "priority": 1, "is_emergency": "on"}, HTTP_HX_REQUEST="true")
    assert Contact.objects.get(elder=elder, name="女儿").phone == "13700001111"


def test_audit_log_is_scoped(city, client_for):
    client = client_for(city.user("county_a"))
    entries = list(client.get("/audit/").context["table"].data)
    assert entries and all(entry.area_code.startswith("510703") for entry in entries)
    filtered = client.get("/audit/", {"action": "create", "object_type": "people.contact"}).context["table"].data
    assert [entry.object_label for entry in filtered] == ["子女（son）"]
    assert client_for(city.user("agent")).get("/audit/").status_code == 403


def test_accounts_list_is_scoped(city, client_for):
    users = {u.username for u in client_for(city.user("county_a")).get("/accounts/").context["table"].data}
    assert {"t-county-a", "t-township-a", "t-village-a", "t-dispatcher"} <= users
    assert not users & {"t-county-b", "t-city", "t-agent"}


def _account(**overrides):
    return {"username": "t-new", "full_name": "新用户", "role": "township_official", "scope_area": "510703001",
            "password": "a-long-pass-2026", **overrides}


def test_account_creation_refuses_roles_and_areas_outside_my_scope(city, client_for):
    client = client_for(city.user("county_a"))
    for data, field in [
        (_account(role="county_official", scope_area="510703"), "role"),
        (_account(role="city_official", scope_area="5107"), "role"),
        (_account(scope_area="510704001"), "scope_area"),
        (_account(scope_area="510703"), "scope_area"),  # a township official needs a township
        (_account(role="caregiver", scope_area=""), "organization"),
        (_account(password="short"), "password"),
        (_account(username="t-county-b"), "username"),
    ]:
        response = client.post("/accounts/new/", data)
        assert response.status_code == 200 and field in response.context["form"].errors, data
    assert not User.objects.filter(username="t-new").exists()

    with pytest.raises(ValidationError) as refused:
        account_services.create_user(acting_user=city.user("county_a"), username="t-new", full_name="",
                                     role="county_official", password="a-long-pass-2026", scope_area_code="510703")
    assert "role" in refused.value.message_dict

    response = client.post("/accounts/new/", _account())
    assert response.status_code == 302
    user = User.objects.get(username="t-new")
    assert user.scope_area_id == "510703001" and user.check_password("a-long-pass-2026")
    entry = AuditEntry.objects.get(object_type="accounts.user", object_id=str(user.pk))
    assert entry.action == AuditAction.CREATE and "password" not in entry.after

    response = client.post("/accounts/new/", _account(username="t-carer", role="caregiver", scope_area="",
                                                      organization=city.provider.pk))
    assert User.objects.get(username="t-carer").organization == city.provider


def test_deactivate_an_account(city, client_for):
    client = client_for(city.user("county_a"))
    township = city.user("township_a")
    assert client.post(f"/accounts/{city.user('county_b').pk}/deactivate/").status_code == 404
    response = client.post(f"/accounts/{city.user('county_a').pk}/deactivate/")
    assert "your own account" in response.context["error"]
    assert client.post(f"/accounts/{township.pk}/deactivate/").status_code == 302
    township.refresh_from_db()
    assert not township.is_active
    assert AuditEntry.objects.filter(object_type="accounts.user", object_id=str(township.pk),
                                     action=AuditAction.UPDATE).exists()


def test_import_page_reports_errors_with_a_download(city, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(city.user("county_a"))
    upload = SimpleUploadedFile("roster.csv", "不是,花名册\n1,2\n".encode(), content_type="text/csv")
    response = client.post("/elders/import/", {"file": upload, "dry_run": "on"})
    assert response.status_code == 200 and not response.context["report"].ok
    assert response.context["error_report"]
    download = client.get("/elders/import/errors.xlsx")
    assert download.status_code == 200 and download.content[:2] == b"PK"
    assert client.get("/elders/import/template.xlsx").content[:2] == b"PK"
    wrong = SimpleUploadedFile("roster.txt", b"x", content_type="text/plain")
    assert "file" in client.post("/elders/import/", {"file": wrong}).context["form"].errors
