"""Changing the escalation ladder: city officials only, each field checked, audited, new alarms only."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

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


def test_only_city_officials_change_it(city):
    step = EscalationStep.objects.filter(alarm_type="fall").first()
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
