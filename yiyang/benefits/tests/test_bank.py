"""Payee accounts, bank files, bank returns and re-payment."""

import csv
import io

import pytest
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from openpyxl import load_workbook

from yiyang.benefits import bankfile, payees, release, services
from yiyang.benefits.models import BankBatch, BankStatus, PayeeAccount, PaymentLine
from yiyang.benefits.rules import RuleError
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditEntry

from .conftest import MONTH, TODAY

NUMBER = "6217 0031 2345 6789 012"
DIGITS = NUMBER.replace(" ", "")


def _released(city, area_code="510703", user="county_a"):
    run = services.run_payroll(programme_code="gaoling", month=MONTH, area_code=area_code, today=TODAY).run
    release.approve_county(run, county_code=area_code, acting_user=city.user(user))
    return release.release(run, acting_user=city.user(user))


def _set(elder, city, number=NUMBER, user="county_a"):
    return payees.set_payee_account(elder, acting_user=city.user(user), holder_name=elder.name,
                                    account_number=number, kind="social_security", bank_name="绵阳市商业银行")


def _table(content: bytes) -> list[dict]:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    header, data = rows[0], []
    for row in rows[1:]:
        if not row:
            break
        data.append(dict(zip(header, row, strict=True)))
    return data


def _held(content: bytes) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    start = rows.index([bankfile.HELD_TITLE])
    return rows[start + 2:]


def _returns(rows) -> io.BytesIO:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["行号", "结果", "原因", "金额(元)"])
    writer.writerows(rows)
    file = io.BytesIO(out.getvalue().encode("utf-8"))
    file.name = "returns.csv"
    return file


@pytest.fixture
def run_a(population, city):
    return _released(city)


def _paid_elders(run):
    return [line.elder for line in run.lines.select_related("elder").order_by("id")]


# --- payee accounts ---------------------------------------------------------------------------


def test_account_is_validated_masked_and_encrypted(population, city):
    elder = population[1]  # county 510703
    with pytest.raises(ValidationError) as exc:
        payees.set_payee_account(elder, acting_user=city.user("county_a"), holder_name=" ", account_number="1234",
                                 kind="bank_card")
    assert set(exc.value.message_dict) == {"holder_name", "account_number"}
    with pytest.raises(ValidationError):
        payees.set_payee_account(elder, acting_user=city.user("county_a"), holder_name="x",
                                 account_number="6217a0031234567", kind="bank_card")
    account = _set(elder, city)
    assert account.account_number == DIGITS
    assert account.account_number_masked == "6217***********9012"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT account_number FROM {PayeeAccount._meta.db_table} WHERE id = %s", [account.pk])
        raw = cursor.fetchone()[0]
    assert DIGITS not in raw and "6217" not in raw
    entry = AuditEntry.objects.get(object_type="benefits.payeeaccount", object_id=str(account.pk))
    assert DIGITS not in str(entry.after) and "6217***********9012" in entry.after["account_number"]


def test_one_active_account_per_elder(population, city):
    elder = population[1]
    first = _set(elder, city)
    second = _set(elder, city, number="622202000011112222")
    first.refresh_from_db()
    assert not first.is_active and second.is_active
    assert PayeeAccount.objects.filter(elder=elder, is_active=True).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        PayeeAccount.objects.create(elder=elder, holder_name="x", kind="bank_card", account_number=DIGITS,
                                    account_index="x")


def test_a_county_cannot_set_its_neighbours_account(population, city):
    with pytest.raises(Http404):
        _set(population[1], city, user="county_b")  # population[1] lives in 510703
    with pytest.raises(PermissionDenied):
        _set(population[1], city, user="agent")


# --- bank file --------------------------------------------------------------------------------


def test_bank_file_needs_a_released_run(population, city):
    run = services.run_payroll(programme_code="gaoling", month=MONTH, area_code="510703", today=TODAY).run
    with pytest.raises(RuleError, match="released"):
        bankfile.bank_file(run, acting_user=city.user("county_a"))
    assert not BankBatch.objects.exists()


