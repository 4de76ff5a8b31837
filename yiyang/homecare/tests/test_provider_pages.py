"""The dispatcher's pages through the Django test client: the orders board and its actions,
workers, shifts and leave, the day plan. Scoped to the provider; every change via services."""

import datetime as dt
import re

import pytest
from django.test import Client

from yiyang.accounts.roles import Role
from yiyang.conftest import _user
from yiyang.core.models import AuditEntry
from yiyang.homecare import services
from yiyang.homecare.models import Leave, ServiceOrder, Shift, Worker
from yiyang.organizations.models import Organization, OrganizationKind

from .conftest import DAY, HOME, at

pytestmark = pytest.mark.django_db

BOARD = "/homecare/provider/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def board(client, **params):
    return client.get(BOARD, {"day": DAY.isoformat(), **params})


def act(order, action):
    return f"/homecare/provider/orders/{order.pk}/{action}/"


def row_of(html: str, order) -> str:
    match = re.search(rf'<tr id="order-{order.pk}".*?</tr>', html, re.S)
    assert match, f"no row for order {order.pk}"
    return match.group(0)


def meal(city, care, hour=14, day=DAY):
    return services.create_order(acting_user=city.user("agent"), elder_id=care.elder.pk, service_code="meal",
                                 provider_id=care.provider.pk, window_start=at(hour, day=day),
                                 window_end=at(hour + 1, day=day))


def other_provider_dispatcher():
    other = Organization.objects.create(name="别家服务中心", kind=OrganizationKind.PROVIDER, area_id="510703001002")
    return _user("t-other-dispatcher", Role.PROVIDER_DISPATCHER, organization=other)


# --- the board -------------------------------------------------------------------------------------


def test_the_board_shows_the_days_orders_with_masked_phones_and_filters(city, care, order):
    later = meal(city, care, hour=15)
    tomorrow = meal(city, care, day=DAY + dt.timedelta(days=1))
    client = login(city.user("dispatcher"))
    html = board(client).content.decode()
    assert f'id="order-{order.pk}"' in html and f'id="order-{later.pk}"' in html
    assert f'id="order-{tomorrow.pk}"' not in html
    assert html.index(f'id="order-{order.pk}"') < html.index(f'id="order-{later.pk}"')  # by time window
    row = row_of(html, order)
    assert care.elder.name in row and care.elder.area.name in row and "09:00–11:00" in row and "助浴" in row
    assert care.elder.phone_masked in row and care.elder.phone not in html
    services.accept(order, acting_user=city.user("dispatcher"))
    html = board(client, status="accepted").content.decode()
    assert f'id="order-{order.pk}"' in html and f'id="order-{later.pk}"' not in html
    services.assign(ServiceOrder.objects.get(pk=order.pk), care.nurse, acting_user=city.user("dispatcher"))
    assert f'id="order-{later.pk}"' not in board(client, worker=care.nurse.pk).content.decode()
    html = board(client, worker="none").content.decode()
    assert f'id="order-{later.pk}"' in html and f'id="order-{order.pk}"' not in html


def test_the_board_is_for_the_providers_own_staff_only(city, care, order):
    assert login(city.user("county_a")).get(BOARD).status_code == 403
    assert login(care.nurse.user).get(BOARD).status_code == 403
    stranger = login(other_provider_dispatcher())
    assert f'id="order-{order.pk}"' not in board(stranger).content.decode()
    for action in ("accept", "unassign", "cancel", "clear-review", "photo"):
        response = stranger.post(act(order, action), {"reason": "x", "note": "x"}) if action != "photo" \
            else stranger.get(act(order, action))
        assert response.status_code == 404, action
    assert ServiceOrder.objects.get(pk=order.pk).status == "requested"


