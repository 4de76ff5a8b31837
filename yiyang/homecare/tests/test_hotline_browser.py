"""A hotline agent takes a call and places an order with the keyboard alone, in headless Chromium."""

import pytest
from playwright.sync_api import expect

from yiyang.conftest import PASSWORD
from yiyang.homecare.models import CallRecord, ServiceOrder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_agent_orders_a_service_without_touching_the_mouse(browser, live_server, city, care):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    keys = page.keyboard
    page.goto("/login/")
    keys.type(city.user("agent").username)  # the username box has the focus
    keys.press("Tab")
    keys.type(PASSWORD)
    keys.press("Enter")
    page.wait_for_url(live_server.url + "/")
    page.goto("/homecare/hotline/")

    expect(page.locator("#id_number")).to_be_focused()
    keys.type("+86 138 0000 3001")  # care.elder's own phone
    keys.press("Enter")
    first = page.get_by_test_id(f"pick-{care.elder.pk}")
    expect(first).to_be_focused()
    keys.press("ArrowDown")  # to "no registered elder" ...
    expect(page.get_by_test_id("pick-none")).to_be_focused()
    keys.press("ArrowUp")  # ... and back
    expect(first).to_be_focused()
    keys.press("1")
    expect(page.get_by_test_id("elder-name")).to_have_text(care.elder.name)
    expect(page.get_by_test_id("elder-name")).to_be_focused()

    keys.press("Alt+o")
    service = page.locator("#order_service")
    expect(service).to_be_focused()
    keys.press("ArrowDown")  # the first service of the catalogue: 助浴 (bathing comes before meals)
    expect(service).to_have_value("bath")
    keys.press("Tab")
    expect(page.locator("#order_provider")).to_be_focused()  # the only provider serving the village, preselected
    # Day, times (the defaults: the next free hours; each date and time box has several parts) and payer (self).
    for _press in range(20):
        keys.press("Tab")
        if page.evaluate("document.activeElement.id") == "order_note":
            break
    expect(page.locator("#order_note")).to_be_focused()
    keys.type("请带洗浴椅")
    keys.press("Tab")
    expect(page.get_by_test_id("order-submit")).to_be_focused()
    keys.press("Enter")

    expect(page.get_by_test_id("notice")).to_contain_text("placed")
    order = ServiceOrder.objects.get(elder=care.elder)
    row = page.get_by_test_id("recent-orders").locator(f'tr[data-order="{order.pk}"]')
    expect(row).to_contain_text("助浴")
    expect(row).to_contain_text("requested")
    assert (order.channel, order.note, order.service_type.code) == ("hotline", "请带洗浴椅", "bath")

    keys.press("Alt+e")
    expect(page.locator("#end_outcome")).to_be_focused()
    expect(page.locator("#end_outcome")).to_have_value("order")
    keys.press("Control+Enter")
    expect(page.get_by_test_id("console-notice")).to_contain_text("service order created")
    expect(page.locator("#id_number")).to_be_focused()
    call = CallRecord.objects.get()
    assert (call.outcome, call.order, call.elder) == ("order", order, care.elder)
    assert call.duration_seconds is not None and call.duration_seconds >= 0
    context.close()
