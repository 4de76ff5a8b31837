"""An agent has the alarm console open; a device alarm arrives, appears by polling, and is handled
with the keyboard alone: picked, acknowledged, closed with an outcome (headless Chromium)."""

import datetime as dt

import pytest
from django.db import transaction
from playwright.sync_api import expect

from yiyang.alarms import services, store
from yiyang.alarms.models import Alarm, AlarmStatus
from yiyang.alarms.validation import Message
from yiyang.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def device_alarm(device, msg_id: str) -> Alarm:
    """What the listener does with an SOS message: store it with its ladder in one transaction."""
    now = dt.datetime.now(dt.UTC)
    message = Message(msg_id=msg_id, type="sos", device_time=now, body={"msg_id": msg_id, "type": "sos"})
    with transaction.atomic():
        [(status, pk)] = store.store_alarms([store.Accepted(store.load_device(device.device_id), message, now, False)])
    assert status == "stored"
    return Alarm.objects.get(pk=pk)


def test_a_new_alarm_appears_and_is_handled_from_the_keyboard(browser, live_server, city, settings):
    settings.CHANNEL_LAYERS = {}  # the embedded mode: the console polls every 2 s
    elder = city.elders["510703"][0]
    device, _secret = services.register_device(acting_user=None, device_id="t-browser-sos", kind="sos_button",
                                               elder=elder)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    keys = page.keyboard
    page.goto("/login/")
    keys.type(city.user("agent").username)
    keys.press("Tab")
    keys.type(PASSWORD)
    keys.press("Enter")
    page.wait_for_url(live_server.url + "/")
    page.get_by_test_id("nav-alarms").click()
    expect(page.get_by_test_id("queue-count")).to_have_text("0")
    expect(page.get_by_test_id("connection")).to_contain_text("2 s")

    alarm = device_alarm(device, "browser-1")
    row = page.get_by_test_id(f"queue-row-{alarm.pk}")
    expect(row).to_be_visible(timeout=8000)  # a poll (every 2 s); the 1 s goal is measured by bench/alarms.py
    expect(row).to_contain_text(elder.name)
    expect(page.get_by_test_id("queue-count")).to_have_text("1")
    expect(page.locator("#alarm-console")).to_have_attribute("data-alerts", "1")  # sound (if on) and title flash
    expect(page).to_have_title("【New alarm】 Alarm console · Yiyang")

    keys.press("ArrowDown")
    expect(row).to_be_focused()
    detail = page.get_by_test_id("alarm-detail")
    expect(detail).to_have_attribute("data-alarm-id", str(alarm.pk))
    expect(page.get_by_test_id("elder-name")).to_have_text(elder.name)
    expect(page.get_by_test_id("alarm-status")).to_have_text("new")

    keys.press("a")
    expect(page.get_by_test_id("notice")).to_contain_text("Acknowledged")
    expect(page.get_by_test_id("alarm-status")).to_have_text("acknowledged")
    expect(row.get_by_test_id("row-status")).to_have_text("acknowledged")
    assert Alarm.objects.get(pk=alarm.pk).status == AlarmStatus.ACKNOWLEDGED

    keys.press("c")
    outcome = page.locator("#close_outcome")
    expect(outcome).to_be_focused()
    keys.press("Control+Enter")  # no outcome chosen: the error is shown on the form
    expect(page.locator("#close_outcome-feedback")).to_contain_text("Choose what the alarm turned out to be.")
    expect(outcome).to_be_focused()
    keys.press("ArrowDown")  # the first outcome: false alarm
    expect(outcome).to_have_value("false_alarm")
    keys.press("Control+Enter")
    expect(page.get_by_test_id("notice")).to_contain_text("Closed: false alarm.")
    expect(row).to_have_count(0)  # off the queue
    expect(page.get_by_test_id("queue-count")).to_have_text("0")
    closed = Alarm.objects.get(pk=alarm.pk)
    assert (closed.status, closed.outcome, closed.closed_by) == (AlarmStatus.CLOSED, "false_alarm", city.user("agent"))
    context.close()
