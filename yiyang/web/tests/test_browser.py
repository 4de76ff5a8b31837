"""End-to-end checks in headless Chromium (Debian's, not a Playwright download) against the live server."""

import re

import pytest
from playwright.sync_api import expect

from yiyang.conftest import PASSWORD, birth_for_age, make_id_number
from yiyang.people.models import Elder

# Live-server tests flush the database; serialized rollback brings back the reference areas.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def page(browser, live_server, city):
    """A page logged in as the official of county A, through the login form."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto("/login/")
    page.fill("#id_username", city.user("county_a").username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    expect(page.get_by_test_id("who")).to_contain_text("t-county-a")
    yield page
    context.close()


def rows(page):
    return page.locator("#elder-table tbody tr")


def test_list_filter_and_detail(page, city):
    page.click("#main-nav a[href='/elders/']")
    expect(rows(page)).to_have_count(4)
    expect(page.locator("#elder-table")).not_to_contain_text("乙老人")

    page.select_option("#id_hardship", "tekun")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("甲老人0")
    expect(page).to_have_url(re.compile(r"hardship=tekun"))

    page.select_option("#id_hardship", "")
    page.fill("#id_q", "甲老人3")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("甲老人3")

    elder = city.elders["510703"][3]
    page.click(f"#elder-table a[href='/elders/{elder.pk}/'] >> nth=0")
    expect(page).to_have_url(re.compile(rf"/elders/{elder.pk}/$"))
    expect(page.locator("h1")).to_contain_text("甲老人3")
    expect(page.locator("#tab-registry")).to_contain_text(elder.id_number_masked)
    page.get_by_test_id("reveal-id_number").click()
    expect(page.get_by_test_id("revealed").first).to_have_text(elder.id_number)


def test_create_shows_the_id_error_inline_then_saves(page):
    page.goto("/elders/new/")
    good = make_id_number("510703", birth_for_age(75), 7, "F")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    page.fill("#id_name", "浏览器老人")
    page.fill("#id_id_number", bad)
    page.press("#id_id_number", "Tab")  # leaving the field checks it
    feedback = page.locator("#id_id_number-feedback")
    expect(feedback.locator(".invalid-feedback")).to_be_visible()

    page.select_option("#id_area_code", "510703001002")
    page.click(".yy-elder-form button[type=submit]")
    expect(page.locator("#id_id_number-feedback .invalid-feedback")).to_be_visible()  # the server says so too
    assert not Elder.objects.filter(name="浏览器老人").exists()

    page.fill("#id_id_number", good)
    page.press("#id_id_number", "Tab")
    expect(feedback).to_contain_text(birth_for_age(75).isoformat())
    expect(feedback.locator(".invalid-feedback")).to_have_count(0)
    page.click(".yy-elder-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("浏览器老人")
    assert Elder.objects.get(name="浏览器老人").area_id == "510703001002"
