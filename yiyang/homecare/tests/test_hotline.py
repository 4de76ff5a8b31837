"""The 12349 hotline: identifying callers, call records, the console's one-or-two-step flows, the API."""

import datetime as dt

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from django.utils import timezone

from yiyang.accounts.roles import Role
from yiyang.conftest import _area, _user, birth_for_age, make_id_number
from yiyang.core import crypto
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditEntry
from yiyang.homecare import hotline
from yiyang.homecare.models import CallRecord, Complaint, FamilyCareBed, ServiceOrder, ServiceType
from yiyang.people.services import add_contact, register_elder

HX = {"HTTP_HX_REQUEST": "true"}


def elder_phone(county: str, n: int) -> str:
    return f"1380000{county[-1]}{n:03d}"  # as the ``city`` personas are registered


@pytest.fixture
def agent(city):
    return city.user("agent")


@pytest.fixture
def page(agent):
    client = Client()
    client.force_login(agent)
    return client


@pytest.fixture
def emergency(care):
    service = ServiceType.objects.create(code="sos", name="紧急援助", kind="emergency", duration_minutes=60,
                                         unit_price_fen=5_000)
    care.profile.services.add(service)
    return service


# --- identifying the caller ------------------------------------------------------------------------


@pytest.mark.parametrize("typed, normal", [
    ("+86 138 0000 3000", "13800003000"), ("0086-138-0000-3000", "13800003000"), ("8613800003000", "13800003000"),
    ("(0816) 234-5678", "08162345678"), ("１３８００００３０００", "13800003000"), ("", ""),
])
def test_numbers_are_normalised(typed, normal):
    assert hotline.normalize_number(typed) == normal


@pytest.mark.parametrize("typed", ["abc", "138-0000-300x", "12"])
def test_what_is_not_a_number_is_refused(typed):
    with pytest.raises(ValidationError):
        hotline.normalize_number(typed)


def test_the_elders_own_phone_identifies_the_elder(city, agent):
    elder = city.elders["510703"][0]
    matches = hotline.identify("+86 138 0000 3000", acting_user=agent)
    assert [(m.elder, m.relation, m.area_code) for m in matches] == [(elder, "self", elder.area_id)]


def test_a_contacts_phone_identifies_the_elders_with_the_relation(city, agent):
    matches = hotline.identify("139-0000-0000", acting_user=agent)
    assert {(m.elder.pk, m.relation, m.contact_name) for m in matches} == {
        (city.elders["510703"][0].pk, "son", "子女"), (city.elders["510704"][0].pk, "son", "子女")}
    # A county official sees only the elder of the own county, although both have the contact.
    for official, county in (("county_a", "510703"), ("county_b", "510704")):
        seen = hotline.identify("13900000000", acting_user=city.user(official))
        assert [m.elder.pk for m in seen] == [city.elders[county][0].pk]


def test_a_landline_stored_with_its_dash_is_found_without_it(city, agent):
    elder = city.elders["510703"][2]
    add_contact(elder, acting_user=city.user("city"), name="邻居王", relation="neighbour", phone="0816-2345678")
    matches = hotline.identify("0816 2345678", acting_user=agent)
    assert [(m.elder.pk, m.relation) for m in matches] == [(elder.pk, "neighbour")]


def test_a_number_outside_the_jurisdiction_gives_no_match(city, agent):
    # An elder of another city (广元), reachable by the number, is not the Mianyang agent's.
    township = _area("510802001", "利州区一街道", 4, True)
    village = _area("510802001001", "利州区001社区", 5, True)
    assert township and village
    root = _user("t-root", Role.CITY_OFFICIAL, is_superuser=True)
    register_elder(acting_user=root, data={"name": "外市老人", "id_number": make_id_number("510802", birth_for_age(70), 7),
                                            "area_code": "510802001001", "phone": "13688880000"})
    assert hotline.identify("13688880000", acting_user=agent) == []
    assert [m.elder.name for m in hotline.identify("13688880000", acting_user=root)] == ["外市老人"]
    # ... and an elder of the sibling county is not the county official's.
    other = elder_phone("510704", 1)
    assert hotline.identify(other, acting_user=city.user("county_a")) == []
    assert [m.elder.pk for m in hotline.identify(other, acting_user=agent)] == [city.elders["510704"][1].pk]


