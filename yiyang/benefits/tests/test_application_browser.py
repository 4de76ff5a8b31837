"""An application from the elder's page to approval by clicking, in headless Chromium: the village clerk
files it with a scanned ID card and approves it at the village, the township and the county approve,
and the page shows the application approved with the end of the public notice (公示)."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from yiyang.benefits.models import Application, Programme, Tier
from yiyang.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SCAN = b"%PDF-1.4\n" + b"0" * 300


@pytest.fixture
def huli(city, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    programme = Programme.objects.create(code="huli", name="护理补贴", kind="care_subsidy", area_id="5107",
                                         enrolment="application", publicity_days=7, required_documents=["id_card"])
    Tier.objects.create(programme=programme, label="60+", min_age=60, max_age=None, amount_fen=10_000,
                        effective_from=dt.date(2020, 1, 1))
    Programme.objects.create(code="jiating", name="家庭照护补贴", kind="other", area_id="5107", enrolment="application",
                             required_documents=["hukou_book"])
    return programme


def logged_in(browser, live_server, user):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto("/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_url(lambda url: "/login/" not in url)
    return context, page


def approve(browser, live_server, user, application, status_after):
    context, page = logged_in(browser, live_server, user)
    page.goto(f"/benefits/applications/{application.pk}/")
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("status")).to_contain_text(status_after)
    context.close()


def test_clerk_files_and_three_levels_approve(browser, live_server, city, huli):
    elder = city.elders["510703"][0]
    context, page = logged_in(browser, live_server, city.user("village_a"))
    page.goto(f"/elders/{elder.pk}/")
    page.get_by_test_id("apply").click()
    expect(page.locator("h1")).to_contain_text(elder.name)
    expect(page.locator("#id_requested_start_month")).to_have_value(f"{timezone.localdate():%Y-%m}")
    expect(page.locator("#documents input[type=file]")).to_have_count(0)  # two programmes: none chosen yet
    page.select_option("#id_programme", "huli")  # htmx swaps in the programme's document inputs
    expect(page.locator("#id_doc_id_card")).to_be_visible()
    expect(page.locator("#id_doc_hukou_book")).to_have_count(0)
    page.set_input_files("#id_doc_id_card", files=[{"name": "身份证.pdf", "mimeType": "application/pdf", "buffer": SCAN}])
    page.get_by_role("button", name="Submit the application").click()
    expect(page.get_by_test_id("status")).to_contain_text("submitted, awaiting the village")
    expect(page.get_by_test_id("documents")).to_contain_text("identity card")
    application = Application.objects.get(elder=elder)
    page.get_by_test_id("approve").click()  # the clerk reviews at the village level too
    expect(page.get_by_test_id("status")).to_contain_text("approved by the village")
    context.close()

    approve(browser, live_server, city.user("township_a"), application, "approved by the township")

    context, page = logged_in(browser, live_server, city.user("county_a"))
    page.goto("/benefits/applications/?awaiting=on")
    page.get_by_role("link", name="Details").first.click()
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("status")).to_have_text("approved")
    application.refresh_from_db()
    assert application.status == "approved"
    ends = f"{application.publicity_ends:%Y-%m-%d}"
    expect(page.get_by_test_id("publicity-ends")).to_have_text(ends)
    expect(page.locator(".alert")).to_contain_text(f"The public notice runs until {ends}")
    context.close()
