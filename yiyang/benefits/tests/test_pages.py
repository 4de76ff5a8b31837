"""The payroll pages through the Django test client, as the shared personas.

The `city` fixture's elders are aged 62, 72, 82 and 92 in each county, so 高龄津贴
pays two elders per county (25.00 and 100.00 yuan a month).
"""

import datetime as dt

import pytest
from django.utils import timezone

from yiyang.benefits import services
from yiyang.benefits.models import PaymentLine, PayrollApproval, PayrollRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_for(client):
    """``client_for(user)`` → the test client, logged in as ``user`` (as in yiyang/web/tests)."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def this_month():
    return timezone.localdate().replace(day=1)


@pytest.fixture
def city_run(city, gaoling, this_month):
    """This month computed for the whole city (both counties)."""
    return services.run_payroll(programme_code="gaoling", month=this_month, area_code="5107",
                                acting_user=city.user("city")).run


def month_url(month, suffix=""):
    return f"/benefits/gaoling/payroll/{month:%Y-%m}/{suffix}"


@pytest.mark.parametrize("who", ["county_a", "city"])
def test_pages_render(city, city_run, client_for, this_month, who):
    client = client_for(city.user(who))
    for url in ["/benefits/", "/benefits/gaoling/payroll/", month_url(this_month)]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "t-" + who.replace("_", "-") in response.content.decode(), url


def test_programme_list_shows_tiers_in_yuan_and_the_nav_link(city, gaoling, client_for):
    page = client_for(city.user("county_a")).get("/benefits/").content.decode()
    assert 'href="/benefits/"' in page and "Subsidies" in page
    assert "高龄津贴" in page and "25.00" in page and "100.00" in page and "400.00" in page
    assert "80–89" in page and "100+" in page
    assert 'href="/benefits/gaoling/payroll/"' in page


def test_pages_need_login_and_permission(city, gaoling, client, client_for, this_month):
    for url in ["/benefits/", "/benefits/gaoling/payroll/", month_url(this_month)]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/"), url
    other = client_for(city.user("dispatcher"))
    for url in ["/benefits/", "/benefits/gaoling/payroll/", month_url(this_month)]:
        assert other.get(url).status_code == 403, url
    assert client_for(city.user("city")).get("/benefits/gaoling/payroll/2026-13/").status_code == 404
    assert client_for(city.user("city")).get("/benefits/nothing/payroll/").status_code == 404


def test_county_sees_only_its_own_lines_and_totals(city, city_run, client_for, this_month):
    response = client_for(city.user("county_a")).get(month_url(this_month))
    page = response.content.decode()
    lines = list(response.context["table"].data)
    assert len(lines) == 2 and {line.area_code[:6] for line in lines} == {"510703"}
    assert "甲老人" in page and "乙老人" not in page
    assert response.context["summary"]["count"] == 2
    assert response.context["summary"]["total"] == "125.00"
    [panel] = response.context["panels"]
    assert [c["code"] for c in panel["counties"]] == ["510703"]
    assert 'data-county="510704"' not in page
    # the city run's own figures (both counties) are not shown to the county
    assert "250.00" not in page
    runs_page = client_for(city.user("county_a")).get("/benefits/gaoling/payroll/")
    [row] = list(runs_page.context["table"].data)
    assert (row.my_lines, row.my_total_fen) == (2, 12_500)


def test_city_sees_both_counties(city, city_run, client_for, this_month):
    response = client_for(city.user("city")).get(month_url(this_month))
    assert response.context["summary"]["total"] == "250.00"
    [panel] = response.context["panels"]
    assert [c["code"] for c in panel["counties"]] == ["510703", "510704"]
    assert len(list(response.context["table"].data)) == 4


def test_line_filter_by_village_and_tier(city, city_run, client_for, this_month):
    client = client_for(city.user("city"))
    response = client.get(month_url(this_month), {"tier": "90-99"})
    assert [line.tier for line in response.context["table"].data] == ["90-99", "90-99"]
    response = client.get(month_url(this_month), {"village": "510704001002", "tier": "80-89"}, HTTP_HX_REQUEST="true")
    rows = list(response.context["table"].data)
    assert len(rows) == 1 and rows[0].area_code == "510704001002"
    assert "<h1" not in response.content.decode()  # only the results for htmx
    page = client.get(month_url(this_month), {"village": "510703001002"}).content.decode()
    for line in PaymentLine.objects.filter(area_code="510703001002"):
        assert f'href="/elders/{line.elder_id}/"' in page and line.elder.name in page
    assert client.get(month_url(this_month), {"village": "999"}).context["table"].paginator.count == 0


def test_running_a_month_through_the_page(city, gaoling, client_for, this_month):
    client = client_for(city.user("county_a"))
    page = client.get("/benefits/gaoling/payroll/").content.decode()
    assert 'name="month"' in page and '<option value="510703001"' in page and '"510704001"' not in page
    response = client.post("/benefits/gaoling/payroll/", {"month": f"{this_month:%Y-%m}", "area": ""})
    assert response.status_code == 302 and response.url == month_url(this_month)
    run = PayrollRun.objects.get()
    assert (run.area_code, run.line_count, run.total_fen) == ("510703", 2, 12_500)


def test_running_a_future_month_shows_the_error_and_writes_nothing(city, gaoling, client_for, this_month):
    future = (this_month + dt.timedelta(days=32)).replace(day=1)
    response = client_for(city.user("city")).post("/benefits/gaoling/payroll/", {"month": f"{future:%Y-%m}", "area": ""})
    assert response.status_code == 200
    page = response.content.decode()
    assert "has not begun" in page and 'class="alert alert-danger' in page
    assert not PayrollRun.objects.exists() and not PaymentLine.objects.exists()


def test_a_malformed_month_is_a_field_error(city, gaoling, client_for):
    response = client_for(city.user("city")).post("/benefits/gaoling/payroll/", {"month": "11/2026", "area": ""})
    assert response.status_code == 200 and "is not a month" in response.content.decode()
    assert not PayrollRun.objects.exists()


def test_approve_buttons_only_for_my_own_county(city, city_run, client_for, this_month):
    url = month_url(this_month)
    page_a = client_for(city.user("county_a")).get(url).content.decode()
    assert f'data-testid="approve-{city_run.pk}-510703"' in page_a
    assert f'data-testid="approve-{city_run.pk}-510704"' not in page_a
    assert f'data-testid="release-{city_run.pk}"' not in page_a  # the run is the city's
    page_city = client_for(city.user("city")).get(url).content.decode()
    assert f'data-testid="approve-{city_run.pk}-510703"' in page_city
    assert f'data-testid="release-{city_run.pk}"' in page_city
    page_township = client_for(city.user("township_a")).get(url).content.decode()
    assert "data-testid=\"approve-" not in page_township and "data-testid=\"release-" not in page_township


def test_county_cannot_approve_another_county(city, city_run, client_for, this_month):
    client = client_for(city.user("county_a"))
    response = client.post(month_url(this_month, "approve/"), {"run": city_run.pk, "county": "510704"}, follow=True)
    assert "outside your jurisdiction" in response.content.decode()
    assert not PayrollApproval.objects.exists()


def test_approve_then_release_through_the_pages(city, city_run, client_for, this_month, client):
    url = month_url(this_month)
    for who, county in (("county_a", "510703"), ("county_b", "510704")):
        response = client_for(city.user(who)).post(month_url(this_month, "approve/"), {"run": city_run.pk, "county": county})
        assert response.status_code == 302 and response.url == url + "#runs"
    approvals = {a.county_code: a for a in PayrollApproval.objects.all()}
    assert approvals["510703"].approved_by == city.user("county_a")
    assert (approvals["510704"].line_count, approvals["510704"].total_fen) == (2, 12_500)

    city_client = client_for(city.user("city"))
    page = city_client.get(url).content.decode()
    assert "approved by t-county-a" in page and "approved by t-county-b" in page
    response = city_client.post(month_url(this_month, "release/"), {"run": city_run.pk}, follow=True)
    assert "is released" in response.content.decode()
    city_run.refresh_from_db()
    assert city_run.status == PayrollRun.Status.RELEASED
    page = city_client.get(url).content.decode()
    assert f'data-testid="release-{city_run.pk}"' not in page and "approve-" not in page


def test_release_before_every_county_approved_is_refused(city, city_run, client_for, this_month):
    client_for(city.user("county_a")).post(month_url(this_month, "approve/"), {"run": city_run.pk, "county": "510703"})
    city_client = client_for(city.user("city"))
    page = city_client.get(month_url(this_month)).content.decode()
    assert "Waiting for the approval of" in page
    response = city_client.post(month_url(this_month, "release/"), {"run": city_run.pk}, follow=True)
    assert "counties still to approve: 510704" in response.content.decode()
    city_run.refresh_from_db()
    assert city_run.status == PayrollRun.Status.COMPUTED


def test_township_official_cannot_run_or_approve(city, city_run, client_for, this_month):
    client = client_for(city.user("township_a"))
    page = client.get("/benefits/gaoling/payroll/").content.decode()
    assert "Run the payroll" not in page
    before = list(PaymentLine.objects.order_by("pk").values_list("pk", flat=True))
    response = client.post("/benefits/gaoling/payroll/", {"month": f"{this_month:%Y-%m}", "area": ""})
    assert response.status_code == 200 and "You may not run payrolls." in response.content.decode()
    assert list(PaymentLine.objects.order_by("pk").values_list("pk", flat=True)) == before
    response = client.post(month_url(this_month, "approve/"), {"run": city_run.pk, "county": "510703"}, follow=True)
    assert "You may not approve payrolls." in response.content.decode()
    response = client.post(month_url(this_month, "release/"), {"run": city_run.pk}, follow=True)
    assert "You may not release payrolls." in response.content.decode()
    assert not PayrollApproval.objects.exists()
    city_run.refresh_from_db()
    assert city_run.status == PayrollRun.Status.COMPUTED


def test_a_run_outside_my_jurisdiction_is_not_found(city, gaoling, client_for, this_month):
    run = services.run_payroll(programme_code="gaoling", month=this_month, area_code="510704",
                               acting_user=city.user("city")).run
    response = client_for(city.user("county_a")).post(month_url(this_month, "approve/"), {"run": run.pk, "county": "510704"})
    assert response.status_code == 404
    assert client_for(city.user("county_a")).post(month_url(this_month, "approve/"), {"run": "x"}).status_code == 404


def test_anomalies_are_listed_by_kind(city, city_run, client_for, this_month):
    from yiyang.people.models import Elder

    elder = city.elders["510703"][3]  # aged 92, paid
    Elder.objects.filter(pk=elder.pk).update(status="moved_away", moved_to="成都")
    response = client_for(city.user("county_a")).get(month_url(this_month))
    sections = {s["kind"]: s["rows"] for s in response.context["anomalies"]}
    assert [row["elder_id"] for row in sections["paid_after_move"]] == [elder.pk]
    page = response.content.decode()
    assert 'data-testid="anomaly-paid_after_move"' in page and "moved to 成都" in page


def test_a_run_emptied_by_a_later_run_cannot_be_released(city, gaoling, client_for, this_month):
    county_run = services.run_payroll(programme_code="gaoling", month=this_month, area_code="510703",
                                      acting_user=city.user("county_a")).run
    services.run_payroll(programme_code="gaoling", month=this_month, area_code="5107", acting_user=city.user("city"))
    page = client_for(city.user("city")).get(month_url(this_month)).content.decode()
    assert "holds no payments now" in page
    assert f'data-testid="release-{county_run.pk}"' not in page