def test_identify_needs_the_registry(city):
    with pytest.raises(PermissionDenied):
        hotline.identify("13800003000", acting_user=city.user("dispatcher"))


# --- the call record -------------------------------------------------------------------------------


def test_a_call_keeps_the_number_encrypted_indexed_and_audited_masked(city, agent):
    elder = city.elders["510703"][0]
    call = hotline.start_call(acting_user=agent, number="+86 138 0000 3000", elder_id=elder.pk)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT caller_number FROM {CallRecord._meta.db_table} WHERE id = %s", [call.pk])
        raw = cursor.fetchone()[0]
    assert "13800003000" not in raw and call.caller_number == "13800003000"
    assert call.caller_index == crypto.blind_index("13800003000", "phone")
    assert (call.area_code, call.agent, call.direction, call.ended_at) == (elder.area_id, agent, "in", None)
    entry = AuditEntry.objects.get(object_type="homecare.callrecord", object_id=str(call.pk))
    assert entry.after["caller_number"] == "138****3000" and "13800003000" not in str(entry.after)


def test_a_call_about_nobody_is_placed_in_the_agents_scope_until_an_elder_is_picked(city, agent):
    call = hotline.start_call(acting_user=agent, number="13900000000")
    assert (call.elder, call.area_code) == (None, "5107")
    elder = city.elders["510704"][0]
    call = hotline.attach_elder(call, acting_user=agent, elder_id=elder.pk)
    assert (call.elder, call.area_code) == (elder, elder.area_id)


def test_only_hotline_accounts_take_calls_and_only_about_their_elders(city):
    with pytest.raises(PermissionDenied):
        hotline.start_call(acting_user=city.user("county_a"), number="13800003000")
    local = _user("t-agent-b", Role.HOTLINE_AGENT, scope_area_id="510704")
    with pytest.raises(ValidationError):
        hotline.start_call(acting_user=local, number="13800003000", elder_id=city.elders["510703"][0].pk)
    assert not CallRecord.objects.exists()


def test_ending_a_call_records_outcome_and_duration_and_refuses_what_did_not_happen(city, agent):
    call = hotline.start_call(acting_user=agent, number="13800003000", elder_id=city.elders["510703"][0].pk)
    CallRecord.objects.filter(pk=call.pk).update(started_at=F("started_at") - dt.timedelta(seconds=95))
    for outcome, problem in (("order", "outcome"), ("complaint", "outcome"), ("consultation", "summary"),
                             ("alarm", "summary"), ("shouting", "outcome")):
        with pytest.raises(ValidationError) as refused:
            hotline.end_call(call, acting_user=agent, outcome=outcome)
        assert problem in refused.value.message_dict
    call = hotline.end_call(call, acting_user=agent, outcome="consultation", summary="问高龄津贴怎么申请")
    assert call.outcome == "consultation" and 95 <= call.duration_seconds < 105
    with pytest.raises(ValidationError, match="already ended"):
        hotline.end_call(call, acting_user=agent, outcome="none")


# --- the console -----------------------------------------------------------------------------------


