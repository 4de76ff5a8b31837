"""The payment pages through the Django test client: an elder's money page, bank files, bank returns."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from yiyang.benefits import bankfile, payees, release, services
from yiyang.benefits.models import (
    BankBatch,
    BankStatus,
    PayeeAccount,
    PaymentLine,
    SurvivalCertification,
)
from yiyang.core.models import AuditAction, AuditEntry

from .conftest import MONTH, TODAY

pytestmark = pytest.mark.django_db

NUMBER = "6217 0031 2345 6789 012"
DIGITS = NUMBER.replace(" ", "")
MASKED = "6217***********9012"


@pytest.fixture
def client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def run_a(population, city):
    """October 2026 computed, approved and released for county A (510703)."""
    run = services.run_payroll(programme_code="gaoling", month=MONTH, area_code="510703", today=TODAY).run
    release.approve_county(run, county_code="510703", acting_user=city.user("county_a"))
    return release.release(run, acting_user=city.user("county_a"))


def page_url(elder, suffix=""):
    return f"/benefits/payments/elders/{elder.pk}/{suffix}"


def month_url():
    return f"/benefits/gaoling/payroll/{MONTH:%Y-%m}/"


def set_account(elder, user, number=NUMBER):
    return payees.set_payee_account(elder, acting_user=user, holder_name=elder.name, account_number=number,
                                    kind="social_security", bank_name="绵阳市商业银行")


def account_form(elder, number=NUMBER, **extra):
    return {"kind": "social_security", "account_number": number, "holder_name": elder.name,
            "holder_relation": "self", "bank_name": "绵阳市商业银行", **extra}


def csv_rows(content: bytes) -> list[dict]:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    header, data = rows[0], []
    for row in rows[1:]:
        if not row:
            break
        data.append(dict(zip(header, row, strict=True)))
    return data


def returns_file(rows) -> io.BytesIO:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["行号", "结果", "原因"])
    writer.writerows(rows)
    upload = io.BytesIO(out.getvalue().encode("utf-8"))
    upload.name = "returns.csv"
    return upload


# --- the elder's page -------------------------------------------------------------------------


def test_page_is_scoped_and_needs_permission(city, gaoling, client, client_for):
    elder = city.elders["510703"][2]
    assert client.get(page_url(elder)).status_code == 302  # to the login page
    assert client_for(city.user("dispatcher")).get(page_url(elder)).status_code == 403
    assert client_for(city.user("county_b")).get(page_url(elder)).status_code == 404
    response = client_for(city.user("county_a")).get(page_url(elder))
    assert response.status_code == 200
    assert elder.name in response.content.decode()


def test_out_of_scope_writes_are_404_and_save_nothing(city, gaoling, client_for):
    elder = city.elders["510703"][2]
    client = client_for(city.user("county_b"))
    assert client.post(page_url(elder, "account/"), account_form(elder)).status_code == 404
    assert client.post(page_url(elder, "survival/"), {"certified_on": f"{TODAY:%Y-%m-%d}",
                                                      "method": "village_visit"}).status_code == 404
    assert not PayeeAccount.objects.exists() and not SurvivalCertification.objects.exists()


def test_payment_history_lists_the_elders_lines_in_yuan(run_a, city, client_for):
    line = run_a.lines.select_related("elder").order_by("id").first()
    response = client_for(city.user("county_a")).get(page_url(line.elder))
    rows = list(response.context["table"].data)
    assert [r.pk for r in rows] == [line.pk]
    page = response.content.decode()
    assert "2026-10" in page and "高龄津贴" in page and line.tier in page
    assert f"{line.amount_fen // 100}.{line.amount_fen % 100:02d}" in page
    assert "not yet sent to the bank" in page


def test_setting_an_account_saves_it_and_shows_it_masked(city, gaoling, client_for):
    elder = city.elders["510703"][2]
    client = client_for(city.user("county_a"))
    response = client.post(page_url(elder, "account/"), account_form(elder))
    assert response.status_code == 302 and response.url.endswith("#account")
    account = PayeeAccount.objects.get(elder=elder, is_active=True)
    assert (account.account_number, account.kind, account.created_by) == (DIGITS, "social_security", city.user("county_a"))
    page = client.get(page_url(elder)).content.decode()
    assert MASKED in page and DIGITS not in page
    assert "The payee account is set." in page
    # Replacing through htmx answers with the account section only, showing the new number masked.
    response = client.post(page_url(elder, "account/"), account_form(elder, "622202000011112222"), HTTP_HX_REQUEST="true")
    section = response.content.decode()
    assert response.status_code == 200 and section.lstrip().startswith("<section id=\"account\"")
    assert "6222**********2222" in section and "622202000011112222" not in section
    assert PayeeAccount.objects.filter(elder=elder).count() == 2
    assert PayeeAccount.objects.get(elder=elder, is_active=True).account_number == "622202000011112222"


@pytest.mark.parametrize("number", ["1234", "6217a0031234567", ""])
def test_a_bad_account_number_shows_the_error_and_saves_nothing(city, gaoling, client_for, number):
    elder = city.elders["510703"][2]
    response = client_for(city.user("county_a")).post(page_url(elder, "account/"), account_form(elder, number))
    assert response.status_code == 200
    assert response.context["account_form"].errors["account_number"] == ["An account number has 12 to 25 digits."]
    assert "An account number has 12 to 25 digits." in response.content.decode()
    assert not PayeeAccount.objects.exists()
    assert not AuditEntry.objects.filter(object_type="benefits.payeeaccount").exists()


def test_missing_holder_name_is_the_services_error(city, gaoling, client_for):
    elder = city.elders["510703"][2]
    response = client_for(city.user("county_a")).post(page_url(elder, "account/"),
                                                     account_form(elder, holder_name="  "))
    assert response.context["account_form"].errors["holder_name"] == ["Enter the account holder's name."]
    assert not PayeeAccount.objects.exists()


def test_reveal_is_audited_and_only_for_entitled_users(city, gaoling, client_for):
    elder = city.elders["510703"][2]
    account = set_account(elder, city.user("county_a"))
    client = client_for(city.user("county_a"))
    page = client.get(page_url(elder)).content.decode()
    assert 'data-testid="reveal-account"' in page and DIGITS not in page
    assert not AuditEntry.objects.filter(action=AuditAction.REVEAL).exists()
    assert client.get(page_url(elder, "account/reveal/")).status_code == 405
    response = client.post(page_url(elder, "account/reveal/"))
    assert response.status_code == 200 and DIGITS in response.content.decode()
    entry = AuditEntry.objects.get(action=AuditAction.REVEAL)
    assert (entry.actor, entry.object_type, entry.object_id) == (city.user("county_a"), "benefits.payeeaccount", str(account.pk))
    assert entry.area_code == elder.area_id and DIGITS not in entry.object_label
    # Not entitled: no account permission (village clerk, hotline agent), or another county.
    for who, status in (("village_a", 403), ("agent", 403), ("county_b", 404)):
        response = client_for(city.user(who)).post(page_url(elder, "account/reveal/"))
        assert response.status_code == status, who
        assert DIGITS not in response.content.decode()
    assert AuditEntry.objects.filter(action=AuditAction.REVEAL).count() == 1


def test_village_clerk_records_a_survival_certification(city, gaoling, client_for):
    elder = city.elders["510703"][0]  # lives in 510703001001, the clerk's village
    client = client_for(city.user("village_a"))
    page = client.get(page_url(elder)).content.decode()
    assert 'data-testid="survival-form"' in page
    assert 'data-testid="account-form"' not in page  # payee accounts are the county's (roles.py)
    day = timezone.localdate() - dt.timedelta(days=3)
    response = client.post(page_url(elder, "survival/"), {"certified_on": day.isoformat(), "method": "village_visit",
                                                          "source_reference": "入户核查"})
    assert response.status_code == 302 and response.url.endswith("#survival")
    certification = SurvivalCertification.objects.get(elder=elder)
    assert (certification.certified_on, certification.method, certification.recorded_by) == (
        day, "village_visit", city.user("village_a"))
    page = client.get(page_url(elder)).content.decode()
    assert f"{day:%Y-%m-%d}" in page and "入户核查" in page and "The survival certification is recorded." in page
    assert client.post(page_url(elder, "account/"), account_form(elder)).status_code == 403
    assert not PayeeAccount.objects.exists()


def test_survival_errors_are_shown_inline(city, gaoling, client_for):
    elder = city.elders["510703"][0]
    client = client_for(city.user("village_a"))
    future = timezone.localdate() + dt.timedelta(days=2)
    response = client.post(page_url(elder, "survival/"), {"certified_on": future.isoformat(), "method": "village_visit"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "The certification day is in the future." in response.content.decode()
    response = client.post(page_url(elder, "survival/"), {"certified_on": "", "method": "village_visit"})
    assert response.context["survival_form"].errors["certified_on"] == ["Enter the day of the certification."]
    assert not SurvivalCertification.objects.exists()


def test_city_official_sees_certifications_but_does_not_record_them(city, gaoling, client_for):
    elder = city.elders["510703"][0]
    client = client_for(city.user("city"))
    page = client.get(page_url(elder)).content.decode()
    assert 'data-testid="certifications"' in page and 'data-testid="survival-form"' not in page
    assert client.post(page_url(elder, "survival/"), {"certified_on": f"{TODAY:%Y-%m-%d}",
                                                      "method": "village_visit"}).status_code == 403


def test_elder_page_links_to_the_money_page(city, gaoling, client_for):
    elder = city.elders["510703"][2]
    page = client_for(city.user("county_a")).get(f"/elders/{elder.pk}/").content.decode()
    assert f'href="/benefits/payments/elders/{elder.pk}/"' in page and "Subsidies and payments" in page
    page = client_for(city.user("agent")).get(f"/elders/{elder.pk}/").content.decode()  # no payment permission
    assert "/benefits/payments/" not in page


# --- bank files on the payroll month page ------------------------------------------------------


def test_bank_file_download_matches_the_lines(run_a, city, client_for):
    lines = list(run_a.lines.select_related("elder").order_by("id"))
    with_account = lines[:-1]
    for line in with_account:
        set_account(line.elder, city.user("county_a"))
    client = client_for(city.user("county_a"))
    page = client.get(month_url()).content.decode()
    assert f'data-testid="bank-file-csv-{run_a.pk}"' in page and f'data-testid="bank-file-xlsx-{run_a.pk}"' in page
    response = client.post(f"/benefits/payments/runs/{run_a.pk}/bank-file/", {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"
    rows = csv_rows(response.content)
    assert sorted(int(r["行号"]) for r in rows) == [line.pk for line in with_account]
    for row in rows:
        line = next(li for li in with_account if li.pk == int(row["行号"]))
        assert row["账号"] == DIGITS and row["证件号码"] == line.elder.id_number
        assert row["金额(元)"] == bankfile.yuan(line.amount_fen) and row["所属月份"] == "2026-10"
    assert PaymentLine.objects.get(pk=lines[-1].pk).bank_status == BankStatus.HELD
    assert run_a.lines.filter(bank_status=BankStatus.SENT).count() == len(with_account)
    page = client.get(month_url()).content.decode()
    batch = BankBatch.objects.get(run=run_a)
    assert batch.batch_no in page and f'data-testid="batches-{run_a.pk}"' in page
    # XLSX: a second file sends nothing new, since every line with an account went out already.
    response = client.post(f"/benefits/payments/runs/{run_a.pk}/bank-file/", {"format": "xlsx"})
    assert response.status_code == 200 and response["Content-Disposition"].endswith('.xlsx"')
    book = load_workbook(io.BytesIO(response.content))
    assert list(book["代发明细"].iter_rows(values_only=True)) == [tuple(bankfile.COLUMNS)]
    assert BankBatch.objects.filter(run=run_a).count() == 2


def test_bank_file_refusals(population, city, client_for):
    run = services.run_payroll(programme_code="gaoling", month=MONTH, area_code="510703", today=TODAY).run
    url = f"/benefits/payments/runs/{run.pk}/bank-file/"
    client = client_for(city.user("county_a"))
    assert f"bank-file-csv-{run.pk}" not in client.get(month_url()).content.decode()  # not released
    response = client.post(url, {"format": "csv"}, follow=True)
    assert "only a released run goes to the bank" in response.content.decode()
    release.approve_county(run, county_code="510703", acting_user=city.user("county_a"))
    release.release(run, acting_user=city.user("county_a"))
    response = client.post(url, {"format": "pdf"}, follow=True)
    assert "the bank file format is csv or xlsx" in response.content.decode()
    for who in ("county_b", "township_a"):  # the run's area is outside their jurisdiction
        assert client_for(city.user(who)).post(url, {"format": "csv"}).status_code == 404, who
    page = client_for(city.user("township_a")).get(month_url()).content.decode()
    assert f"bank-file-csv-{run.pk}" not in page
    assert client_for(city.user("dispatcher")).post(url, {"format": "csv"}).status_code == 403
    assert not BankBatch.objects.exists()
    assert client_for(city.user("county_a")).get(url).status_code == 405


def test_county_gets_no_bank_file_of_a_city_run(population, city, client_for):
    run = services.run_payroll(programme_code="gaoling", month=MONTH, area_code="5107", today=TODAY).run
    for county in ("510703", "510704"):
        release.approve_county(run, county_code=county, acting_user=city.user("city"))
    release.release(run, acting_user=city.user("city"))
    assert f"bank-file-csv-{run.pk}" not in client_for(city.user("county_a")).get(month_url()).content.decode()
    assert f"bank-file-csv-{run.pk}" in client_for(city.user("city")).get(month_url()).content.decode()


# --- bank returns -----------------------------------------------------------------------------


@pytest.fixture
def sent(run_a, city):
    """Every line of run_a sent to the bank."""
    for line in run_a.lines.select_related("elder"):
        set_account(line.elder, city.user("county_a"))
    bankfile.bank_file(run_a, acting_user=city.user("county_a"))
    return list(run_a.lines.select_related("elder").order_by("id"))


def test_returns_import_marks_lines_and_lists_the_returned(sent, city, client_for):
    failed, *paid = sent
    client = client_for(city.user("county_a"))
    upload = returns_file([[failed.pk, "失败", "账户已销户"], *([line.pk, "成功", ""] for line in paid)])
    response = client.post("/benefits/payments/bank-returns/", {"file": upload}, follow=True)
    page = response.content.decode()
    assert f"Bank returns imported: {len(sent)} rows, {len(paid)} paid, 1 returned." in page
    failed.refresh_from_db()
    assert (failed.bank_status, failed.bank_note) == (BankStatus.RETURNED, "账户已销户")
    assert PaymentLine.objects.filter(pk__in=[line.pk for line in paid], bank_status=BankStatus.PAID).count() == len(paid)
    assert [line.pk for line in response.context["table"].data] == [failed.pk]
    assert f'href="/benefits/payments/elders/{failed.elder_id}/"' in page and "账户已销户" in page
    assert failed.elder.name not in client_for(city.user("county_b")).get("/benefits/payments/bank-returns/").content.decode()


def test_a_refused_returns_file_shows_its_row_errors_and_changes_nothing(sent, city, client_for):
    upload = returns_file([[sent[0].pk, "成功", ""], [999999, "成功", ""], [sent[1].pk, "退回", ""]])
    response = client_for(city.user("county_a")).post("/benefits/payments/bank-returns/", {"file": upload})
    page = response.content.decode()
    assert response.status_code == 200 and "The file has 2 errors; nothing was changed." in page
    assert "row 3: unknown line “999999”" in page and "row 4: result must be 成功 or 失败" in page
    assert not PaymentLine.objects.filter(bank_status=BankStatus.PAID).exists()


def test_returns_need_the_bank_file_permission(sent, city, client_for):
    client = client_for(city.user("village_a"))
    page = client.get("/benefits/payments/bank-returns/").content.decode()
    assert 'type="file"' not in page
    response = client.post("/benefits/payments/bank-returns/", {"file": returns_file([[sent[0].pk, "成功", ""]])})
    assert "You may not handle bank files." in response.content.decode()
    assert not PaymentLine.objects.filter(bank_status=BankStatus.PAID).exists()
    upload = io.BytesIO(b"x")
    upload.name = "returns.pdf"
    response = client_for(city.user("county_a")).post("/benefits/payments/bank-returns/", {"file": upload})
    assert response.context["form"].errors["file"]


def test_held_lines_are_listed_with_a_link_to_fix_the_account(run_a, city, client_for):
    bankfile.bank_file(run_a, acting_user=city.user("county_a"))  # nobody has an account: all held
    response = client_for(city.user("county_a")).get("/benefits/payments/bank-returns/")
    listed = {line.pk for line in response.context["table"].data}
    assert listed == set(run_a.lines.values_list("pk", flat=True))
    line = run_a.lines.first()
    assert f'data-testid="fix-{line.pk}"' in response.content.decode()