def test_bank_file_content_and_held_lines(run_a, city):
    elders = _paid_elders(run_a)
    assert len(elders) >= 3
    with_account = elders[:-1]
    for elder in with_account:
        _set(elder, city)
    name, content = bankfile.bank_file(run_a, acting_user=city.user("county_a"))
    assert name.endswith(".csv")
    rows = _table(content)
    assert len(rows) == len(with_account)
    line = run_a.lines.get(elder=with_account[0])
    row = next(r for r in rows if r["行号"] == str(line.pk))
    assert row["证件号码"] == with_account[0].id_number
    assert row["账号"] == DIGITS
    assert row["金额(元)"] == f"{line.amount_fen // 100}.{line.amount_fen % 100:02d}"
    assert row["所属月份"] == "2026-10" and row["村(社区)代码"] == line.area_code
    held = _held(content)
    assert [r[1] for r in held] == [str(run_a.lines.get(elder=elders[-1]).pk)]
    assert run_a.lines.get(elder=elders[-1]).bank_status == BankStatus.HELD
    assert run_a.lines.filter(bank_status=BankStatus.SENT).count() == len(with_account)
    batch = BankBatch.objects.get(run=run_a)
    assert (batch.line_count, batch.held_count, batch.file_format) == (len(with_account), 1, "csv")
    assert batch.total_fen == sum(line.amount_fen for line in run_a.lines.filter(bank_status=BankStatus.SENT))
    entry = AuditEntry.objects.get(action="export", note="bank file")
    assert entry.after["lines"] == len(with_account)


def test_xlsx_file(run_a, city):
    for elder in _paid_elders(run_a):
        _set(elder, city)
    name, content = bankfile.bank_file(run_a, acting_user=city.user("county_a"), fmt="xlsx")
    book = load_workbook(io.BytesIO(content))
    rows = list(book["代发明细"].iter_rows(values_only=True))
    assert list(rows[0]) == bankfile.COLUMNS
    assert len(rows) - 1 == run_a.lines.count()
    assert rows[1][5] == DIGITS and isinstance(rows[1][5], str)
    assert bankfile.HELD_TITLE in book.sheetnames


def test_generating_twice_sends_nothing_new(run_a, city):
    for elder in _paid_elders(run_a):
        _set(elder, city)
    _, first = bankfile.bank_file(run_a, acting_user=city.user("county_a"))
    _, second = bankfile.bank_file(run_a, acting_user=city.user("county_a"))
    assert len(_table(first)) == run_a.lines.count()
    assert _table(second) == []


def test_a_county_cannot_download_its_neighbours_run(run_a, city):
    with pytest.raises(PermissionDenied):
        bankfile.bank_file(run_a, acting_user=city.user("county_b"))
    with pytest.raises(PermissionDenied):
        bankfile.bank_file(run_a, acting_user=city.user("township_a"))


# --- returns and re-payment -------------------------------------------------------------------


def test_returns_mark_paid_and_returned(run_a, city):
    elders = _paid_elders(run_a)
    for elder in elders:
        _set(elder, city)
    bankfile.bank_file(run_a, acting_user=city.user("county_a"))
    lines = list(run_a.lines.order_by("id"))
    result = bankfile.import_bank_returns(_returns(
        [[lines[0].pk, "失败", "账户已销户", bankfile.yuan(lines[0].amount_fen)]]
        + [[line.pk, "成功", "", ""] for line in lines[1:]]), acting_user=city.user("county_a"))
    assert result == {"rows": len(lines), "paid": len(lines) - 1, "returned": 1}
    lines[0].refresh_from_db()
    assert (lines[0].bank_status, lines[0].bank_note) == (BankStatus.RETURNED, "账户已销户")
    assert run_a.lines.filter(bank_status=BankStatus.PAID).count() == len(lines) - 1


def test_returns_are_all_or_nothing(run_a, city):
    for elder in _paid_elders(run_a):
        _set(elder, city)
    bankfile.bank_file(run_a, acting_user=city.user("county_a"))
    line = run_a.lines.order_by("id").first()
    with pytest.raises(ValidationError) as exc:
        bankfile.import_bank_returns(_returns([[line.pk, "成功", "", ""], [999999, "成功", "", ""],
                                               [line.pk + 1, "成功", "", "1.00"]]), acting_user=city.user("county_a"))
    messages = exc.value.message_dict["file"]
    assert any("unknown line" in m for m in messages) and any("amount" in m for m in messages)
    assert not run_a.lines.filter(bank_status=BankStatus.PAID).exists()
    with pytest.raises(ValidationError):  # county_b cannot see county_a's lines
        bankfile.import_bank_returns(_returns([[line.pk, "成功", "", ""]]), acting_user=city.user("county_b"))


