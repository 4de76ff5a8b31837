"""Dispatcher and caregiver in headless Chromium: accept and assign on the board, check in with the
phone's position and out with notes on a phone-sized screen, and two dispatchers racing for one order."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from yiyang.conftest import PASSWORD
from yiyang.homecare import services
from yiyang.homecare.models import ServiceOrder

from .conftest import HOME, at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1400, "height": 900}


def meal_today(city, care, hour=10):
    today = timezone.localdate()
    return services.create_order(acting_user=city.user("agent"), elder_id=care.elder.pk, service_code="meal",
                                 provider_id=care.provider.pk, window_start=at(hour, day=today),
                                 window_end=at(hour + 1, day=today), note="少盐")


def signed_in(browser, live_server, user, **options):
    context = browser.new_context(base_url=live_server.url, **options)
    page = context.new_page()
    page.goto("/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    expect(page.get_by_test_id("who")).to_contain_text(user.username)
    return context, page


def test_dispatcher_assigns_the_worker_checks_in_and_out_on_a_phone(browser, live_server, city, care):
    order = meal_today(city, care)
    desk_context, desk = signed_in(browser, live_server, city.user("dispatcher"), viewport=DESK)
    desk.get_by_test_id("nav-dispatch").click()
    row = desk.get_by_test_id(f"order-{order.pk}")
    row.get_by_test_id(f"accept-{order.pk}").click()
    expect(row).to_contain_text("Order accepted.")
    row.get_by_test_id(f"assign-worker-{order.pk}").select_option(str(care.nurse.pk))
    row.get_by_test_id(f"assign-{order.pk}").click()
    expect(row.get_by_test_id("worker")).to_have_text(care.nurse.name)

    phone_context, phone = signed_in(browser, live_server, care.nurse.user, viewport=PHONE, is_mobile=True,
                                     has_touch=True, permissions=["geolocation"],
                                     geolocation={"latitude": HOME[0], "longitude": HOME[1]})
    phone.goto("/homecare/provider/me/")
    phone.get_by_test_id(f"visit-{order.pk}").click()
    expect(phone.locator("main")).to_contain_text("少盐")
    phone.get_by_test_id("check-in").click()
    expect(phone.get_by_test_id("status")).to_have_text("checked in")
    checked_in = ServiceOrder.objects.get(pk=order.pk)
    assert checked_in.check_in_latitude == pytest.approx(HOME[0]) and checked_in.check_in_distance_m == 0
    assert "no_location" not in checked_in.flags
    phone.get_by_label("service notes").fill("送餐到家，老人进食正常")
    phone.get_by_test_id("check-out").click()
    expect(phone.locator("main")).to_contain_text("Checked out.")
    expect(phone.get_by_test_id("status")).to_have_text("checked out")
    assert ServiceOrder.objects.get(pk=order.pk).service_notes == "送餐到家，老人进食正常"

    desk.reload()
    expect(desk.get_by_test_id(f"order-{order.pk}").get_by_test_id("status")).to_have_text("checked out")
    phone_context.close()
    desk_context.close()


def test_a_phone_without_location_permission_checks_in_flagged(browser, live_server, city, care):
    order = meal_today(city, care)
    services.assign(services.accept(order, acting_user=city.user("dispatcher")), care.nurse,
                    acting_user=city.user("dispatcher"))
    context, phone = signed_in(browser, live_server, care.nurse.user, viewport=PHONE, is_mobile=True)
    phone.goto(f"/homecare/provider/me/orders/{order.pk}/")
    phone.get_by_test_id("check-in").click()
    expect(phone.locator("main")).to_contain_text("Flagged for review: no location at check-in.")
    assert ServiceOrder.objects.get(pk=order.pk).flags == ["no_location"]
    context.close()


def test_two_dispatchers_assign_the_same_order_and_the_second_is_told(browser, live_server, city, care):
    order = services.accept(meal_today(city, care), acting_user=city.user("dispatcher"))
    first_context, first = signed_in(browser, live_server, city.user("dispatcher"), viewport=DESK)
    second_context, second = signed_in(browser, live_server, care.second_dispatcher, viewport=DESK)
    for page in (first, second):
        page.goto("/homecare/provider/")
        expect(page.get_by_test_id(f"order-{order.pk}").get_by_test_id("worker")).to_have_text("—")
    first_row, second_row = (p.get_by_test_id(f"order-{order.pk}") for p in (first, second))
    first_row.get_by_test_id(f"assign-worker-{order.pk}").select_option(str(care.nurse.pk))
    first_row.get_by_test_id(f"assign-{order.pk}").click()
    expect(first_row.get_by_test_id("worker")).to_have_text(care.nurse.name)
    second_row.get_by_test_id(f"assign-worker-{order.pk}").select_option(str(care.helper.pk))
    second_row.get_by_test_id(f"assign-{order.pk}").click()
    expect(second_row.get_by_test_id("order-error")).to_contain_text("Someone else changed this order just now")
    expect(second_row.get_by_test_id("worker")).to_have_text(care.nurse.name)
    assert ServiceOrder.objects.get(pk=order.pk).worker == care.nurse
    first_context.close()
    second_context.close()
