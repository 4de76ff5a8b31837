"""The escalation ladder: timers planned with the alarm, steps run when due and only while they apply,
leases that outlive a dead worker, failures that end in a supervisor alert, and frozen closed alarms."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yiyang.alarms import escalation, services
from yiyang.alarms.models import (
    Alarm,
    AlarmEvent,
    AlarmStatus,
    EscalationAction,
    EscalationStep,
    EscalationTask,
    StepCondition,
    TaskState,
)
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.notifications.models import Notification
from yiyang.people.services import add_contact

T0 = timezone.now().replace(microsecond=0)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def fresh_ladder():
    escalation.forget_ladders()
    yield
    escalation.forget_ladders()


def sos(device, msg_id="m1", type="sos") -> Alarm:
    """An alarm stored the way the listener stores it: with its timers, in one transaction."""
    with transaction.atomic():
        alarm = Alarm.objects.create(device=device, msg_id=msg_id, type=type, received_at=T0, elder=device.elder,
                                     area_code=device.area_id, organization=device.organization)
        escalation.plan([alarm])
    return alarm


def events(alarm) -> list[str]:
    return list(AlarmEvent.objects.filter(alarm=alarm).order_by("at", "id").values_list("status", flat=True))


def task_states(alarm) -> dict[str, str]:
    return {t.action: t.state for t in EscalationTask.objects.filter(alarm=alarm, step__isnull=False)}


def test_the_ladder_is_planned_with_the_alarm(devices):
    alarm = sos(devices["a_sos"])
    ladder = list(EscalationStep.objects.filter(alarm_type="sos", is_active=True).order_by("position"))
    tasks = list(EscalationTask.objects.filter(alarm=alarm).order_by("due_at"))
    assert [(t.action, t.due_at) for t in tasks] == [
        (s.action, T0 + dt.timedelta(seconds=s.after_seconds)) for s in ladder]
    assert {t.state for t in tasks} == {TaskState.PENDING}


def test_listener_stored_alarms_get_their_ladder(devices):
    from yiyang.alarms.store import Accepted, load_device, store_alarms
    from yiyang.alarms.validation import Message

    info = load_device("t-a-sos")
    msg = Message(msg_id="x1", type="fall", device_time=T0, body={"type": "fall"}, fields={}, problems=())
    with transaction.atomic():
        [(status, pk)] = store_alarms([Accepted(info, msg, T0, False)])
    assert status == "stored"
    assert EscalationTask.objects.filter(alarm_id=pk).count() == EscalationStep.objects.filter(alarm_type="fall").count()


def test_steps_run_when_due_and_not_before(devices, city):
    alarm = sos(devices["a_sos"])
    assert escalation.run_due(at(-1)) == 0
    escalation.run_due(at(0))
    assert events(alarm) == [EscalationAction.ADVISE_EMERGENCY_CALL]
    note = AlarmEvent.objects.get(alarm=alarm).note
    assert "120" in note and alarm.elder.address in note
    escalation.run_due(at(59))
    assert task_states(alarm)[EscalationAction.ALERT_SUPERVISOR] == TaskState.PENDING
    escalation.run_due(at(60))
    assert task_states(alarm)[EscalationAction.ALERT_SUPERVISOR] == TaskState.DONE
    # The township official of the alarm's township is the supervisor; the alert is an in-app push.
    push = Notification.objects.get(subject=f"alarm:{alarm.pk}", channel="push")
    assert push.recipient_user == city.users["township_a"]


def test_acknowledged_in_time_skips_the_supervisor(devices, city):
    alarm = sos(devices["a_sos"])
    services.acknowledge_alarm(alarm.pk, acting_user=city.users["agent"])
    escalation.run_due(at(61))
    assert task_states(alarm)[EscalationAction.ALERT_SUPERVISOR] == TaskState.SKIPPED
    assert not Notification.objects.filter(subject=f"alarm:{alarm.pk}", channel="push").exists()


def test_supervisor_falls_back_to_the_county_then_the_city(devices, city):
    alarm = sos(devices["a_sos"])
    city.users["township_a"].is_active = False
    city.users["township_a"].save()
    assert escalation.supervisors(alarm) == [city.users["county_a"]]
    city.users["county_a"].is_active = False
    city.users["county_a"].save()
    assert escalation.supervisors(alarm) == [city.users["city"]]


def test_family_is_called_in_order_until_someone_is_reached(devices, city):
    alarm = sos(devices["a_sos"])
    elder = alarm.elder
    add_contact(elder, acting_user=city.users["city"], name="女儿", relation="daughter", phone="13900000001",
                priority=2)
    add_contact(elder, acting_user=city.users["city"], name="邻居", relation="neighbour", phone="13900000002",
                priority=3)
    escalation.run_due(at(120))
    calls = list(Notification.objects.filter(subject=f"alarm:{alarm.pk}", channel="voice").order_by("id"))
    assert [c.recipient_label.split()[-1] for c in calls] == ["子女"]
    assert "139****0000" in AlarmEvent.objects.filter(alarm=alarm, status="notify_contacts").get().note
    # The first did not answer in time: the second is called 90 s later.
    escalation.run_due(at(209))
    assert Notification.objects.filter(subject=f"alarm:{alarm.pk}", channel="voice").count() == 1
    escalation.run_due(at(210))
    calls = list(Notification.objects.filter(subject=f"alarm:{alarm.pk}", channel="voice").order_by("id"))
    assert [c.recipient_label.split()[-1] for c in calls] == ["子女", "女儿"]
    # The daughter answers: the neighbour is not called.
    Notification.objects.filter(pk=calls[1].pk).update(state="delivered")
    escalation.run_due(at(300))
    assert Notification.objects.filter(subject=f"alarm:{alarm.pk}", channel="voice").count() == 2
    last = AlarmEvent.objects.filter(alarm=alarm, status="notify_contacts").order_by("-id").first()
    assert "reached" in last.note


def test_closing_skips_what_is_left_and_freezes_the_record(devices, city):
    alarm = sos(devices["a_sos"])
    escalation.run_due(at(0))
    services.close_alarm(alarm.pk, acting_user=city.users["agent"], outcome="false_alarm", note="误按")
    assert set(task_states(alarm).values()) == {TaskState.DONE, TaskState.SKIPPED}
    assert escalation.run_due(at(1000)) == 0
    assert events(alarm)[-1] == AlarmStatus.CLOSED
    with pytest.raises(DatabaseError), transaction.atomic():
        Alarm.objects.filter(pk=alarm.pk).update(outcome="hospital")
    with pytest.raises(DatabaseError), transaction.atomic():
        AlarmEvent.objects.create(alarm=alarm, status="late", note="after closing")
    with pytest.raises(DatabaseError), transaction.atomic():
        AlarmEvent.objects.filter(alarm=alarm).update(note="rewritten")
    alarm.refresh_from_db()
    assert alarm.outcome == "false_alarm"


@pytest.mark.parametrize("outcome", ["hospital", "death"])
def test_grave_outcomes_need_a_note(devices, city, outcome):
    alarm = sos(devices["a_sos"])
    with pytest.raises(ValidationError) as caught:
        services.close_alarm(alarm.pk, acting_user=city.users["agent"], outcome=outcome)
    assert "note" in caught.value.message_dict
    assert Alarm.objects.get(pk=alarm.pk).status == AlarmStatus.NEW


def test_a_dead_workers_lease_expires_and_the_step_runs_once(devices):
    alarm = sos(devices["a_sos"])
    taken = escalation.claim(at(0))  # a worker takes the advice step and dies before doing it
    assert len(taken) == 1
    assert escalation.run_due(at(30)) == 0  # still leased
    assert escalation.run_due(at(0) + escalation.LEASE + dt.timedelta(seconds=1)) >= 1
    assert events(alarm).count(EscalationAction.ADVISE_EMERGENCY_CALL) == 1
    escalation.run_task(taken[0], at(200))  # the dead worker "wakes up": the step is not done twice
    assert events(alarm).count(EscalationAction.ADVISE_EMERGENCY_CALL) == 1


def test_a_failing_step_is_retried_then_alerts_the_supervisor(devices, monkeypatch):
    alarm = sos(devices["a_sos"])

    def broken(alarm, task, now):
        raise RuntimeError("gateway down")

    monkeypatch.setitem(escalation.HANDLERS, EscalationAction.NOTIFY_CONTACTS, broken)
    now = at(120)
    for _attempt in range(len(escalation.RETRY_DELAYS) + 1):
        task = EscalationTask.objects.get(alarm=alarm, action=EscalationAction.NOTIFY_CONTACTS, step__isnull=False)
        assert task.state == TaskState.PENDING
        now = max(now, task.due_at)
        escalation.run_due(now)
    task.refresh_from_db()
    assert task.state == TaskState.FAILED and task.attempts == len(escalation.RETRY_DELAYS) + 1
    assert "step_failed" in events(alarm)
    [fallback] = [t for t in EscalationTask.objects.filter(alarm=alarm, step__isnull=True,
                                                           action=EscalationAction.ALERT_SUPERVISOR)
                  if "notify family contacts" in t.params["reason"]]
    assert fallback.condition == StepCondition.ALWAYS and fallback.due_at == now


def test_no_caregiver_means_the_supervisor_is_alerted(devices, monkeypatch):
    from yiyang.alarms import response

    def nobody(alarm, **kwargs):
        raise ValidationError({"worker": ["Nobody is available."]})

    monkeypatch.setattr(response, "dispatch_nearest", nobody)
    alarm = sos(devices["a_sos"])
    escalation.run_due(at(300))
    note = AlarmEvent.objects.get(alarm=alarm, status=EscalationAction.DISPATCH_WORKER).note
    assert "Nobody is available." in note
    assert EscalationTask.objects.filter(alarm=alarm, step__isnull=True, action=EscalationAction.ALERT_SUPERVISOR,
                                         state=TaskState.PENDING).exists()


def test_agent_raises_an_alarm_from_a_call(city):
    agent, elder = city.users["agent"], city.elders["510703"][1]
    alarm = services.raise_alarm(acting_user=agent, elder_id=elder.pk, note="老人说胸口疼")
    assert (alarm.source, alarm.status, alarm.acknowledged_by, alarm.device) == ("agent", "acknowledged", agent, None)
    assert EscalationTask.objects.filter(alarm=alarm).count() == EscalationStep.objects.filter(alarm_type="call").count()
    escalation.run_due(alarm.received_at + dt.timedelta(seconds=61))
    assert task_states(alarm)[EscalationAction.ALERT_SUPERVISOR] == TaskState.SKIPPED  # acknowledged by raising


def test_agent_alarm_outside_jurisdiction_or_without_permission_is_refused(city):
    from yiyang.accounts.models import User
    from yiyang.accounts.roles import Role

    township = User.objects.create(username="t-agent-b", role=Role.HOTLINE_AGENT, scope_area_id="510704")
    with pytest.raises(ValidationError):
        services.raise_alarm(acting_user=township, elder_id=city.elders["510703"][0].pk)
    with pytest.raises(PermissionDenied):
        services.raise_alarm(acting_user=city.users["elder"], elder_id=city.elders["510703"][0].pk)
    assert not Alarm.objects.exists()


def test_run_now_queues_a_step_for_the_worker(devices, city):
    alarm = sos(devices["a_sos"])
    task = escalation.run_now(alarm.pk, EscalationAction.NOTIFY_CONTACTS, acting_user=city.users["agent"],
                              channel="sms")
    assert task.due_at <= timezone.now()
    escalation.run_due(timezone.now())
    assert Notification.objects.filter(subject=f"alarm:{alarm.pk}", channel="sms").count() == 1
    other = city.users["county_b"]
    with pytest.raises(Alarm.DoesNotExist):
        escalation.run_now(alarm.pk, EscalationAction.NOTIFY_CONTACTS, acting_user=other)


# The rule, stated independently: a ladder step runs at the first tick at or after it falls due, if the
# alarm is still open then; an "unless acknowledged" step is skipped if the alarm was acknowledged earlier.
# At the same second the worker's tick comes before the agent's click.
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ack=st.one_of(st.none(), st.integers(0, 400)), close=st.one_of(st.none(), st.integers(0, 400)),
       ticks=st.lists(st.integers(0, 400), min_size=1, max_size=6))
def test_which_steps_run_follows_the_rule(devices, city, ack, close, ticks):
    if ack is not None and close is not None and ack > close:
        ack = None  # nobody acknowledges a closed alarm
    order = {"tick": 0, "ack": 1, "close": 2}
    timeline = sorted([(t, "tick") for t in ticks] + [(ack, "ack")] * (ack is not None)
                      + [(close, "close")] * (close is not None), key=lambda e: (e[0], order[e[1]]))
    with transaction.atomic():
        rollback_to = transaction.savepoint()
        alarm = sos(devices["a_sos"], msg_id="rule")
        for moment, what in timeline:
            if what == "tick":
                escalation.run_due(at(moment))
            elif what == "ack":
                Alarm.objects.filter(pk=alarm.pk).update(status="acknowledged", acknowledged_at=at(moment))
            else:
                services.close_alarm(alarm.pk, acting_user=city.users["agent"], outcome="false_alarm")
        for step in EscalationStep.objects.filter(alarm_type="sos", is_active=True):
            state = EscalationTask.objects.get(alarm=alarm, step=step).state
            run_at = min((t for t in ticks if t >= step.after_seconds), default=None)
            if run_at is None or (close is not None and close < run_at):
                expected = TaskState.SKIPPED if close is not None else TaskState.PENDING
            elif step.condition == StepCondition.UNACKNOWLEDGED and ack is not None and ack < run_at:
                expected = TaskState.SKIPPED
            else:
                expected = TaskState.DONE
            assert state == expected, (step.action, step.after_seconds, ack, close, ticks)
        transaction.savepoint_rollback(rollback_to)


def test_the_api_raises_an_alarm_and_shows_its_escalation(city, api_client_for):
    agent, elder = api_client_for(city.users["agent"]), city.elders["510703"][1]
    response = agent.post("/api/v1/alarms/", {"elder": elder.pk, "type": "fall", "note": "电话里说摔倒了"},
                          format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["type"], body["source"], body["status"]) == ("fall", "agent", "acknowledged")
    ladder = agent.get(f"/api/v1/alarms/{body['id']}/escalation/").json()
    assert [t["action"] for t in ladder["tasks"]] == list(
        EscalationStep.objects.filter(alarm_type="fall").order_by("position").values_list("action", flat=True))
    assert ladder["events"][0]["status"] == "acknowledged"
    # Another county's official neither raises for this elder nor sees the alarm.
    other = api_client_for(city.users["county_b"])
    assert other.post("/api/v1/alarms/", {"elder": elder.pk}, format="json").status_code == 400
    assert other.get(f"/api/v1/alarms/{body['id']}/escalation/").status_code == 404
    assert api_client_for(city.users["elder"]).post("/api/v1/alarms/", {"elder": elder.pk},
                                                    format="json").status_code == 403
    assert Alarm.objects.count() == 1


def test_the_worker_beats_runs_due_steps_and_sends_the_messages(devices, city):
    import argparse

    from yiyang.alarms import worker
    from yiyang.alarms.models import WorkerBeat

    alarm = sos(devices["a_sos"])
    Alarm.objects.filter(pk=alarm.pk).update(received_at=timezone.now() - dt.timedelta(seconds=125))
    EscalationTask.objects.filter(alarm=alarm).update(due_at=timezone.now() - dt.timedelta(seconds=1))
    assert worker.run(argparse.Namespace(once=True, interval=1.0)) == 0
    assert WorkerBeat.objects.get(name=worker.BEAT_NAME).beat_at > timezone.now() - dt.timedelta(seconds=10)
    assert EscalationAction.ADVISE_EMERGENCY_CALL in events(alarm)
    call = Notification.objects.get(subject=f"alarm:{alarm.pk}", channel="voice")
    assert call.state == "sent" and call.attempts == 1  # queued by the step, sent by the same round