def test_accepting_through_htmx_answers_with_the_refreshed_row_and_without_htmx_redirects(city, care, order):
    client = login(city.user("dispatcher"))
    response = client.post(act(order, "accept"), **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="order-{order.pk}"') and "Order accepted." in html
    assert 'data-status="accepted"' in html and ServiceOrder.objects.get(pk=order.pk).status == "accepted"
    response = client.post(act(order, "accept"))  # again: the service refuses, shown as a message
    assert response.status_code == 302 and f"day={DAY.isoformat()}" in response["Location"]
    shown = [str(m) for m in response.wsgi_request._messages]
    assert any("cannot become" in m for m in shown)


def test_the_worker_select_disables_unfit_workers_with_the_reason(city, care, order):
    client = login(city.user("dispatcher"))
    services.accept(order, acting_user=city.user("dispatcher"))
    row = row_of(board(client).content.decode(), order)
    nurse = re.search(rf'<option value="{care.nurse.pk}"[^>]*>', row).group(0)
    helper = re.search(rf'<option value="{care.helper.pk}"[^>]*>[^<]*', row).group(0)
    assert "disabled" not in nurse
    assert "disabled" in helper and "lacks the skill 护理" in helper
    assert 'name="expected_worker_id" value=""' in row
    # A forged post for the unfit worker gets the service's reason, and nothing changes.
    html = client.post(act(order, "assign"), {"worker": care.helper.pk, "expected_worker_id": ""}, **HTMX).content.decode()
    assert "lacks the skill" in html and ServiceOrder.objects.get(pk=order.pk).worker is None


def test_two_dispatchers_assigning_the_same_order_the_second_is_told_and_the_first_keeps_it(city, care):
    lunch = meal(city, care)
    services.accept(lunch, acting_user=city.user("dispatcher"))
    first, second = login(city.user("dispatcher")), login(care.second_dispatcher)
    seen = [row_of(board(c).content.decode(), lunch) for c in (first, second)]  # both see it unassigned
    expected = [re.search(r'name="expected_worker_id" value="(\d*)"', row).group(1) for row in seen]
    assert expected == ["", ""]
    ok = first.post(act(lunch, "assign"), {"worker": care.nurse.pk, "expected_worker_id": expected[0]}, **HTMX)
    assert "Assigned to 护理员甲." in ok.content.decode()
    late = second.post(act(lunch, "assign"), {"worker": care.helper.pk, "expected_worker_id": expected[1]}, **HTMX)
    html = late.content.decode()
    assert "Someone else changed this order just now" in html and "护理员甲" in html
    assert ServiceOrder.objects.get(pk=lunch.pk).worker == care.nurse
    # The refreshed row now carries the new worker, so a deliberate reassignment works.
    assert f'name="expected_worker_id" value="{care.nurse.pk}"' in html
    again = second.post(act(lunch, "assign"), {"worker": care.helper.pk, "expected_worker_id": care.nurse.pk}, **HTMX)
    assert "Assigned to 助理乙." in again.content.decode()
    assert ServiceOrder.objects.get(pk=lunch.pk).worker == care.helper


def test_unassign_and_cancel_with_a_reason(city, care):
    lunch = meal(city, care)
    dispatcher = city.user("dispatcher")
    services.assign(services.accept(lunch, acting_user=dispatcher), care.helper, acting_user=dispatcher)
    client = login(dispatcher)
    html = client.post(act(lunch, "unassign"), **HTMX).content.decode()
    assert "no longer assigned" in html and ServiceOrder.objects.get(pk=lunch.pk).worker is None
    html = client.post(act(lunch, "cancel"), {"reason": " "}, **HTMX).content.decode()
    assert "a reason is required" in html and ServiceOrder.objects.get(pk=lunch.pk).status == "accepted"
    html = client.post(act(lunch, "cancel"), {"reason": "老人住院"}, **HTMX).content.decode()
    assert "Order cancelled." in html and ServiceOrder.objects.get(pk=lunch.pk).status == "cancelled"
    assert lunch.events.filter(to_status="cancelled", note="老人住院").exists()


def test_a_flagged_visit_is_cleared_with_a_note(city, care, order):
    dispatcher = city.user("dispatcher")
    order = services.assign(services.accept(order, acting_user=dispatcher), care.nurse, acting_user=dispatcher)
    order = services.check_in(order, acting_user=care.nurse.user, latitude=None, longitude=None, at=at(9, 5))
    services.check_out(order, acting_user=care.nurse.user, latitude=HOME[0], longitude=HOME[1], at=at(10, 10))
    client = login(dispatcher)
    row = row_of(board(client).content.decode(), order)
    assert "no location at check-in" in row and f'data-testid="clear-{order.pk}"' in row
    html = client.post(act(order, "clear-review"), {"note": ""}, **HTMX).content.decode()
    assert "Say why the flagged visit is acceptable." in html
    html = client.post(act(order, "clear-review"), {"note": "老人电话确认已服务"}, **HTMX).content.decode()
    assert "review cleared" in html and f'data-testid="clear-{order.pk}"' not in html
    assert ServiceOrder.objects.get(pk=order.pk).review_cleared_by == dispatcher


# --- workers, shifts, leave -----------------------------------------------------------------------


def test_the_workers_page_masks_phones_and_highlights_certificates(city, care, settings):
    Worker.objects.filter(pk=care.nurse.pk).update(phone="13912345678")
    today = dt.date.today()
    care.nurse.worker_skills.filter(skill__code="nursing").update(valid_until=today + dt.timedelta(days=10))
    care.helper.worker_skills.update(valid_until=today - dt.timedelta(days=1))
    html = login(city.user("dispatcher")).get("/homecare/provider/workers/").content.decode()
    assert "139****5678" in html and "13912345678" not in html
    nurse_row = re.search(rf'<tr data-testid="worker-{care.nurse.pk}".*?</tr>', html, re.S).group(0)
    helper_row = re.search(rf'<tr data-testid="worker-{care.helper.pk}".*?</tr>', html, re.S).group(0)
    assert 'data-certificate="expiring"' in nurse_row and 'data-certificate="expired"' in helper_row
    assert 'data-certificate="expired"' not in nurse_row


def test_adding_a_worker_through_the_form(city, care):
    client = login(city.user("dispatcher"))
    login_user = _user("t-new-carer", Role.CAREGIVER, organization=city.provider)
    page = client.get("/homecare/provider/workers/").content.decode()
    assert f'<option value="{login_user.pk}">' in page and f'<option value="{care.nurse.user.pk}">' not in page
    bad = client.post("/homecare/provider/workers/add/", {"name": "王芳", "base_latitude": "31.4", "base_longitude": "",
                                                          "skill_nursing": "on"})
    html = bad.content.decode()
    assert bad.status_code == 200 and "Enter a longitude between -180 and 180." in html
    assert "needs a certificate" in html and not Worker.objects.filter(name="王芳").exists()
    good = client.post("/homecare/provider/workers/add/", {
        "name": "王芳", "phone": "13700001111", "base_latitude": "31.4", "base_longitude": "104.7",
        "user": login_user.pk, "skill_nursing": "on", "cert_nursing": "HL-77", "until_nursing": "2027-06-30",
        "skill_bathing": "on"})
    assert good.status_code == 302
    worker = Worker.objects.get(name="王芳")
    assert worker.user == login_user and worker.provider == city.provider
    assert sorted(worker.worker_skills.values_list("skill__code", "certificate_no")) == [("bathing", ""), ("nursing", "HL-77")]


def test_recording_shifts_and_leave_through_the_forms(city, care, order):
    client = login(city.user("dispatcher"))
    dispatcher = city.user("dispatcher")
    services.assign(services.accept(order, acting_user=dispatcher), care.nurse, acting_user=dispatcher)
    response = client.post("/homecare/provider/shifts/add/", {
        "worker": care.nurse.pk, "day": DAY.isoformat(), "until": (DAY + dt.timedelta(days=2)).isoformat(),
        "start": "08:00", "end": "17:00", "break_start": "12:00", "break_minutes": "60"})
    assert response.status_code == 302 and Shift.objects.filter(worker=care.nurse).count() == 3
    bad = client.post("/homecare/provider/shifts/add/", {"worker": care.nurse.pk, "day": DAY.isoformat(),
                                                         "start": "17:00", "end": "08:00"})
    assert "The shift must end after it starts." in bad.content.decode()
    response = client.post("/homecare/provider/leave/add/", {"worker": care.nurse.pk, "first_day": DAY.isoformat(),
                                                             "last_day": DAY.isoformat(), "reason": "事假"}, follow=True)
    html = response.content.decode()
    assert Leave.objects.filter(worker=care.nurse, reason="事假").exists()
    assert "still has 1 open orders in that period" in html
    stranger = other_provider_dispatcher()
    foreign = login(stranger).post("/homecare/provider/leave/add/", {
        "worker": care.helper.pk, "first_day": DAY.isoformat(), "last_day": DAY.isoformat()})
    assert foreign.status_code == 200 and "Select a valid choice" in foreign.content.decode()
    assert not Leave.objects.filter(worker=care.helper).exists()


def test_a_workers_page_saves_skills_and_is_a_404_for_other_providers(city, care):
    client = login(city.user("dispatcher"))
    url = f"/homecare/provider/workers/{care.helper.pk}/"
    assert client.get(url).status_code == 200
    assert login(other_provider_dispatcher()).get(url).status_code == 404
    response = client.post(url + "skills/", {"skill_nursing": "on", "cert_nursing": "HL-5", "until_nursing": "2027-01-31"})
    assert response.status_code == 302
    assert list(care.helper.worker_skills.values_list("skill__code", flat=True)) == ["nursing"]
    assert AuditEntry.objects.filter(object_type="homecare.worker", object_id=str(care.helper.pk)).exists()


# --- the day page -----------------------------------------------------------------------------------


def test_the_day_page_draws_a_lane_per_worker_and_a_map_of_the_visits(city, care, order):
    dispatcher = city.user("dispatcher")
    services.assign(services.accept(order, acting_user=dispatcher), care.nurse, acting_user=dispatcher)
    lunch = meal(city, care, hour=13)
    Shift.objects.create(worker=care.nurse, day=DAY, start=dt.time(8), end=dt.time(17), break_start=dt.time(12),
                         break_minutes=60)
    html = login(dispatcher).get("/homecare/provider/day/", {"day": DAY.isoformat()}).content.decode()
    nurse_lane = re.search(rf'data-testid="lane-{care.nurse.pk}".*?</div>\s*</div>', html, re.S).group(0)
    assert f'data-testid="block-{order.pk}"' in nurse_lane and "yy-shift" in nurse_lane and "yy-break" in nurse_lane
    unassigned = re.search(r'data-testid="lane-unassigned".*?</div>\s*</div>', html, re.S).group(0)
    assert f'data-testid="block-{lunch.pk}"' in unassigned
    # 09:00 on an 08:00–18:00 axis is 10 % from the left; a 60-minute visit is 10 % wide.
    block = re.search(rf'style="left: ([\d.]+)%; width: ([\d.]+)%[^"]*"\s*title="[^"]*"\s*data-testid="block-{order.pk}"',
                      html).group(0)
    assert "left: 10.0%" in block and "width: 10.0%" in block
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert svg.count("<circle") == 2 and svg.count("<polyline") == 1  # the nurse's base → the visit
    past = login(dispatcher).get("/homecare/provider/day/", {"day": "2020-01-01"}).content.decode()
    assert ('data-testid="plan-day"' in html) == (DAY >= dt.date.today()) and 'data-testid="plan-day"' not in past


def test_the_map_projection_keeps_north_up_east_right_and_fits_the_box():
    from yiyang.homecare.daycharts import Projection

    project = Projection.fit([(31.40, 104.60), (31.50, 104.80)], 640, 440)
    (x1, y1), (x2, y2) = project(31.40, 104.60), project(31.50, 104.80)
    assert x2 > x1 and y2 < y1  # east is right, north is up
    assert all(20 <= x <= 620 for x in (x1, x2)) and all(20 <= y <= 420 for y in (y1, y2))
    assert x2 - x1 == pytest.approx(600, abs=0.2)  # the wider extent fills the box
    # One scale for both axes: 0.1° of latitude is drawn cos(31.45°)⁻¹ × longer than 0.1° of longitude.
    assert (y1 - y2) / ((x2 - x1) / 2) == pytest.approx(1 / 0.8531, rel=1e-3)
    assert Projection.fit([(31.0, 104.0)], 640, 440)(31.0, 104.0) == (320.0, 220.0)  # one point: the centre


@pytest.mark.parametrize("until, state", [(None, ""), (-1, "expired"), (0, "expiring"), (30, "expiring"), (31, "")])
def test_certificate_states(until, state):
    from yiyang.homecare.tables_provider import certificate_state

    assert certificate_state(None if until is None else DAY + dt.timedelta(days=until), DAY) == state
