"""The care pages through the Django test client: plans, beds, follow-up calls, complaints, settlements."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from yiyang.homecare import feedback, services
from yiyang.homecare.models import (
    Complaint,
    FamilyCareBed,
    FollowUpCall,
    ServiceOrder,
    ServicePlan,
    Settlement,
)
from yiyang.homecare.rules import Status, week_start
from yiyang.organizations.models import Organization, OrganizationKind

from .visits import visit

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
THIS_WEEK = week_start(TODAY)
LAST_WEEK = THIS_WEEK - dt.timedelta(days=7)
# The month the settlement tests settle: one that has ended and holds no day of last week, so a
# follow-up visit of last week (the browser test confirms one) never joins its statement, whatever
# the day the suite runs (in a month's first week, last week lies in the previous month).
SETTLED_MONTH = (LAST_WEEK.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


@pytest.fixture
def client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def elder_url(elder, suffix=""):
    return f"/homecare/care/elders/{elder.pk}/{suffix}"


# --- plans ----------------------------------------------------------------------------------


def plan_post(care, **overrides):
    data = {"service": "meal", "provider": str(care.provider.pk), "weekdays": ["1", "3"], "window_start": "11:00",
            "window_end": "12:00", "first_day": (TODAY + dt.timedelta(days=1)).isoformat(), "last_day": "",
            "payer": "self", "bed": ""}
    data.update(overrides)
    return data


def test_an_official_plans_a_recurring_service_on_the_elders_page(city, care, client_for):
    client = client_for(city.user("county_a"))
    page = client.get(elder_url(care.elder))
    assert page.status_code == 200 and 'data-testid="plan-form"' in page.content.decode()
    refused = client.post(elder_url(care.elder, "plans/"), plan_post(care, weekdays=[], window_end="10:00"))
    text = refused.content.decode()
    assert refused.status_code == 200 and "Choose at least one weekday" in text and "must end after it starts" in text
    assert not ServicePlan.objects.exists()
    done = client.post(elder_url(care.elder, "plans/"), plan_post(care), follow=True)
    plan = ServicePlan.objects.get()
    assert (plan.weekdays, plan.elder, plan.created_by) == ([1, 3], care.elder, city.user("county_a"))
    assert "The recurring service is planned." in done.content.decode()
    assert f'data-testid="plan-{plan.pk}"' in done.content.decode()


def test_ending_a_plan_on_the_page_needs_a_reason(city, care, client_for):
    client = client_for(city.user("county_a"))
    client.post(elder_url(care.elder, "plans/"), plan_post(care))
    plan = ServicePlan.objects.get()
    url = elder_url(care.elder, f"plans/{plan.pk}/end/")
    refused = client.post(url, {"last_day": (TODAY + dt.timedelta(days=5)).isoformat(), "reason": ""})
    assert "a reason is required" in refused.content.decode()
    client.post(url, {"last_day": (TODAY + dt.timedelta(days=5)).isoformat(), "reason": "入住机构"})
    plan.refresh_from_db()
    assert plan.last_day == TODAY + dt.timedelta(days=5)


def test_another_countys_elder_and_plan_are_404(city, care, client_for):
    client = client_for(city.user("county_b"))
    assert client.get(elder_url(care.elder)).status_code == 404
    assert client.post(elder_url(care.elder, "plans/"), plan_post(care)).status_code == 404
    assert client.post(elder_url(care.elder, "bed/"), {"contract_no": "X"}).status_code == 404
    assert not ServicePlan.objects.exists() and not FamilyCareBed.objects.exists()
    assert client_for(care.nurse.user).get(elder_url(care.elder)).status_code == 403  # no plan permission
    read_only = client_for(city.user("agent")).get(elder_url(care.elder)).content.decode()
    assert care.elder.name in read_only and "plan-form" not in read_only and "bed-form" not in read_only


# --- beds -----------------------------------------------------------------------------------


@pytest.fixture
def institution(city):
    return Organization.objects.create(name="涪城区测试养老院", kind=OrganizationKind.INSTITUTION, area_id="510703001002")


def bed_post(institution, **overrides):
    data = {"institution": str(institution.pk), "contract_no": "JC-1", "first_day": LAST_WEEK.isoformat(),
            "last_day": "", "min_visits_per_week": "2", "care_plan": "每周两次上门", "remote_monitoring": "on"}
    data.update(overrides)
    return data


def test_beds_are_opened_listed_green_or_red_and_ended(city, care, institution, client_for):
    client = client_for(city.user("county_a"))
    refused = client.post(elder_url(care.elder, "bed/"), bed_post(institution, contract_no="", care_plan=""))
    assert "Enter the contract number." in refused.content.decode() and not FamilyCareBed.objects.exists()
    client.post(elder_url(care.elder, "bed/"), bed_post(institution))
    bed = FamilyCareBed.objects.get()
    assert bed.remote_monitoring and bed.institution == institution
    other = city.elders["510703"][3]
    client.post(elder_url(other, "bed/"), bed_post(institution, contract_no="JC-2", min_visits_per_week="1"))
    met = FamilyCareBed.objects.get(elder=other)
    visit(city, care, day=LAST_WEEK + dt.timedelta(days=1), bed=met, elder=other)
    page = client.get(f"/homecare/care/beds/?week={LAST_WEEK.isoformat()}").content.decode()
    assert f'data-testid="compliance-{met.pk}"' in page and f'data-testid="compliance-{bed.pk}"' in page
    assert page.index(f'data-testid="bed-{bed.pk}"') < page.index(f'data-testid="bed-{met.pk}"')  # unmet first
    badge = page[page.index(f'data-testid="compliance-{met.pk}"') - 40:page.index(f'data-testid="compliance-{met.pk}"')]
    assert "text-bg-success" in badge and "1 of 1 visits" in page and "0 of 2 visits" in page
    assert city.elders["510704"][0].name not in page
    refused = client.post(f"/homecare/care/beds/{bed.pk}/end/", {"last_day": TODAY.isoformat(), "reason": ""})
    assert "a reason is required" in refused.content.decode()
    client.post(f"/homecare/care/beds/{bed.pk}/end/", {"last_day": TODAY.isoformat(), "reason": "老人入院"})
    bed.refresh_from_db()
    assert bed.status == "ended"


def test_county_b_sees_no_bed_of_county_a_and_cannot_end_it(city, care, institution, client_for):
    client_for(city.user("county_a")).post(elder_url(care.elder, "bed/"), bed_post(institution))
    bed = FamilyCareBed.objects.get()
    client = client_for(city.user("county_b"))
    assert care.elder.name not in client.get("/homecare/care/beds/").content.decode()
    assert client.post(f"/homecare/care/beds/{bed.pk}/end/", {"last_day": TODAY.isoformat(),
                                                              "reason": "x"}).status_code == 404
    bed.refresh_from_db()
    assert bed.status == "active"


def test_finding_an_elder_stays_in_scope(city, care, client_for):
    page = client_for(city.user("county_a")).get("/homecare/care/?q=老人").content.decode()
    assert care.elder.name in page and city.elders["510704"][1].name not in page


# --- follow-up calls ------------------------------------------------------------------------------


@pytest.fixture
def sampled(city, care):
    """Two visits of last week, both drawn for a follow-up call."""
    orders = [visit(city, care, day=LAST_WEEK + dt.timedelta(days=n)) for n in (1, 2)]
    feedback.sample_follow_ups(LAST_WEEK, share=1.0, seed="pages")
    return orders


def test_an_agent_draws_and_records_follow_up_calls(city, care, client_for):
    visit(city, care, day=LAST_WEEK + dt.timedelta(days=3))
    client = client_for(city.user("agent"))
    client.post("/homecare/care/follow-ups/sample/", {"week": LAST_WEEK.isoformat()})
    call = FollowUpCall.objects.get()
    page = client.get("/homecare/care/follow-ups/").content.decode()  # default: last week's visits
    assert f'data-testid="call-form-{call.pk}"' in page
    assert care.elder.phone_masked in page and care.elder.phone not in page  # masked until revealed
    url = f"/homecare/care/follow-ups/{call.pk}/"
    refused = client.post(url, {"reached": "yes", "service_confirmed": "no", "note": ""}, HTTP_HX_REQUEST="true")
    assert "Note what the elder said." in refused.content.decode()
    assert ServiceOrder.objects.get(pk=call.order_id).status == Status.CHECKED_OUT
    done = client.post(url, {"reached": "yes", "service_confirmed": "yes", "satisfaction": "4", "note": "满意"},
                       HTTP_HX_REQUEST="true")
    text = done.content.decode()
    assert "The call is recorded." in text and "<html" not in text and "satisfaction 4/5" in text
    assert ServiceOrder.objects.get(pk=call.order_id).status == Status.CONFIRMED


def test_a_denied_visit_recorded_on_the_page_is_disputed(city, care, sampled, client_for):
    call = FollowUpCall.objects.get(order=sampled[0])
    client_for(city.user("agent")).post(f"/homecare/care/follow-ups/{call.pk}/",
                                        {"reached": "yes", "service_confirmed": "no", "note": "没有人来"})
    assert ServiceOrder.objects.get(pk=sampled[0].pk).status == Status.DISPUTED


def test_officials_see_the_calls_in_scope_without_forms(city, care, sampled, client_for):
    page = client_for(city.user("county_a")).get(f"/homecare/care/follow-ups/?week={LAST_WEEK}").content.decode()
    assert care.elder.name in page and "call-form-" not in page
    client = client_for(city.user("county_b"))
    assert care.elder.name not in client.get(f"/homecare/care/follow-ups/?week={LAST_WEEK}").content.decode()
    call = FollowUpCall.objects.first()
    assert client.post(f"/homecare/care/follow-ups/{call.pk}/", {"reached": "yes"}).status_code == 403


# --- complaints -----------------------------------------------------------------------------------


def test_an_official_handles_a_complaint_on_the_page(city, care, client_for):
    complaint = Complaint.objects.create(elder=care.elder, provider=care.provider, channel="hotline", text="迟到")
    client = client_for(city.user("township_a"))
    assert "迟到" in client.get("/homecare/care/complaints/").content.decode()
    refused = client.post(f"/homecare/care/complaints/{complaint.pk}/handle/", {"resolution": " "})
    assert "Write how the complaint was resolved." in refused.content.decode()
    client.post(f"/homecare/care/complaints/{complaint.pk}/handle/", {"resolution": "已约谈"})
    complaint.refresh_from_db()
    assert complaint.status == "handled"
    assert "迟到" not in client.get("/homecare/care/complaints/").content.decode()  # the default lists open ones
    assert "迟到" in client.get("/homecare/care/complaints/?status=handled").content.decode()
    other = client_for(city.user("county_b"))
    assert "迟到" not in other.get("/homecare/care/complaints/?status=all").content.decode()
    assert other.post(f"/homecare/care/complaints/{complaint.pk}/handle/", {"resolution": "x"}).status_code == 404


# --- settlements ----------------------------------------------------------------------------------


@pytest.fixture
def last_month(city, care):
    """Two confirmed visits of the settled month; one of them short and not cleared."""
    agent = city.user("agent")
    paid = services.confirm(visit(city, care, day=SETTLED_MONTH + dt.timedelta(days=4)), acting_user=agent)
    short = services.confirm(visit(city, care, day=SETTLED_MONTH + dt.timedelta(days=9), minutes=5), acting_user=agent)
    return paid, short


def settle_post(care, month=SETTLED_MONTH):
    return {"provider": str(care.provider.pk), "month": f"{month:%Y-%m}"}


def test_a_county_official_settles_and_downloads_the_statement(city, care, last_month, client_for):
    client = client_for(city.user("county_a"))
    page = client.get(f"/homecare/care/settlements/?month={SETTLED_MONTH:%Y-%m}").content.decode()
    assert f'data-testid="settle-{care.provider.pk}"' in page
    response = client.post("/homecare/care/settlements/settle/", settle_post(care), follow=True)
    result = Settlement.objects.get()
    text = response.content.decode()
    assert (result.order_count, result.self_pay_fen, result.deduction_fen) == (2, 3_000, 1_500)
    assert 'data-testid="payable">15.00<' in text and f'data-testid="line-{last_month[1].pk}"' in text
    again = client.post("/homecare/care/settlements/settle/", settle_post(care)).content.decode()
    assert "already settled" in again and Settlement.objects.count() == 1
    current = client.post("/homecare/care/settlements/settle/", settle_post(care, TODAY.replace(day=1)))
    assert "Only a month that has ended can be settled." in current.content.decode()
    download = client.get(f"/homecare/care/settlements/{result.pk}/statement/?format=csv")
    assert download["Content-Disposition"].endswith('.csv"')
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert {row[1] for row in rows if row and row[0].isdigit()} == {str(o.pk) for o in last_month}


def test_county_b_neither_sees_nor_settles_county_as_provider(city, care, last_month, client_for):
    client = client_for(city.user("county_b"))
    page = client.get(f"/homecare/care/settlements/?month={SETTLED_MONTH:%Y-%m}").content.decode()
    assert care.provider.name not in page
    client.post("/homecare/care/settlements/settle/", settle_post(care))
    assert not Settlement.objects.exists()
    client_for(city.user("county_a")).post("/homecare/care/settlements/settle/", settle_post(care))
    result = Settlement.objects.get()
    client = client_for(city.user("county_b"))
    assert client.get(f"/homecare/care/settlements/{result.pk}/").status_code == 404
    assert client.get(f"/homecare/care/settlements/{result.pk}/statement/?format=csv").status_code == 404
    assert client.post(f"/homecare/care/settlements/{result.pk}/accept/", {"note": "x"}).status_code == 404
    result.refresh_from_db()
    assert result.status == "issued"


def test_the_provider_sees_and_disputes_its_statement_and_the_county_accepts(city, care, last_month, client_for):
    client_for(city.user("county_a")).post("/homecare/care/settlements/settle/", settle_post(care))
    result = Settlement.objects.get()
    client = client_for(city.user("dispatcher"))
    assert client.post("/homecare/care/settlements/settle/", settle_post(care)).status_code == 403
    page = client.get(f"/homecare/care/settlements/{result.pk}/").content.decode()
    assert 'data-testid="dispute-form"' in page and 'data-testid="accept-form"' not in page
    refused = client.post(f"/homecare/care/settlements/{result.pk}/dispute/", {"text": ""})
    assert "Say what is wrong with the statement." in refused.content.decode()
    client.post(f"/homecare/care/settlements/{result.pk}/dispute/", {"text": "扣减有误"})
    result.refresh_from_db()
    assert (result.status, result.dispute) == ("disputed", "扣减有误")
    official = client_for(city.user("county_a"))
    refused = official.post(f"/homecare/care/settlements/{result.pk}/accept/", {"note": ""})
    assert "dispute was resolved" in refused.content.decode()
    official.post(f"/homecare/care/settlements/{result.pk}/accept/", {"note": "核实后维持"})
    result.refresh_from_db()
    assert result.status == "accepted"


# --- in a browser -----------------------------------------------------------------------------------


def _login(browser, live_server, user):
    from yiyang.conftest import PASSWORD

    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto("/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_url(f"{live_server.url}/")
    return context, page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_in_a_browser_an_agent_records_a_call_and_an_official_settles(browser, live_server, city, care, last_month):
    from playwright.sync_api import expect

    visit(city, care, day=LAST_WEEK + dt.timedelta(days=2))
    feedback.sample_follow_ups(LAST_WEEK, share=1.0, seed="browser")
    call = FollowUpCall.objects.get()
    context, page = _login(browser, live_server, city.user("agent"))
    page.goto("/homecare/care/follow-ups/")
    form = page.get_by_test_id(f"call-form-{call.pk}")
    form.get_by_label("yes").first.check()
    form.get_by_label("yes").nth(1).check()
    form.get_by_label("satisfaction (1–5)").select_option("5")
    form.get_by_role("button", name="Record").click()
    expect(page.get_by_test_id(f"call-{call.pk}")).to_contain_text("The call is recorded.")
    expect(page.get_by_test_id(f"order-status-{call.pk}")).to_contain_text("confirmed")
    assert ServiceOrder.objects.get(pk=call.order_id).status == Status.CONFIRMED
    context.close()

    context, page = _login(browser, live_server, city.user("county_a"))
    page.goto(f"/homecare/care/settlements/?month={SETTLED_MONTH:%Y-%m}")
    page.get_by_test_id(f"settle-{care.provider.pk}").click()
    expect(page.get_by_test_id("payable")).to_have_text("15.00")
    expect(page.get_by_test_id("settlement-status")).to_contain_text("issued to the provider")
    assert Settlement.objects.get().order_count == 2
    context.close()
