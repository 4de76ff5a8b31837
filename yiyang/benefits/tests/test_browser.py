"""A county official approves its part of a city payroll by clicking, in headless Chromium."""

import pytest
from playwright.sync_api import expect

from yiyang.benefits import services
from yiyang.benefits.models import PayrollApproval
from yiyang.conftest import PASSWORD

from .conftest import MONTH, TODAY

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_county_approves_its_part_of_the_city_run(browser, live_server, city, population):
    run = services.run_payroll(programme_code="gaoling", month=MONTH, today=TODAY).run
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto("/login/")
    page.fill("#id_username", city.user("county_a").username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.goto(f"/benefits/gaoling/payroll/{MONTH:%Y-%m}/")
    expect(page.get_by_test_id(f"approve-{run.pk}-510704")).to_have_count(0)  # not the neighbour's part
    page.get_by_test_id(f"approve-{run.pk}-510703").click()
    expect(page.locator("main")).to_contain_text("approved by t-county-a")
    approval = PayrollApproval.objects.get(run=run)
    assert (approval.county_code, approval.approved_by) == ("510703", city.user("county_a"))
    context.close()