def test_a_line_not_sent_cannot_be_returned(run_a, city):
    line = run_a.lines.first()
    with pytest.raises(ValidationError, match="not sent"):
        bankfile.import_bank_returns(_returns([[line.pk, "成功", "", ""]]), acting_user=city.user("county_a"))


def test_repayment_after_the_account_is_fixed_appears_once(run_a, city):
    elders = _paid_elders(run_a)
    for elder in elders:
        _set(elder, city)
    bankfile.bank_file(run_a, acting_user=city.user("county_a"))
    returned = run_a.lines.order_by("id").first()
    bankfile.import_bank_returns(_returns([[returned.pk, "失败", "户名不符", ""]]), acting_user=city.user("county_a"))
    # Not fixed yet: the line waits, listed as held, not sent.
    _, content = bankfile.bank_file(run_a, acting_user=city.user("county_a"))
    assert _table(content) == [] and [r[1] for r in _held(content)] == [str(returned.pk)]
    _set(returned.elder, city, number="622202000011112222")
    _, content = bankfile.bank_file(run_a, acting_user=city.user("county_a"))
    rows = _table(content)
    assert [(r["行号"], r["账号"]) for r in rows] == [(str(returned.pk), "622202000011112222")]
    _, content = bankfile.bank_file(run_a, acting_user=city.user("county_a"))
    assert _table(content) == []


def test_held_line_is_sent_once_an_account_is_set(run_a, city):
    elder = _paid_elders(run_a)[0]
    bankfile.bank_file(run_a, acting_user=city.user("county_a"))
    line = run_a.lines.get(elder=elder)
    assert PaymentLine.objects.get(pk=line.pk).bank_status == BankStatus.HELD
    _set(elder, city)
    _, content = bankfile.bank_file(run_a, acting_user=city.user("county_a"))
    assert [r["行号"] for r in _table(content)] == [str(line.pk)]


# --- API --------------------------------------------------------------------------------------


def test_api_payee_account_and_bank_file(run_a, city, api_client_for):
    elder = _paid_elders(run_a)[0]
    client = api_client_for(city.user("county_a"))
    url = f"/api/v1/benefits/elders/{elder.pk}/payee-account/"
    assert client.get(url).status_code == 404
    response = client.post(url, {"holder_name": elder.name, "account_number": NUMBER, "kind": "yikatong",
                                 "bank_name": "农行"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["account_number"] == "6217***********9012"
    assert DIGITS not in client.get(url).content.decode()
    assert client.post(url, {"holder_name": "x", "account_number": "1", "kind": "yikatong"},
                       format="json").status_code == 400
    other = api_client_for(city.user("county_b"))
    assert other.get(url).status_code == 404
    assert other.post(url, {"holder_name": "x", "account_number": NUMBER, "kind": "yikatong"},
                      format="json").status_code == 404

    download = f"/api/v1/benefits/payroll-runs/{run_a.pk}/bank-file/"
    assert other.get(download + "?format=csv").status_code == 404
    response = client.get(download + "?format=csv")
    assert response.status_code == 200, response.content
    assert "attachment" in response["Content-Disposition"]
    rows = _table(response.content)
    assert [r["账号"] for r in rows] == [DIGITS]
    assert client.get(download + "?format=xlsx").status_code == 200

    line = run_a.lines.get(elder=elder)
    upload = _returns([[line.pk, "成功", "", ""]])
    response = client.post("/api/v1/benefits/bank-returns/", {"file": upload}, format="multipart")
    assert response.status_code == 200, response.content
    assert response.json()["paid"] == 1
    bad = _returns([[line.pk, "成功", "", ""]])
    assert client.post("/api/v1/benefits/bank-returns/", {"file": bad}, format="multipart").status_code == 400


def test_api_bank_file_refuses_unreleased_run(population, city, api_client_for):
    run = services.run_payroll(programme_code="gaoling", month=MONTH, area_code="510703", today=TODAY).run
    response = api_client_for(city.user("county_a")).get(f"/api/v1/benefits/payroll-runs/{run.pk}/bank-file/?format=csv")
    assert response.status_code == 400
