"""An elder's payments page by clicking, in headless Chromium: the village clerk records a survival
certification, the county official sets the payee account and reveals it; both are listed."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from yiyang.benefits.models import PayeeAccount, SurvivalCertification
from yiyang.conftest import PASSWORD
from yiyang.core.models import AuditAction, AuditEntry

DIGITS = "6217003123456789012"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _login(browser, live_server, user):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto("/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_url(lambda url: "/login/" not in url)
    return context, page


def test_clerk_and_county_fill_in_the_payments_page(browser, live_server, city, gaoling):
    elder = city.elders["510703"][0]  # lives in 510703001001, the village clerk's village
    day = timezone.localdate() - dt.timedelta(days=2)

    context, page = _login(browser, live_server, city.user("village_a"))
    page.goto(f"/elders/{elder.pk}/")
    page.get_by_test_id("elder-benefits-link").click()
    expect(page.locator("h1")).to_contain_text("subsidies and payments")
    expect(page.get_by_test_id("account-form")).to_have_count(0)  # payee accounts are the county's
    page.fill("#id_certified_on", day.isoformat())
    page.select_option("#id_method", "village_visit")
    page.fill("#id_source_reference", "入户核查")
    page.get_by_role("button", name="Record").click()
    expect(page.locator("#survival")).to_contain_text("The survival certification is recorded.")
    expect(page.get_by_test_id("certifications")).to_contain_text(day.isoformat())
    expect(page.get_by_test_id("certifications")).to_contain_text("入户核查")
    context.close()
    assert SurvivalCertification.objects.get(elder=elder).recorded_by == city.user("village_a")

    context, page = _login(browser, live_server, city.user("county_a"))
    page.goto(f"/benefits/payments/elders/{elder.pk}/")
    expect(page.get_by_test_id("no-account")).to_be_visible()
    page.select_option("#id_kind", "social_security")
    page.fill("#id_account_number", "6217 0031 234")  # 11 digits: the service's message, nothing saved
    page.get_by_role("button", name="Save the account").click()
    expect(page.locator("#account")).to_contain_text("An account number has 12 to 25 digits.")
    assert not PayeeAccount.objects.exists()
    page.fill("#id_account_number", "6217 0031 2345 6789 012")
    page.fill("#id_bank_name", "绵阳市商业银行")
    page.get_by_role("button", name="Save the account").click()
    expect(page.get_by_test_id("account-masked")).to_have_text("6217***********9012")
    expect(page.locator("#account")).not_to_contain_text(DIGITS)
    page.get_by_test_id("reveal-account").click()
    expect(page.get_by_test_id("account-revealed")).to_have_text(DIGITS)
    expect(page.get_by_test_id("certifications")).to_contain_text(day.isoformat())  # both listed
    context.close()
    assert AuditEntry.objects.filter(action=AuditAction.REVEAL, actor=city.user("county_a")).count() == 1
    assert PayeeAccount.objects.get(elder=elder, is_active=True).account_number == DIGITS
