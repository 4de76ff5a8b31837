"""The elder's money page: suspensions (停发/恢复发放) and voucher balances; the month page's corrections panel."""

import datetime as dt

import pytest

from yiyang.benefits import release, services, vouchers
from yiyang.benefits.models import PayrollRecheck, Programme, Suspension
from yiyang.conftest import make_id_number
from yiyang.core.models import AuditEntry
from yiyang.people import services as people

from .conftest import MONTH, TODAY
from .test_care_subsidies import _grade_programme, assess

pytestmark = pytest.mark.django_db

SEPTEMBER = dt.date(2026, 9, 1)
NOVEMBER = dt.date(2026, 11, 1)


@pytest.fixture
def client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def page_url(elder, suffix=""):
    return f"/benefits/payments/elders/{elder.pk}/{suffix}"


def suspend_form(**extra):
    return {"programme": "gaoling", "from_month": "2026-10", "reason": "服刑", **extra}


def _run_and_release(city, programme, month, county="510703", user="county_a"):
    run = services.run_payroll(programme_code=programme, month=month, area_code=county, today=TODAY).run
    release.approve_county(run, county_code=county, acting_user=city.user(user))
    return release.release(run, acting_user=city.user(user))


# --- suspensions ------------------------------------------------------------------------------


def test_a_county_official_suspends_through_the_page_and_sees_it(city, gaoling, client_for):
    elder = city.elders["510703"][2]
    client = client_for(city.user("county_a"))
    page = client.get(page_url(elder)).content.decode()
    assert 'data-testid="suspend-form"' in page and '<option value="gaoling">高龄津贴</option>' in page
    assert "No payment suspension recorded." in page
    response = client.post(page_url(elder, "suspensions/"), suspend_form())
    assert response.status_code == 302 and response.url.endswith("#suspensions")
    suspension = Suspension.objects.get(elder=elder)
    assert (suspension.programme, suspension.from_month, suspension.until_month, suspension.reason,
            suspension.created_by) == (gaoling, MONTH, None, "服刑", city.user("county_a"))
    assert AuditEntry.objects.filter(object_type="benefits.suspension", object_id=str(suspension.pk)).exists()
    page = client.get(page_url(elder)).content.decode()
    row = page[page.index(f'data-testid="suspension-{suspension.pk}"'):]
    row = row[:row.index("</tr>")]
    assert "高龄津贴" in row and "2026-10" in row and "服刑" in row and city.user("county_a").full_name in row
    assert "Payments of 高龄津贴 are suspended from 2026-10." in page
    assert f'data-testid="resume-form-{suspension.pk}"' in page


def test_suspending_through_htmx_answers_with_the_section(city, gaoling, client_for):
    elder = city.elders["510703"][2]
    response = client_for(city.user("county_a")).post(page_url(elder, "suspensions/"), suspend_form(),
                                                       HTTP_HX_REQUEST="true")
    section = response.content.decode()
    assert response.status_code == 200 and section.lstrip().startswith('<section id="suspensions"')
    assert "服刑" in section and "Payments of 高龄津贴 are suspended from 2026-10." in section
    assert Suspension.objects.filter(elder=elder).count() == 1


def test_suspension_errors_are_shown_and_save_nothing(city, gaoling, client_for):
    elder = city.elders["510703"][2]
    client = client_for(city.user("county_a"))
    response = client.post(page_url(elder, "suspensions/"), suspend_form(reason=" "))
    assert response.status_code == 200
    assert "say why the payments are suspended" in response.content.decode()  # the service's refusal
    response = client.post(page_url(elder, "suspensions/"), suspend_form(from_month="2026-13"), HTTP_HX_REQUEST="true")
    assert "is not a month: write YYYY-MM" in response.content.decode()
    # A programme the official does not see (another county's) is not offered and is refused.
    other = Programme.objects.create(code="youxian", name="游仙区补贴", kind="other", area_id="510704",
                                     enrolment="application")
    response = client.post(page_url(elder, "suspensions/"), suspend_form(programme=other.code))
    assert response.context["suspension_form"].errors["programme"]
    assert "游仙区补贴" not in response.content.decode()
    assert not Suspension.objects.exists()
    assert not AuditEntry.objects.filter(object_type="benefits.suspension").exists()
    # One open suspension per programme: the second is the service's error.
    client.post(page_url(elder, "suspensions/"), suspend_form())
    response = client.post(page_url(elder, "suspensions/"), suspend_form(from_month="2026-11"))
    assert "payments of this programme are already suspended for this elder" in response.content.decode()
    assert Suspension.objects.count() == 1