def test_the_console_is_for_hotline_accounts(city, page):
    response = page.get("/homecare/hotline/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "autofocus" in body and "homecare/hotline.js" in body and "<kbd>Alt</kbd>+<kbd>O</kbd>" in body
    assert 'data-testid="nav-hotline"' in body
    official = Client()
    official.force_login(city.user("county_a"))
    assert official.get("/homecare/hotline/").status_code == 403
    assert 'data-testid="nav-hotline"' not in official.get("/").content.decode()


def test_identify_lists_the_matches_with_masked_data_only(city, page):
    response = page.get("/homecare/hotline/identify/", {"number": "139 0000 0000"}, **HX)
    body = response.content.decode()
    assert response.status_code == 200 and "2 elders match this number" in body
    for elder in (city.elders["510703"][0], city.elders["510704"][0]):
        assert f'data-testid="pick-{elder.pk}"' in body and elder.name in body
    assert "13900000000" not in body and 'data-testid="pick-none"' in body  # the number goes back sealed
    refused = page.get("/homecare/hotline/identify/", {"number": "hello"}, **HX).content.decode()
    assert "Enter a phone number" in refused
    full = page.get("/homecare/hotline/", {"number": "13800003000"})  # a screen-pop link: the whole page
    assert full.status_code == 200 and "<html" in full.content.decode() and city.elders["510703"][0].name in full.content.decode()


def test_a_call_from_a_withheld_number_is_about_nobody_until_the_agent_says(city, page, agent):
    assert 'data-testid="withheld"' in page.get("/homecare/hotline/").content.decode()
    response = page.post("/homecare/hotline/pick/", {}, **HX)
    call = CallRecord.objects.get()
    assert (call.caller_number, call.caller_index, call.elder, call.area_code) == ("", "", None, "5107")
    body = response.content.decode()
    assert "withheld number" in body and "This call is not about a registered elder" in body
    assert 'data-testid="order-form"' not in body and 'data-testid="note-form"' in body


def test_a_sealed_number_that_was_altered_is_refused(city, page):
    token = hotline.seal_number("13800003000")
    altered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = page.post("/homecare/hotline/pick/", {"number": altered, "elder": city.elders["510703"][0].pk}, **HX)
    assert "enter it again" in response.content.decode() and not CallRecord.objects.exists()


def _start(page, elder, number):
    response = page.post("/homecare/hotline/pick/", {"number": hotline.seal_number(number), "elder": elder.pk}, **HX)
    assert response.status_code == 200, response.content
    call = CallRecord.objects.latest("pk")
    assert response["HX-Push-Url"] == f"/homecare/hotline/calls/{call.pk}/"
    return call, response.content.decode()


def test_the_whole_call_creates_an_order_in_one_step_and_ends_in_a_second(city, care, page, agent):
    elder = care.elder
    call, body = _start(page, elder, elder_phone("510703", 1))
    assert (call.elder, call.agent) == (elder, agent)
    # The panel: masked profile, risks, contacts, orders; the actions.
    assert elder.name in body and elder.id_number_masked in body and elder.id_number not in body
    assert elder_phone("510703", 1) not in body and "138****3001" in body
    assert 'data-testid="order-form"' in body and "No orders yet." in body
    day = timezone.localdate() + dt.timedelta(days=1)
    response = page.post(f"/homecare/hotline/calls/{call.pk}/order/", {
        "service": "meal", "provider": care.provider.pk, "day": day.isoformat(), "start": "11:00", "end": "12:00",
        "payer": "self", "note": "少盐"}, **HX)
    body = response.content.decode()
    order = ServiceOrder.objects.get(elder=elder)
    assert (order.channel, order.service_type.code, order.status, order.note, order.created_by) == (
        "hotline", "meal", "requested", "少盐", agent)
    assert timezone.localtime(order.window_start).time() == dt.time(11) and order.window_start.date() == day
    assert f"Order #{order.pk} placed" in body and f'data-order="{order.pk}"' in body
    call.refresh_from_db()
    assert call.order == order and call.ended_at is None
    assert 'value="order" selected' in body  # the end form proposes the outcome
    CallRecord.objects.filter(pk=call.pk).update(started_at=F("started_at") - dt.timedelta(seconds=125))
    response = page.post(f"/homecare/hotline/calls/{call.pk}/end/", {"form": "end", "outcome": "order"}, **HX)
    call.refresh_from_db()
    assert call.outcome == "order" and call.order == order and 125 <= call.duration_seconds < 135
    assert "Call ended after 2:0" in response.content.decode() and response["HX-Push-Url"] == "/homecare/hotline/"
    listing = page.get("/homecare/hotline/calls/").content.decode()
    assert "service order created" in listing and "2:0" in listing and "138****3001" in listing


def test_the_panel_shows_risks_bed_vouchers_and_a_voucher_order_draws_on_the_balance(city, care, page):
    from yiyang.benefits.models import VoucherAccount
    from yiyang.benefits.tests.test_care_subsidies import _grade_programme

    elder = care.elder
    programme = _grade_programme("fuwu", mode="voucher", hardship=())
    VoucherAccount.objects.create(programme=programme, elder=elder, balance_fen=10_000)
    FamilyCareBed.objects.create(elder=elder, institution=care.provider, contract_no="JC-2026-01",
                                 first_day=timezone.localdate(), care_plan="每周两次上门")
    _call, body = _start(page, elder, "")
    assert "JC-2026-01" in body and "100.00" in body and "not assessed" in body
    assert "no emergency contact" in body  # this elder has no contacts
    assert 'value="voucher:fuwu"' in body
    call = CallRecord.objects.get()
    day = timezone.localdate() + dt.timedelta(days=2)
    page.post(f"/homecare/hotline/calls/{call.pk}/order/", {
        "service": "bath", "provider": care.provider.pk, "day": day.isoformat(), "start": "09:00", "end": "11:00",
        "payer": "voucher:fuwu"}, **HX)
    order = ServiceOrder.objects.get()
    assert (order.payer, order.voucher_programme) == ("voucher", "fuwu")
    assert VoucherAccount.objects.get(elder=elder).balance_fen == 2_000


def test_the_panel_shows_hardship_and_contacts_masked(city, page):
    elder = city.elders["510703"][0]
    _call, body = _start(page, elder, "13800003000")
    assert "extremely poor supported (特困)" in body and "139****0000" in body and "13900000000" not in body
    assert "no emergency contact" not in body


def test_a_refused_order_shows_the_services_message_and_saves_nothing(city, care, page):
    call, _body = _start(page, care.elder, "")
    response = page.post(f"/homecare/hotline/calls/{call.pk}/order/", {
        "service": "meal", "provider": care.provider.pk, "day": timezone.localdate().isoformat(), "start": "12:00",
        "end": "11:00", "payer": "self"}, **HX)
    body = response.content.decode()
    assert response.status_code == 200 and "The time window must end after it starts." in body
    assert 'data-action="order" open' in body
    unpaid = page.post(f"/homecare/hotline/calls/{call.pk}/order/", {
        "service": "meal", "provider": care.provider.pk, "day": timezone.localdate().isoformat(), "start": "11:00",
        "end": "12:00", "payer": "voucher:fuwu"}, **HX)  # the elder has no voucher balance to offer
    assert "Select a valid choice." in unpaid.content.decode()
    assert not ServiceOrder.objects.exists() and CallRecord.objects.get(pk=call.pk).order is None


def test_the_order_form_offers_only_providers_serving_the_village(city, care, page):
    elder = city.elders["510704"][0]  # 游仙区: the provider serves 涪城区 only
    call, body = _start(page, elder, "")
    assert "No home-care provider serves the elder's village yet." in body
    response = page.post(f"/homecare/hotline/calls/{call.pk}/order/", {
        "service": "meal", "provider": care.provider.pk, "day": timezone.localdate().isoformat(), "start": "11:00",
        "end": "12:00", "payer": "self"}, **HX)
    assert response.status_code == 200 and not ServiceOrder.objects.exists()


def test_a_complaint_about_an_order_is_recorded_and_linked_to_the_call(city, care, order, page, agent):
    call, body = _start(page, care.elder, "13800003001")
    assert f"#{order.pk}" in body
    refused = page.post(f"/homecare/hotline/calls/{call.pk}/complaint/", {"text": " ", "order": order.pk}, **HX)
    assert "Write down the complaint." in refused.content.decode() and not Complaint.objects.exists()
    response = page.post(f"/homecare/hotline/calls/{call.pk}/complaint/",
                         {"text": "护理员迟到一小时", "order": order.pk}, **HX)
    complaint = Complaint.objects.get()
    assert (complaint.elder, complaint.order, complaint.provider, complaint.channel, complaint.status,
            complaint.created_by) == (care.elder, order, care.provider, "hotline", "open", agent)
    assert "The complaint is recorded." in response.content.decode()
    assert 'data-testid="complaints"' in response.content.decode() and "护理员迟到一小时" in response.content.decode()
    assert AuditEntry.objects.filter(object_type="homecare.complaint", object_id=str(complaint.pk)).exists()
    page.post(f"/homecare/hotline/calls/{call.pk}/end/", {"form": "end", "outcome": "complaint"}, **HX)
    call.refresh_from_db()
    assert (call.outcome, call.complaint) == ("complaint", complaint)


def test_a_consultation_note_ends_the_call_and_needs_a_summary(city, page):
    call, _body = _start(page, city.elders["510703"][0], "13800003000")
    refused = page.post(f"/homecare/hotline/calls/{call.pk}/end/", {"form": "note", "outcome": "consultation"}, **HX)
    assert refused["HX-Retarget"] == "#workspace"
    assert "Write down what was asked and what was answered." in refused.content.decode()
    assert CallRecord.objects.get(pk=call.pk).ended_at is None
    page.post(f"/homecare/hotline/calls/{call.pk}/end/",
              {"form": "note", "outcome": "consultation", "summary": "咨询助餐点位置"}, **HX)
    call.refresh_from_db()
    assert (call.outcome, call.summary) == ("consultation", "咨询助餐点位置") and call.ended_at is not None


def test_emergency_help_raises_an_alarm_on_the_call_and_sends_the_nearest_caregiver(city, care, emergency, page):
    from yiyang.alarms.models import Alarm, EscalationTask

    call, body = _start(page, care.elder, "13800003001")
    assert 'data-testid="emergency-form"' in body
    response = page.post(f"/homecare/hotline/calls/{call.pk}/emergency/", {"type": "fall", "note": "摔倒起不来",
                                                                            "send_caregiver": "on"}, **HX)
    alarm = Alarm.objects.get()
    assert (alarm.type, alarm.source, alarm.call, alarm.elder, alarm.note) == ("fall", "agent", call, care.elder,
                                                                             "摔倒起不来")
    assert alarm.status == "acknowledged" and alarm.acknowledged_by == call.agent
    # The caregiver is a step the alarm worker runs now; the rest of the fall ladder waits its turn.
    now_step = EscalationTask.objects.get(alarm=alarm, step__isnull=True)
    assert now_step.action == "dispatch_worker" and now_step.due_at <= timezone.now()
    assert EscalationTask.objects.filter(alarm=alarm, step__isnull=False).count() > 0
    assert 'value="alarm" selected' in response.content.decode()
    # A second click raises nothing more.
    page.post(f"/homecare/hotline/calls/{call.pk}/emergency/", {"type": "fall"}, **HX)
    assert Alarm.objects.count() == 1
    page.post(f"/homecare/hotline/calls/{call.pk}/end/", {"form": "end", "outcome": "alarm"}, **HX)
    call.refresh_from_db()
    assert call.outcome == "alarm" and not ServiceOrder.objects.exists()


def test_emergency_without_a_provider_still_raises_the_alarm(city, care, page):
    call, body = _start(page, care.elder, "13800003001")
    assert "No provider offers emergency help in the elder&#x27;s village" in body
    page.post(f"/homecare/hotline/calls/{call.pk}/emergency/", {"type": "call"}, **HX)
    from yiyang.alarms.models import Alarm, EscalationTask

    alarm = Alarm.objects.get()
    assert not EscalationTask.objects.filter(alarm=alarm, step__isnull=True).exists()


def test_a_telephony_call_without_an_elder_offers_the_matches_in_the_console(city, page, agent):
    call = hotline.start_call(acting_user=agent, number="13900000000")
    body = page.get(f"/homecare/hotline/calls/{call.pk}/").content.decode()
    assert "Which elder is the call about?" in body
    elder = city.elders["510704"][0]
    response = page.post("/homecare/hotline/pick/", {"call": call.pk, "elder": elder.pk}, **HX)
    assert response.status_code == 200 and CallRecord.objects.count() == 1
    call.refresh_from_db()
    assert (call.elder, call.area_code) == (elder, elder.area_id)


def test_without_htmx_every_step_is_a_plain_page(city, care, page):
    response = page.post("/homecare/hotline/pick/", {"number": hotline.seal_number("13800003001"),
                                                      "elder": care.elder.pk})
    call = CallRecord.objects.get()
    assert call.caller_number == "13800003001"
    assert response.status_code == 302 and response["Location"] == f"/homecare/hotline/calls/{call.pk}/"
    assert care.elder.name in page.get(response["Location"]).content.decode()
    response = page.post(f"/homecare/hotline/calls/{call.pk}/end/", {"form": "end", "outcome": "none"})
    assert response.status_code == 302 and CallRecord.objects.get().outcome == "none"


def test_calls_and_elders_of_another_jurisdiction_are_404(city, care, agent):
    call = hotline.start_call(acting_user=agent, number="13800003001", elder_id=care.elder.pk)
    local = Client()
    local.force_login(_user("t-agent-b", Role.HOTLINE_AGENT, scope_area_id="510704"))
    assert local.get(f"/homecare/hotline/calls/{call.pk}/").status_code == 404
    for action, data in (("order", {"service": "meal"}), ("complaint", {"text": "x"}), ("end", {"outcome": "none"}),
                         ("emergency", {"type": "call"})):
        assert local.post(f"/homecare/hotline/calls/{call.pk}/{action}/", data, **HX).status_code == 404
    refused = local.post("/homecare/hotline/pick/", {"number": "", "elder": care.elder.pk}, **HX)
    assert "No such elder in your jurisdiction." in refused.content.decode()
    assert CallRecord.objects.count() == 1 and CallRecord.objects.get().ended_at is None


def test_the_call_list_shows_the_jurisdictions_calls_masked(city, agent, page):
    a = hotline.start_call(acting_user=agent, number="13800003000", elder_id=city.elders["510703"][0].pk)
    b = hotline.start_call(acting_user=agent, number="13800004000", elder_id=city.elders["510704"][0].pk)
    other_agent = _user("t-agent-2", Role.HOTLINE_AGENT, scope_area_id="5107")
    c = hotline.start_call(acting_user=other_agent, number="13800003002", elder_id=city.elders["510703"][2].pk)
    body = page.get("/homecare/hotline/calls/").content.decode()
    assert "3 calls" in body and "138****3000" in body and "13800003000" not in body
    mine = page.get("/homecare/hotline/calls/", {"mine": "on"}).content.decode()
    assert "2 calls" in mine and city.elders["510703"][2].name not in mine
    county = city.user("county_a")
    official = Client()
    official.force_login(county)
    seen = official.get("/homecare/hotline/calls/").content.decode()
    assert "2 calls" in seen and city.elders["510704"][0].name not in seen
    assert f"/homecare/hotline/calls/{a.pk}/" not in seen  # no console link for officials
    assert set(CallRecord.objects.for_user(county).values_list("pk", flat=True)) == {a.pk, c.pk} != {b.pk}


# --- the API for the telephony system --------------------------------------------------------------


def test_the_telephony_system_starts_a_call_and_gets_the_matches(city, agent, api_client_for):
    api = api_client_for(agent)
    response = api.post("/api/v1/homecare/calls/", {"number": "+86 138 0000 3000", "direction": "in"}, format="json")
    elder = city.elders["510703"][0]
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["matches"] == [{"elder_id": elder.pk, "name": elder.name, "relation": "self",
                                "area_code": elder.area_id}]
    assert (body["elder"], body["caller"], body["area_code"]) == (elder.pk, "138****3000", elder.area_id)
    call = CallRecord.objects.get(pk=body["id"])
    assert (call.agent, call.elder, call.caller_number) == (agent, elder, "13800003000")
    two = api.post("/api/v1/homecare/calls/", {"number": "13900000000"}, format="json").json()
    assert {m["relation"] for m in two["matches"]} == {"son"} and len(two["matches"]) == 2 and two["elder"] is None
    assert api.post("/api/v1/homecare/calls/", {"number": "13900000000", "direction": "up"},
                    format="json").status_code == 400
    assert api.post("/api/v1/homecare/calls/", {"number": "not a number"}, format="json").status_code == 400


def test_the_telephony_system_ends_a_call(city, agent, api_client_for):
    api = api_client_for(agent)
    call_id = api.post("/api/v1/homecare/calls/", {"number": "13800003000"}, format="json").json()["id"]
    bad = api.post(f"/api/v1/homecare/calls/{call_id}/end/", {"outcome": "hung up angrily"}, format="json")
    assert bad.status_code == 400 and "outcome" in bad.json()
    no_summary = api.post(f"/api/v1/homecare/calls/{call_id}/end/", {"outcome": "consultation"}, format="json")
    assert no_summary.status_code == 400 and "summary" in no_summary.json()
    done = api.post(f"/api/v1/homecare/calls/{call_id}/end/", {"outcome": "consultation", "summary": "问政策"},
                    format="json")
    assert done.status_code == 200 and done.json()["outcome"] == "consultation"
    assert done.json()["duration_seconds"] is not None
    assert api.post(f"/api/v1/homecare/calls/{call_id}/end/", {"outcome": "none"}, format="json").status_code == 400


def test_the_api_refuses_accounts_without_the_permission_or_the_jurisdiction(city, agent, api_client_for):
    call = hotline.start_call(acting_user=agent, number="13800003000", elder_id=city.elders["510703"][0].pk)
    for key in ("county_a", "elder", "dispatcher"):
        api = api_client_for(city.user(key))
        assert api.post("/api/v1/homecare/calls/", {"number": "13800003000"}, format="json").status_code == 403
        assert api.post(f"/api/v1/homecare/calls/{call.pk}/end/", {"outcome": "none"},
                        format="json").status_code == 403
    local = api_client_for(_user("t-agent-b", Role.HOTLINE_AGENT, scope_area_id="510704"))
    assert local.post(f"/api/v1/homecare/calls/{call.pk}/end/", {"outcome": "none"}, format="json").status_code == 404
    assert CallRecord.objects.get(pk=call.pk).ended_at is None and CallRecord.objects.count() == 1


def test_the_schema_documents_the_hotline_endpoints(city, agent, api_client_for):
    schema = api_client_for(agent).get("/api/v1/schema/", {"format": "json"}).json()
    start = schema["paths"]["/api/v1/homecare/calls/"]["post"]
    end = schema["paths"]["/api/v1/homecare/calls/{call_id}/end/"]["post"]
    assert start["operationId"] == "homecare_call_start" and "201" in start["responses"]
    assert end["operationId"] == "homecare_call_end" and {"200", "400", "403", "404"} <= set(end["responses"])
    assert "matches" in schema["components"]["schemas"]["CallStartResponse"]["properties"]



def test_the_jurisdiction_walker_finds_no_leak_in_the_hotline_pages(city, care, agent, api_client_for, monkeypatch):
    """With calls in both counties, and officials holding view_callrecord (as the call list intends)."""
    from yiyang.accounts import roles
    from yiyang.core.tests.test_jurisdiction_leaks import walk_as

    for county in ("510703", "510704"):
        elder = city.elders[county][0]
        call = hotline.start_call(acting_user=agent, number=elder.phone, elder_id=elder.pk)
        hotline.end_call(call, acting_user=agent, outcome="consultation", summary=f"{county}咨询")
        hotline.record_complaint(acting_user=agent, elder_id=elder.pk, text=f"{county}投诉")
    monkeypatch.setitem(roles.PERMISSIONS, Role.COUNTY_OFFICIAL,
                        roles.PERMISSIONS[Role.COUNTY_OFFICIAL] | {"homecare.view_callrecord"})
    for viewer in ("county_a", "county_b"):
        pages = walk_as(city, viewer, api_client_for, only="homecare/hotline/")
        api = walk_as(city, viewer, api_client_for, only="homecare/calls/")
        for walk in (pages, api):
            assert not walk.failures, "\n".join(walk.failures[:20])
            assert walk.unsafe_tried
        assert ("page", "/homecare/hotline/calls/") in pages.visited_ok  # the list was seen, scoped
