"""The alarm console's pages: the queue (most urgent, then oldest first), scoping, the partials, the
actions with their errors on the form, and the polling cursor that returns only what changed."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from yiyang.alarms import console, escalation, services
from yiyang.alarms.models import (
    Alarm,
    AlarmEvent,
    AlarmSource,
    AlarmStatus,
    EscalationAction,
    EscalationTask,
    TaskState,
    WorkerBeat,
)
from yiyang.core.models import AuditAction, AuditEntry
from yiyang.notifications import services as notifications
from yiyang.people.services import add_contact

HX = {"HTTP_HX_REQUEST": "true"}


def make(elder, type: str, priority: int, minutes_ago: float, **fields) -> Alarm:
    """An alarm stored as the listener stores one: with its ladder, in one transaction."""
    with transaction.atomic():
        alarm = Alarm.objects.create(device=None, source=AlarmSource.PLATFORM, msg_id=f"@t:{uuid.uuid4().hex[:8]}",
                                     type=type, priority=priority, elder=elder, area_code=elder.area_id,
                                     received_at=timezone.now() - dt.timedelta(minutes=minutes_ago), **fields)
        escalation.plan([alarm])
    return alarm


@pytest.fixture
def alarms(city):
    a, b = city.elders["510703"], city.elders["510704"]
    made = {
        "p2_old": make(a[1], "geofence_exit", 2, 30),
        "p1_new": make(a[0], "sos", 1, 1),
        "p1_old": make(a[2], "fall", 1, 10),
        "p3": make(a[3], "device_offline", 3, 60),
        "closed": make(a[0], "sos", 1, 90),
        "other_county": make(b[0], "sos", 1, 5),
    }
    services.close_alarm(made["closed"].pk, acting_user=city.user("agent"), outcome="false_alarm")
    return made


def queue_ids(content: bytes) -> list[int]:
    return [int(pk) for pk in re.findall(rb'data-alarm="(\d+)"', content)]


def login(client, user):
    client.force_login(user)
    return client


def chinese(client):
    client.cookies["django_language"] = "zh-hans"
    return client


# --- the queue -----------------------------------------------------------------------------------


def test_the_queue_is_most_urgent_first_then_oldest_first_open_only(client, city, alarms):
    response = login(client, city.user("county_a")).get(reverse("alarms:console"))
    assert response.status_code == 200
    assert queue_ids(response.content) == [alarms[k].pk for k in ("p1_old", "p1_new", "p2_old", "p3")]
    assert response.context["total"] == 4
    # The hotline agent's jurisdiction is the whole city: the other county's SOS fits between by age.
    response = login(client, city.user("agent")).get(reverse("alarms:console"))
    assert queue_ids(response.content) == [alarms[k].pk for k in ("p1_old", "other_county", "p1_new", "p2_old", "p3")]


def test_a_queue_line_shows_type_elder_village_age_status_and_next_step(client, city, alarms):
    response = login(client, city.user("county_a")).get(reverse("alarms:console"))
    row = re.search(rb'<li[^>]*data-alarm="%d".*?</li>' % alarms["p1_old"].pk, response.content, re.S).group(0).decode()
    elder = city.elders["510703"][2]
    assert "fall" in row and elder.name in row and elder.area.name in row
    assert 'data-since="' in row and "new" in row
    step = EscalationTask.objects.filter(alarm=alarms["p1_old"], state=TaskState.PENDING).order_by("due_at").first()
    assert step is not None and step.get_action_display() in row and 'data-due="' in row


def test_the_console_is_for_those_who_see_alarms(client, city, alarms):
    assert login(client, city.user("dispatcher")).get(reverse("alarms:console")).status_code == 403
    assert 'data-testid="nav-alarms"' not in client.get(reverse("home")).content.decode()
    login(client, city.user("agent"))
    assert 'data-testid="nav-alarms"' in client.get(reverse("home")).content.decode()
    client.logout()
    assert client.get(reverse("alarms:console")).status_code == 302  # to the login page


def test_another_countys_alarm_is_not_found_anywhere(client, city, alarms):
    login(client, city.user("county_b"))
    theirs = alarms["p1_old"].pk
    assert client.get(reverse("alarms:console_alarm", args=[theirs]), **HX).status_code == 404
    assert client.get(reverse("alarms:console"), {"alarm": theirs}).status_code == 404
    assert client.get(reverse("alarms:console_live", args=[theirs])).status_code == 404
    assert client.post(reverse("alarms:console_acknowledge", args=[theirs]), **HX).status_code == 404
    assert client.post(reverse("alarms:console_close", args=[theirs]), {"outcome": "false_alarm"}, **HX).status_code == 404
    assert client.post(reverse("alarms:console_step", args=[theirs]), {"action": "alert_supervisor"}, **HX).status_code == 404
    assert client.get(reverse("alarms:console_rows"), {"ids": str(theirs)}).json()["rows"] == []
    assert Alarm.objects.get(pk=theirs).status == AlarmStatus.NEW
    assert queue_ids(client.get(reverse("alarms:console")).content) == [alarms["other_county"].pk]


# --- one alarm -----------------------------------------------------------------------------------


def test_the_alarm_partial_has_profile_contacts_ladder_and_timeline(client, city, alarms):
    alarm = alarms["p1_new"]
    elder = city.elders["510703"][0]
    add_contact(elder, acting_user=city.user("city"), name="女儿", relation="daughter", phone="13711112222")
    login(client, city.user("agent"))
    response = client.get(reverse("alarms:console_alarm", args=[alarm.pk]), **HX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert [t.name for t in response.templates][0] == "alarms/_detail.html"
    assert f'data-alarm-id="{alarm.pk}"' in html and elder.name in html
    assert "139****0000" in html and "13900000000" not in html  # the contacts' phones, masked
    assert "137****2222" in html and "13711112222" not in html
    assert html.index("子女") < html.index("女儿")  # call order
    assert 'data-testid="risks"' in html  # hardship (特困) and the like, from the hotline's risk flags
    tasks = EscalationTask.objects.filter(alarm=alarm)
    assert tasks.exists() and all(f'data-testid="ladder-{t.pk}"' in html for t in tasks)
    assert 'data-testid="acknowledge"' in html and 'data-testid="close-form"' in html
    # Without htmx the address of the partial is the console with the alarm open.
    page = client.get(reverse("alarms:console_alarm", args=[alarm.pk]))
    assert page.status_code == 302 and page.url.endswith(f"?alarm={alarm.pk}")
    full = client.get(page.url)
    assert full.status_code == 200 and f'data-alarm-id="{alarm.pk}"' in full.content.decode()
    live_part = client.get(reverse("alarms:console_live", args=[alarm.pk])).content.decode()
    assert 'id="alarm-live"' in live_part and 'id="alarm-history"' in live_part and "<html" not in live_part


def test_acknowledging_updates_the_alarm_and_says_so(client, city, alarms):
    alarm = alarms["p1_new"]
    login(client, city.user("agent"))
    response = client.post(reverse("alarms:console_acknowledge", args=[alarm.pk]), **HX)
    assert response.status_code == 200
    assert 'data-testid="notice"' in response.content.decode()
    assert f'"id": {alarm.pk}' in response["HX-Trigger"]
    alarm.refresh_from_db()
    assert (alarm.status, alarm.acknowledged_by) == (AlarmStatus.ACKNOWLEDGED, city.user("agent"))
    assert 'data-testid="acknowledge"' not in response.content.decode()


def test_acknowledging_twice_is_refused_on_the_page_in_chinese(client, city, alarms):
    alarm = alarms["p1_new"]
    chinese(login(client, city.user("agent")))
    client.post(reverse("alarms:console_acknowledge", args=[alarm.pk]), **HX)
    response = client.post(reverse("alarms:console_acknowledge", args=[alarm.pk]), **HX)
    html = response.content.decode()
    assert response.status_code == 200
    error = re.search(r'data-testid="error">(.*?)</div>', html).group(1)
    assert "该告警当前为" in error


def test_closing_without_an_outcome_shows_the_error_on_the_form_in_chinese(client, city, alarms):
    alarm = alarms["p1_new"]
    chinese(login(client, city.user("agent")))
    response = client.post(reverse("alarms:console_close", args=[alarm.pk]), {"outcome": "", "note": ""}, **HX)
    html = response.content.decode()
    assert response.status_code == 200
    form = html[html.index('data-action="close"'):]
    assert form.startswith('data-action="close" open')
    assert "请选择告警的处置结果" in form[:form.index("</details>")]
    assert Alarm.objects.get(pk=alarm.pk).status == AlarmStatus.NEW


def test_a_hospital_outcome_needs_the_hospital_named(client, city, alarms):
    alarm = alarms["p1_new"]
    login(client, city.user("agent"))
    response = client.post(reverse("alarms:console_close", args=[alarm.pk]), {"outcome": "hospital"}, **HX)
    html = response.content.decode()
    note_field = html[html.index('id="close_note"'):]
    assert "Name the hospital." in note_field[:note_field.index("</div>\n</div>") + 20]
    assert Alarm.objects.get(pk=alarm.pk).status == AlarmStatus.NEW


def test_closing_with_an_outcome_freezes_the_alarm_and_takes_it_off_the_queue(client, city, alarms):
    alarm = alarms["p1_new"]
    login(client, city.user("agent"))
    response = client.post(reverse("alarms:console_close", args=[alarm.pk]),
                           {"outcome": "hospital", "note": "市中心医院"}, **HX)
    assert 'data-testid="notice"' in response.content.decode()
    alarm.refresh_from_db()
    assert (alarm.status, alarm.outcome) == (AlarmStatus.CLOSED, "hospital")
    assert not EscalationTask.objects.filter(alarm=alarm, state=TaskState.PENDING).exists()
    assert alarm.pk not in queue_ids(client.get(reverse("alarms:console")).content)
    row = client.get(reverse("alarms:console_rows"), {"ids": str(alarm.pk)}).json()["rows"]
    assert row == [{"id": alarm.pk, "open": False, "priority": 1, "status": "closed", "html": ""}]


def test_notify_the_family_now_and_alert_the_supervisor_now_queue_the_step_at_once(client, city, alarms):
    alarm = alarms["p2_old"]
    login(client, city.user("agent"))
    before = timezone.now()
    response = client.post(reverse("alarms:console_step", args=[alarm.pk]),
                           {"action": "notify_contacts", "channel": "sms"}, **HX)
    assert 'data-testid="notice"' in response.content.decode()
    task = EscalationTask.objects.get(alarm=alarm, step__isnull=True, action=EscalationAction.NOTIFY_CONTACTS)
    assert task.params["channel"] == "sms" and task.params["by"] == city.user("agent").pk and task.due_at >= before
    client.post(reverse("alarms:console_step", args=[alarm.pk]), {"action": "alert_supervisor"}, **HX)
    assert EscalationTask.objects.filter(alarm=alarm, step__isnull=True, action=EscalationAction.ALERT_SUPERVISOR).exists()
    response = client.post(reverse("alarms:console_step", args=[alarm.pk]), {"action": "dispatch_everyone"}, **HX)
    assert 'data-testid="error"' in response.content.decode()


def test_sending_a_caregiver_who_cannot_go_is_refused_on_the_page(client, city, alarms):
    alarm = alarms["p1_new"]
    login(client, city.user("agent"))
    response = client.post(reverse("alarms:console_dispatch", args=[alarm.pk]), {"worker": "999999"}, **HX)
    html = response.content.decode()
    assert 'data-testid="dispatch-error"' in html
    assert Alarm.objects.get(pk=alarm.pk).service_order_id is None
    response = client.post(reverse("alarms:console_dispatch", args=[alarm.pk]), {"worker": ""}, **HX)
    assert 'data-testid="dispatch-error"' in response.content.decode()


def test_revealing_a_contacts_phone_is_audited_and_scoped(client, city, alarms):
    alarm = alarms["p1_new"]
    contact = city.elders["510703"][0].contacts.get()
    login(client, city.user("agent"))
    response = client.post(reverse("alarms:console_reveal", args=[alarm.pk, contact.pk]), **HX)
    assert response.status_code == 200 and "13900000000" in response.content.decode()
    entry = AuditEntry.objects.filter(action=AuditAction.REVEAL).latest("pk")
    assert entry.actor == city.user("agent") and f"alarm {alarm.pk}" in entry.note
    login(client, city.user("county_b"))
    assert client.post(reverse("alarms:console_reveal", args=[alarm.pk, contact.pk]), **HX).status_code == 404
    login(client, city.user("agent"))  # a contact of another elder, through this alarm
    other = city.elders["510704"][0].contacts.get()
    assert client.post(reverse("alarms:console_reveal", args=[alarm.pk, other.pk]), **HX).status_code == 404


# --- what changed --------------------------------------------------------------------------------


def test_the_polling_cursor_returns_only_newer_changes(client, city, alarms):
    login(client, city.user("county_a"))
    cursor = client.get(reverse("alarms:console")).context["cursor"]
    empty = client.get(reverse("alarms:console_updates"), {"since": cursor}).json()
    assert empty["rows"] == [] and empty["cursor"] == cursor and empty["open_count"] == 4

    fresh = make(city.elders["510703"][1], "sos", 1, 0)
    make(city.elders["510704"][1], "sos", 1, 0)  # another county: not a change for county_a
    data = client.get(reverse("alarms:console_updates"), {"since": cursor}).json()
    assert [row["id"] for row in data["rows"]] == [fresh.pk]
    assert data["rows"][0]["open"] and f'data-alarm="{fresh.pk}"' in data["rows"][0]["html"]
    assert data["open_count"] == 5
    cursor = data["cursor"]

    services.acknowledge_alarm(alarms["p3"].pk, acting_user=city.user("agent"))
    data = client.get(reverse("alarms:console_updates"), {"since": cursor}).json()
    assert [(row["id"], row["status"]) for row in data["rows"]] == [(alarms["p3"].pk, "acknowledged")]
    cursor = data["cursor"]
    assert client.get(reverse("alarms:console_updates"), {"since": cursor}).json()["rows"] == []
    assert client.get(reverse("alarms:console_updates"), {"since": "nonsense"}).status_code == 400


def test_a_console_far_behind_is_told_there_is_more(city, alarms):
    rows, cursor, more = console.changes(city.user("agent"), console.Cursor(0, 0), limit=2)
    assert more and len(rows) <= 4
    rows, cursor, more = console.changes(city.user("agent"), cursor, limit=100)
    assert not more


def test_the_banners_warn_of_a_silent_worker_and_show_my_alerts(client, city, alarms):
    agent = city.user("agent")
    login(client, agent)
    page = client.get(reverse("alarms:console")).content.decode()
    assert 'data-testid="worker-silent"' in page
    WorkerBeat.objects.create(name="alarm-worker", beat_at=timezone.now())
    assert 'data-testid="worker-silent"' not in client.get(reverse("alarms:console")).content.decode()
    WorkerBeat.objects.filter(name="alarm-worker").update(beat_at=timezone.now() - dt.timedelta(seconds=31))
    status = client.get(reverse("alarms:console_updates"), {"since": "0-0"}).json()["status_html"]
    assert 'data-testid="worker-silent"' in status

    alert = notifications.queue(channel="push", text="告警未处理：甲老人0", subject=f"alarm:{alarms['p1_new'].pk}",
                                area_code="510703", key=f"test-alert-{uuid.uuid4().hex}", recipient_user=agent,
                                recipient_label=str(agent))
    page = client.get(reverse("alarms:console")).content.decode()
    assert f'data-testid="alert-{alert.pk}"' in page and f'data-open-alarm="{alarms["p1_new"].pk}"' in page
    response = client.post(reverse("alarms:console_alerts_read"), {"id": alert.pk}, **HX)
    assert f'data-testid="alert-{alert.pk}"' not in response.content.decode()
    alert.refresh_from_db()
    assert alert.read_at is not None


def test_the_ladder_shows_an_advice_banner_with_the_address_once_the_step_is_reached(client, city, alarms):
    alarm = alarms["p1_old"]
    task = EscalationTask.objects.create(alarm=alarm, action=EscalationAction.ADVISE_EMERGENCY_CALL,
                                         params={"number": "119"}, due_at=timezone.now(), state=TaskState.DONE,
                                         done_at=timezone.now(), result="advised")
    AlarmEvent.objects.create(alarm=alarm, status=task.action, note="advised")
    login(client, city.user("agent"))
    html = client.get(reverse("alarms:console_alarm", args=[alarm.pk]), **HX).content.decode()
    banner = html[html.index('data-testid="advice"'):]
    elder = city.elders["510703"][2]
    assert "119" in banner[:400] and elder.address in banner and 'data-speak="' in banner


def test_the_map_places_the_alarm_and_the_home(client, city, alarms):
    elder = city.elders["510703"][1]
    type(elder).objects.filter(pk=elder.pk).update(latitude=31.46, longitude=104.70)
    alarm = make(elder, "geofence_exit", 2, 1, payload={"lat": 31.47, "lon": 104.71})
    login(client, city.user("agent"))
    html = client.get(reverse("alarms:console_alarm", args=[alarm.pk]), **HX).content.decode()
    assert 'data-testid="map"' in html
    assert 'data-kind="alarm"' in html and 'data-kind="home"' in html


def test_the_page_opens_a_socket_only_when_there_is_a_channel_layer(client, city, settings):
    login(client, city.user("agent"))
    settings.CHANNEL_LAYERS = {}
    page = client.get(reverse("alarms:console")).content.decode()
    assert 'data-live=""' in page and "Updates every 2 s" in page
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": ["redis://127.0.0.1:6379/13"]}}}
    settings.LIVE_PORT = 8123
    page = client.get(reverse("alarms:console")).content.decode()
    assert 'data-live="on"' in page and 'data-ws-port="8123"' in page and 'data-ws-url=""' in page
    settings.LIVE_URL = "wss://yiyang.example/ws/alarms/"
    assert 'data-ws-url="wss://yiyang.example/ws/alarms/"' in client.get(reverse("alarms:console")).content.decode()