def test_resuming_from_a_month_ends_the_suspension(city, gaoling, client_for):
    elder = city.elders["510703"][2]
    client = client_for(city.user("county_a"))
    client.post(page_url(elder, "suspensions/"), suspend_form())
    suspension = Suspension.objects.get(elder=elder)
    url = page_url(elder, f"suspensions/{suspension.pk}/resume/")
    response = client.post(url, {"from_month": "2026-10"}, HTTP_HX_REQUEST="true")
    assert "payments resume after the month the suspension began (2026-10)" in response.content.decode()
    suspension.refresh_from_db()
    assert suspension.until_month is None
    response = client.post(url, {"from_month": "2026-12"})
    assert response.status_code == 302 and response.url.endswith("#suspensions")
    suspension.refresh_from_db()
    assert suspension.until_month == NOVEMBER
    page = client.get(page_url(elder)).content.decode()
    row = page[page.index(f'data-testid="suspension-{suspension.pk}"'):]
    assert "2026-11" in row[:row.index("</tr>")]
    assert "Payments of 高龄津贴 resume from 2026-12." in page
    assert f'data-testid="resume-form-{suspension.pk}"' not in page


def test_a_village_official_neither_sees_nor_posts_suspensions(city, gaoling, client_for):
    elder = city.elders["510703"][0]  # in the village official's village
    suspension = Suspension.objects.create(programme=gaoling, elder=elder, from_month=MONTH, reason="出国",
                                           created_by=city.user("county_a"))
    client = client_for(city.user("village_a"))
    page = client.get(page_url(elder)).content.decode()
    assert 'data-testid="suspend-form"' not in page and 'id="suspensions"' not in page
    assert client.post(page_url(elder, "suspensions/"), suspend_form(programme="gaoling", from_month="2026-11")
                       ).status_code == 403
    assert client.post(page_url(elder, f"suspensions/{suspension.pk}/resume/"), {"from_month": "2026-12"}
                       ).status_code == 403
    assert list(Suspension.objects.values_list("pk", "until_month")) == [(suspension.pk, None)]


def test_another_countys_elder_or_suspension_is_not_found(city, gaoling, client_for):
    elder = city.elders["510703"][2]
    suspension = Suspension.objects.create(programme=gaoling, elder=elder, from_month=MONTH, reason="出国")
    neighbour = client_for(city.user("county_b"))
    assert neighbour.post(page_url(elder, "suspensions/"), suspend_form(from_month="2026-11")).status_code == 404
    assert neighbour.post(page_url(elder, f"suspensions/{suspension.pk}/resume/"), {"from_month": "2026-12"}
                          ).status_code == 404
    own = city.elders["510704"][2]  # the neighbour's own elder with county A's suspension id: still not found
    assert neighbour.post(page_url(own, f"suspensions/{suspension.pk}/resume/"), {"from_month": "2026-12"}
                          ).status_code == 404
    assert Suspension.objects.get().until_month is None and Suspension.objects.count() == 1


# --- voucher balances ------------------------------------------------------------------------


@pytest.fixture
def voucher_month(city):
    programme = _grade_programme("fuwu", mode="voucher", hardship=())
    elders = city.elders["510703"][:2]
    for elder in elders:
        assess(elder, 4, MONTH - dt.timedelta(days=30))
    run = _run_and_release(city, "fuwu", MONTH)
    return programme, run, elders


