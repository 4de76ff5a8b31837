"""Changing the escalation ladder: each field checked, audited, new alarms only; the city keeps the city-wide
ladder, a county may give itself its own; every ladder in use alerts the supervisor."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yiyang.alarms import escalation, ladder
from yiyang.alarms.models import Alarm, EscalationStep, EscalationTask
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditEntry

GOOD = {"after_seconds": "45", "action": "notify_contacts", "condition": "always", "channel": "sms",
        "emergency_number": "", "is_active": True}


@pytest.fixture(autouse=True)
def fresh_ladder():
    escalation.forget_ladders()
    yield
    escalation.forget_ladders()


@pytest.mark.parametrize("change, field", [
    ({"after_seconds": "-1"}, "after_seconds"), ({"after_seconds": "604801"}, "after_seconds"),
    ({"after_seconds": "soon"}, "after_seconds"), ({"action": "pray"}, "action"),
    ({"condition": "sometimes"}, "condition"), ({"channel": "fax"}, "channel"),
    ({"channel": "push"}, "channel"), ({"channel": ""}, "channel"),
    ({"action": "advise_emergency_call", "emergency_number": "999"}, "emergency_number"),
])
def test_each_wrong_field_is_named(change, field):
    with pytest.raises(ValidationError) as caught:
        ladder.check_step({**GOOD, **change})
    assert list(caught.value.message_dict) == [field]


def test_the_limits_and_numbers_themselves_are_allowed():
    assert ladder.check_step({**GOOD, "after_seconds": "0"})["after_seconds"] == 0
    assert ladder.check_step({**GOOD, "after_seconds": "604800"})["after_seconds"] == 604_800
    for number in ("120", "119", "110"):
        cleaned = ladder.check_step({**GOOD, "action": "advise_emergency_call", "emergency_number": number})
        assert (cleaned["emergency_number"], cleaned["channel"]) == (number, "")


def test_a_change_applies_to_alarms_raised_afterwards_only(city, devices):
    def raise_one(msg_id):
        with transaction.atomic():
            alarm = Alarm.objects.create(device=devices["a_sos"], msg_id=msg_id, type="sos",
                                         elder=devices["a_sos"].elder, area_code=devices["a_sos"].area_id)
            escalation.plan([alarm])
        return alarm

    before = raise_one("before")
    step = EscalationStep.objects.get(alarm_type="sos", action="alert_supervisor")
    ladder.change_step(step.pk, acting_user=city.users["city"], data={
        "after_seconds": "30", "action": "alert_supervisor", "condition": "unacknowledged", "channel": "push",
        "is_active": True})
    added = ladder.add_step("sos", acting_user=city.users["city"], data=GOOD)
    escalation.forget_ladders()  # the commit hook does this in production; tests run inside one transaction
    after = raise_one("after")
    old = EscalationTask.objects.get(alarm=before, step=step)
    new = EscalationTask.objects.get(alarm=after, step=step)
    assert (old.due_at - before.received_at).seconds == 60 and (new.due_at - after.received_at).seconds == 30
    assert EscalationTask.objects.filter(alarm=after, step=added).exists()
    assert not EscalationTask.objects.filter(alarm=before, step=added).exists()
    assert AuditEntry.objects.filter(object_type__icontains="escalationstep").count() == 2


def test_a_switched_off_step_is_not_planned(city, devices):
    step = EscalationStep.objects.get(alarm_type="sos", action="dispatch_worker")
    ladder.change_step(step.pk, acting_user=city.users["city"], data={
        "after_seconds": "300", "action": "dispatch_worker", "condition": "always", "is_active": False})
    escalation.forget_ladders()
    with transaction.atomic():
        alarm = Alarm.objects.create(device=devices["a_sos"], msg_id="x", type="sos", area_code="510703001001")
        escalation.plan([alarm])
    assert not EscalationTask.objects.filter(alarm=alarm, step=step).exists()


def test_only_city_officials_change_the_city_ladder(city):
    step = EscalationStep.objects.filter(alarm_type="fall", county__isnull=True).first()
    for who in ("county_a", "agent", "township_a"):
        with pytest.raises(PermissionDenied):
            ladder.change_step(step.pk, acting_user=city.users[who], data=GOOD)
    page = Client()
    page.force_login(city.users["agent"])
    body = page.get("/alarms/ladder/").content.decode()
    assert "send the nearest available caregiver" in body and 'action="/alarms/ladder/steps/' not in body
    assert page.post(f"/alarms/ladder/steps/{step.pk}/", {}).status_code == 403
    assert Client().get("/alarms/ladder/").status_code == 302  # to the login page


def test_the_page_shows_errors_on_the_step_and_saves_nothing(city):
    step = EscalationStep.objects.get(alarm_type="fall", action="notify_contacts")
    page = Client()
    page.force_login(city.users["city"])
    prefix = f"s{step.pk}"
    response = page.post(f"/alarms/ladder/steps/{step.pk}/", {
        f"{prefix}-after_seconds": "-5", f"{prefix}-action": "notify_contacts", f"{prefix}-condition": "always",
        f"{prefix}-channel": "sms", f"{prefix}-is_active": "on"})
    assert response.status_code == 400
    assert "Give a delay from 0 seconds to 7 days" in response.content.decode()
    step.refresh_from_db()
    assert step.after_seconds == 120
    ok = page.post(f"/alarms/ladder/steps/{step.pk}/", {
        f"{prefix}-after_seconds": "90", f"{prefix}-action": "notify_contacts", f"{prefix}-condition": "always",
        f"{prefix}-channel": "voice", f"{prefix}-is_active": "on"})
    assert ok.status_code == 302 and ok["Location"] == "/alarms/ladder/#type-fall"
    step.refresh_from_db()
    assert (step.after_seconds, step.channel) == (90, "voice")
    added = page.post("/alarms/ladder/types/fall/", {
        "new-fall-after_seconds": "600", "new-fall-action": "advise_emergency_call", "new-fall-condition": "always",
        "new-fall-emergency_number": "110"})
    assert added.status_code == 302
    assert EscalationStep.objects.filter(alarm_type="fall", emergency_number="110").exists()


# --- a county's own ladder ------------------------------------------------------------------------


def raise_in(devices, key: str, msg_id: str, alarm_type: str = "sos") -> Alarm:
    device = devices[key]
    with transaction.atomic():
        alarm = Alarm.objects.create(device=device, msg_id=msg_id, type=alarm_type, elder=device.elder,
                                     area_code=device.area_id)
        escalation.plan([alarm])
    return alarm


def supervisor_delay(alarm: Alarm) -> int:
    task = EscalationTask.objects.get(alarm=alarm, action="alert_supervisor")
    return int((task.due_at - alarm.received_at).total_seconds())


def test_a_countys_own_ladder_replaces_the_citys_for_its_alarms_only(city, devices):
    county_a = city.users["county_a"]
    copied = ladder.give_county_its_own("sos", "510703", acting_user=county_a)
    city_steps = EscalationStep.objects.filter(alarm_type="sos", county__isnull=True, is_active=True)
    assert [(s.after_seconds, s.action) for s in copied] == [(s.after_seconds, s.action) for s in city_steps]
    supervisor = next(s for s in copied if s.action == "alert_supervisor")
    ladder.change_step(supervisor.pk, acting_user=county_a, data={
        "after_seconds": "30", "action": "alert_supervisor", "condition": "unacknowledged", "channel": "push"})
    escalation.forget_ladders()
    in_a, in_b = raise_in(devices, "a_sos", "own-a"), raise_in(devices, "b_sos", "own-b")
    assert supervisor_delay(in_a) == 30 and supervisor_delay(in_b) == 60
    assert {t.step.county_id for t in in_a.tasks.all()} == {"510703"}
    assert {t.step.county_id for t in in_b.tasks.all()} == {None}
    fall = raise_in(devices, "a_sos", "own-a-fall", "fall")  # other types still follow the city
    assert {t.step.county_id for t in fall.tasks.all()} == {None}
    assert AuditEntry.objects.filter(object_type__icontains="escalationstep", area_code="510703").count() == len(copied) + 1


def test_going_back_to_the_city_ladder_retires_the_countys_steps(city, devices):
    county_a = city.users["county_a"]
    first = ladder.give_county_its_own("sos", "510703", acting_user=county_a)
    assert ladder.back_to_city_ladder("sos", "510703", acting_user=county_a) == len(first)
    escalation.forget_ladders()
    alarm = raise_in(devices, "a_sos", "back")
    assert {t.step.county_id for t in alarm.tasks.all()} == {None}
    assert not ladder.has_own_ladder("sos", "510703")
    with pytest.raises(ValidationError):  # a retired step cannot be changed back into use
        ladder.change_step(first[0].pk, acting_user=county_a, data={**GOOD, "action": "alert_supervisor",
                                                                   "channel": "push"})
    again = ladder.give_county_its_own("sos", "510703", acting_user=county_a)  # positions follow on, no clash
    assert min(s.position for s in again) > max(s.position for s in first)
    assert [t.code for t in ladder.ladders("510703") if t.own] == ["sos"]


def test_a_county_official_changes_only_their_own_countys_ladder(city):
    county_a, county_b = city.users["county_a"], city.users["county_b"]
    with pytest.raises(PermissionDenied):
        ladder.give_county_its_own("sos", "510704", acting_user=county_a)
    own_b = ladder.give_county_its_own("sos", "510704", acting_user=county_b)
    for who, step in (("county_a", own_b[0]), ("township_a", own_b[0]), ("agent", own_b[0])):
        with pytest.raises(PermissionDenied):
            ladder.change_step(step.pk, acting_user=city.users[who], data=GOOD)
    with pytest.raises(PermissionDenied):
        ladder.back_to_city_ladder("sos", "510704", acting_user=county_a)
    ladder.back_to_city_ladder("sos", "510704", acting_user=city.users["city"])  # the city may
    with pytest.raises(ValidationError):
        ladder.give_county_its_own("sos", "510703001", acting_user=city.users["city"])  # a township is no county
    with pytest.raises(ValidationError):
        ladder.add_step("sos", acting_user=county_a, data=GOOD, county="510703")  # no own ladder yet


@pytest.mark.parametrize("county", [None, "510703"])
@pytest.mark.parametrize("change", [{"is_active": False}, {"action": "notify_organization", "channel": "sms"}])
def test_no_ladder_in_use_loses_its_supervisor_alert(city, county, change):
    who = city.users["city"]
    if county:
        ladder.give_county_its_own("gas", county, acting_user=who)
    step = EscalationStep.objects.get(alarm_type="gas", county_id=county, action="alert_supervisor", retired=False)
    with pytest.raises(ValidationError) as caught:
        ladder.change_step(step.pk, acting_user=who, data={
            "after_seconds": "60", "action": "alert_supervisor", "condition": "unacknowledged", "channel": "push",
            "is_active": True, **change})
    assert "alerts the supervisor" in " ".join(caught.value.messages)
    step.refresh_from_db()
    assert (step.action, step.is_active) == ("alert_supervisor", True)  # nothing saved half-way
    ladder.add_step("gas", acting_user=who, county=county, data={  # with a second one, the first may go
        "after_seconds": "90", "action": "alert_supervisor", "condition": "always", "channel": "push"})
    ladder.change_step(step.pk, acting_user=who, data={
        "after_seconds": "60", "action": "alert_supervisor", "condition": "unacknowledged", "channel": "push",
        "is_active": True, **change})


def test_the_ladder_page_by_county(city):
    county_page = Client()
    county_page.force_login(city.users["county_a"])
    body = county_page.get("/alarms/ladder/").content.decode()
    assert 'data-testid="city-sos"' in body and 'action="/alarms/ladder/types/sos/own/"' in body
    assert 'action="/alarms/ladder/steps/' not in body  # the city's steps are read-only to a county
    assert county_page.get("/alarms/ladder/?county=510704").status_code == 404
    assert county_page.post("/alarms/ladder/types/sos/own/", {"county": "510704"}).status_code == 404
    assert not EscalationStep.objects.filter(county="510704").exists()
    made = county_page.post("/alarms/ladder/types/sos/own/", {"county": "510703"})
    assert made.status_code == 302 and made["Location"] == "/alarms/ladder/?county=510703#type-sos"
    body = county_page.get(made["Location"]).content.decode()
    own = EscalationStep.objects.filter(county="510703", alarm_type="sos")
    assert 'data-testid="own-sos"' in body and f'action="/alarms/ladder/steps/{own[0].pk}/"' in body
    refused = county_page.post("/alarms/ladder/types/sos/own/", {"county": "510703"})
    assert refused.status_code == 400 and "already has its own ladder" in refused.content.decode()
    added = county_page.post("/alarms/ladder/types/sos/", {
        "county": "510703", "new-sos-after_seconds": "600", "new-sos-action": "advise_emergency_call",
        "new-sos-condition": "always", "new-sos-emergency_number": "110"})
    assert added.status_code == 302 and own.filter(emergency_number="110").exists()

    city_page = Client()
    city_page.force_login(city.users["city"])
    body = city_page.get("/alarms/ladder/").content.decode()
    assert 'name="county"' in body and 'value="510704"' in body and 'data-testid="own-sos"' not in body
    assert 'data-testid="own-sos"' in city_page.get("/alarms/ladder/?county=510703").content.decode()
    back = city_page.post("/alarms/ladder/types/sos/city/", {"county": "510703"})
    assert back.status_code == 302 and not ladder.has_own_ladder("sos", "510703")

    township = Client()
    township.force_login(city.users["township_a"])
    body = township.get("/alarms/ladder/").content.decode()
    assert 'data-testid="city-sos"' in body and "/own/" not in body


# Any sequence of what officials may do to county A's ladders leaves, for every alarm type, a ladder that
# (a) is county A's own active steps while it has an own ladder, else the city's; (b) alerts the supervisor;
# (c) leaves county B on the city ladder. Refused operations change nothing.
OPERATIONS = ("give_own", "back_to_city", "switch_off_one", "switch_off_supervisors", "add_supervisor")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.sampled_from(OPERATIONS), st.sampled_from(["sos", "gas"]), st.integers(0, 5)),
                      max_size=8))
def test_every_sequence_of_changes_keeps_a_sound_ladder(city, steps):
    who = city.users["county_a"]
    with transaction.atomic():
        rollback_to = transaction.savepoint()
        ladder.give_county_its_own("sos", "510703", acting_user=who)  # one own ladder from the start
        for operation, alarm_type, pick in steps:
            own = list(EscalationStep.objects.filter(alarm_type=alarm_type, county="510703", retired=False)
                       .order_by("position"))
            before = sorted(EscalationStep.objects.filter(alarm_type=alarm_type).values_list(
                "pk", "is_active", "retired", "action"))
            try:
                with transaction.atomic():
                    if operation == "give_own":
                        ladder.give_county_its_own(alarm_type, "510703", acting_user=who)
                    elif operation == "back_to_city":
                        ladder.back_to_city_ladder(alarm_type, "510703", acting_user=who)
                    elif operation == "add_supervisor":
                        ladder.add_step(alarm_type, acting_user=who, county="510703", data={
                            "after_seconds": str(30 * pick), "action": "alert_supervisor", "channel": "push"})
                    elif own:
                        targets = ([own[pick % len(own)]] if operation == "switch_off_one"
                                   else [s for s in own if s.action == "alert_supervisor"])
                        for step in targets:
                            ladder.change_step(step.pk, acting_user=who, data={
                                **{f: getattr(step, f) for f in ladder.FIELDS}, "is_active": False})
            except ValidationError:
                after = sorted(EscalationStep.objects.filter(alarm_type=alarm_type).values_list(
                    "pk", "is_active", "retired", "action"))
                assert after == before, operation  # refused as a whole
            escalation.forget_ladders()
            for kind in ("sos", "gas"):
                own_now = EscalationStep.objects.filter(alarm_type=kind, county="510703", retired=False)
                source = own_now if own_now.exists() else EscalationStep.objects.filter(alarm_type=kind,
                                                                                       county__isnull=True)
                planned = escalation.ladder(kind, "510703001001")
                assert planned == list(source.filter(is_active=True).order_by("position"))
                assert any(s.action == "alert_supervisor" for s in planned)
                assert all(s.county_id is None for s in escalation.ladder(kind, "510704001001"))
        transaction.savepoint_rollback(rollback_to)
        escalation.forget_ladders()