def test_voucher_balance_and_movements_are_shown_after_a_released_run(voucher_month, city, client_for,
                                                                       django_user_model):
    programme, _run, (elder, _other) = voucher_month
    client = client_for(city.user("county_a"))
    page = client.get(page_url(elder)).content.decode()
    assert 'data-testid="voucher-balance-fuwu">300.00<' in page
    entries = page[page.index('data-testid="voucher-entries"'):]
    assert "+300.00" in entries and "credit for 2026-10" in entries
    root = django_user_model.objects.create_superuser("t-root", password="x")
    vouchers.draw(elder, programme_code="fuwu", amount_fen=12_000, reference="ORD-1", acting_user=root)
    page = client.get(page_url(elder)).content.decode()
    assert 'data-testid="voucher-balance-fuwu">180.00<' in page
    entries = page[page.index('data-testid="voucher-entries"'):]
    assert entries.index("-120.00") < entries.index("+300.00")  # newest first
    assert "ORD-1" in entries
    # The village official of the elder's village sees the balance too (roles.py: benefits.view_voucheraccount).
    village = client_for(city.user("village_a")).get(page_url(elder)).content.decode()
    assert 'data-testid="voucher-balance-fuwu">180.00<' in village


def test_an_elder_without_vouchers_sees_none_and_other_counties_see_nothing(voucher_month, city, client_for):
    _programme, _run, (elder, _other) = voucher_month
    page = client_for(city.user("county_a")).get(page_url(city.elders["510703"][3])).content.decode()
    assert "No voucher balance" in page and 'data-testid="voucher-entries"' not in page
    assert client_for(city.user("county_b")).get(page_url(elder)).status_code == 404


# --- corrections on the payroll month page ---------------------------------------------------


@pytest.fixture
def late_death(city, gaoling):
    """An 85-year-old paid September and October, whose death on 20 August is recorded in November."""
    old = people.register_elder(acting_user=city.user("city"), today=TODAY, data={
        "name": "高龄甲", "id_number": make_id_number("510703", dt.date(1941, 3, 5), 401, "F"),
        "area_code": "510703001001"})
    _run_and_release(city, "gaoling", SEPTEMBER)
    _run_and_release(city, "gaoling", MONTH)
    people.record_death(old, acting_user=city.user("county_a"), death_date=dt.date(2026, 8, 20))
    return old


def test_the_corrections_panel_shows_the_recovery_after_a_late_death(city, late_death, client_for):
    url = f"/benefits/gaoling/payroll/{NOVEMBER:%Y-%m}/"
    client = client_for(city.user("county_a"))
    page = client.get(url).content.decode()
    assert page.count('data-testid="corrections"') == 1
    assert "1 open recheck: the next run recomputes the earlier months it reaches." in page
    run = services.run_payroll(programme_code="gaoling", month=NOVEMBER, area_code="510703", today=TODAY).run
    corrections = client.get(url).context["corrections"]
    assert (corrections["recoveries"], corrections["recoveries_total"]) == (2, "-50.00")
    assert (corrections["adjustments"], corrections["adjustments_total"]) == (0, "0.00")
    page = client.get(url).content.decode()
    assert 'data-testid="recoveries-total">-50.00<' in page
    release.approve_county(run, county_code="510703", acting_user=city.user("county_a"))
    release.release(run, acting_user=city.user("county_a"))
    assert not PayrollRecheck.objects.filter(settled_by__isnull=True).exists()
    page = client.get(url).content.decode()
    assert "0 open rechecks" in page and 'data-testid="recoveries-total">-50.00<' in page
    # The sibling county has no corrections of its own and sees none of county A's.
    neighbour = client_for(city.user("county_b")).get(url).context["corrections"]
    assert neighbour == {"adjustments": 0, "adjustments_total": "0.00", "recoveries": 0, "recoveries_total": "0.00",
                         "open_rechecks": 0}


def test_an_adjustment_is_counted_as_such(city, gaoling, client_for):
    old = people.register_elder(acting_user=city.user("city"), today=TODAY, data={
        "name": "高龄乙", "id_number": make_id_number("510703", dt.date(1941, 3, 5), 402, "F"),
        "area_code": "510703001001"})
    _run_and_release(city, "gaoling", MONTH)
    people.update_elder(old, acting_user=city.user("county_a"),
                        data={"id_number": make_id_number("510703", dt.date(1935, 3, 5), 402, "F")}, today=TODAY)
    services.run_payroll(programme_code="gaoling", month=NOVEMBER, area_code="510703", today=TODAY)
    corrections = client_for(city.user("county_a")).get(f"/benefits/gaoling/payroll/{NOVEMBER:%Y-%m}/").context["corrections"]
    assert (corrections["adjustments"], corrections["adjustments_total"], corrections["recoveries"]) == (1, "75.00", 0)
