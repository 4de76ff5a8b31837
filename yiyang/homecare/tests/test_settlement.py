"""Monthly settlement: exact totals, deductions, auto-confirmation, no second run, no order paid twice, scope."""

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from yiyang.accounts.models import User
from yiyang.accounts.roles import Role
from yiyang.conftest import _user
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditEntry
from yiyang.homecare import services, settlement
from yiyang.homecare.models import ProviderProfile, ServiceOrder, Settlement, SettlementLine, Worker
from yiyang.homecare.rules import Status, TransitionError
from yiyang.organizations.models import Organization, OrganizationKind

from .conftest import DAY
from .visits import visit, voucher_account

OCTOBER = dt.date(2026, 10, 1)
TODAY = DAY  # 2026-11-23


def oct_(day: int) -> dt.date:
    return dt.date(2026, 10, day)


def nov(day: int) -> dt.date:
    return dt.date(2026, 11, day)


@pytest.fixture
def rival(city, care):
    """A second provider serving the same county, with its dispatcher and one worker."""
    org = Organization.objects.create(name="第二居家服务站", kind=OrganizationKind.PROVIDER, area_id="510703001002")
    ProviderProfile.objects.create(organization=org, service_areas=["510703"]).services.add(care.meal)
    _user("t-rival-dispatcher", Role.PROVIDER_DISPATCHER, organization=org)
    worker = Worker.objects.create(provider=org, user=_user("t-rival-worker", Role.CAREGIVER, organization=org),
                                   name="第二站护理员", base_latitude=31.46, base_longitude=104.67)
    return org, worker


@pytest.fixture
def october(city, care, rival):
    """Visits around October 2026 in every state that matters to the settlement."""
    agent, county = city.user("agent"), city.user("county_a")
    voucher_account(care.elder, 10_000)
    o = {}
    o["plain"] = services.confirm(visit(city, care, day=oct_(5)), acting_user=agent)
    o["voucher"] = services.confirm(visit(city, care, day=oct_(10), service="bath", payer="voucher",
                                          voucher_programme="fuwu"), acting_user=agent)
    o["flagged"] = services.confirm(visit(city, care, day=oct_(12), minutes=5), acting_user=agent)
    cleared = services.confirm(visit(city, care, day=oct_(14), far=True), acting_user=agent)
    o["cleared"] = services.clear_review(cleared, acting_user=county, note="老人临时在邻居家")
    o["government"] = services.confirm(visit(city, care, day=oct_(16), payer="government"), acting_user=agent)
    o["unconfirmed"] = visit(city, care, day=oct_(20))  # nobody confirmed: the platform does after 7 days
    o["disputed"] = services.dispute(visit(city, care, day=oct_(25)), acting_user=agent, reason="没有上门")
    o["november"] = services.confirm(visit(city, care, day=nov(2)), acting_user=agent)
    o["nov16"] = visit(city, care, day=nov(16))  # 7 days before TODAY: auto-confirmed, settled next month
    o["nov17"] = visit(city, care, day=nov(17))  # 6 days: still open to dispute
    o["rival"] = services.confirm(visit(city, care, day=oct_(6), provider=rival[0], worker=rival[1]), acting_user=agent)
    return o


def settle(city, care, user_key="county_a", month=OCTOBER, today=TODAY):
    return settlement.settle_month(care.provider, month, acting_user=city.user(user_key), today=today)


def test_totals_are_exact_and_flagged_uncleared_visits_are_deducted(city, care, october):
    result = settle(city, care)
    assert (result.order_count, result.self_pay_fen, result.voucher_fen, result.government_fen,
            result.deduction_fen) == (6, 4 * 1_500, 8_000, 1_500, 1_500)
    lines = {line.order_id: line for line in result.lines.all()}
    expected = {october[k].pk for k in ("plain", "voucher", "flagged", "cleared", "government", "unconfirmed")}
    assert set(lines) == expected
    flagged = lines[october["flagged"].pk]
    assert (flagged.deduction_fen, flagged.amount_fen) == (1_500, 1_500)
    assert "not cleared" in flagged.deduction_reason and "shorter" in flagged.deduction_reason
    assert lines[october["cleared"].pk].deduction_fen == 0  # flagged, but an official cleared it
    assert lines[october["voucher"].pk].payer == "voucher"
    assert set(ServiceOrder.objects.filter(pk__in=expected).values_list("status", flat=True)) == {Status.SETTLED}
    assert ServiceOrder.objects.get(pk=october["unconfirmed"].pk).events.get(to_status="confirmed").actor is None
    assert AuditEntry.objects.filter(object_type="homecare.settlement", object_id=str(result.pk)).exists()


def test_what_is_left_out_stays_as_it_was(city, care, october):
    settle(city, care)
    status = dict(ServiceOrder.objects.values_list("pk", "status"))
    assert status[october["disputed"].pk] == Status.DISPUTED
    assert status[october["november"].pk] == Status.CONFIRMED  # visited after the month
    assert status[october["nov16"].pk] == Status.CONFIRMED  # auto-confirmed, not settled with October
    assert status[october["nov17"].pk] == Status.CHECKED_OUT  # still inside the dispute window
    assert status[october["rival"].pk] == Status.CONFIRMED  # another provider's order is never included
    assert not SettlementLine.objects.filter(order=october["rival"]).exists()


def test_a_month_is_settled_once_and_nothing_twice(city, care, october):
    settle(city, care)
    with pytest.raises(ValidationError, match="already settled"):
        settle(city, care, user_key="city")
    with pytest.raises(ValidationError, match="has ended"):
        settle(city, care, month=nov(1))  # the current month
    with pytest.raises(ValidationError, match="has ended"):
        settle(city, care, month=dt.date(2026, 12, 1))
    november = settle(city, care, month=nov(1), today=dt.date(2026, 12, 5))
    assert {line.order_id for line in november.lines.all()} == {october[k].pk for k in ("november", "nov16", "nov17")}
    with pytest.raises(ValidationError, match="earlier months"):
        settle(city, care, month=dt.date(2026, 9, 1))
    assert SettlementLine.objects.count() == 9 and Settlement.objects.count() == 2


def test_the_auto_confirm_delay_is_a_setting(city, care, october, settings):
    settings.YIYANG_AUTO_CONFIRM_DAYS = 40  # the October 20 visit is 34 days old: not yet
    result = settle(city, care)
    assert result.order_count == 5 and not result.lines.filter(order=october["unconfirmed"]).exists()
    assert ServiceOrder.objects.get(pk=october["unconfirmed"].pk).status == Status.CHECKED_OUT


def test_nothing_is_kept_when_the_settlement_fails_half_way(city, care, october, monkeypatch):
    real, moved = services.transition, []

    def flaky(order, target, **kwargs):
        if target == Status.SETTLED and len(moved) == 3:
            raise TransitionError("Someone else changed this order just now")
        moved.append(order.pk)
        return real(order, target, **kwargs)

    monkeypatch.setattr(services, "transition", flaky)
    with pytest.raises(TransitionError):
        settle(city, care)
    assert not Settlement.objects.exists() and not SettlementLine.objects.exists()
    assert not ServiceOrder.objects.filter(status=Status.SETTLED).exists()
    assert ServiceOrder.objects.get(pk=october["unconfirmed"].pk).status == Status.CHECKED_OUT  # undone too


@pytest.mark.parametrize("user_key", ["county_b", "township_a", "dispatcher", "agent"])
def test_only_officials_of_the_providers_area_settle(city, care, october, user_key):
    with pytest.raises(PermissionDenied):
        settle(city, care, user_key=user_key)
    assert not Settlement.objects.exists()


def test_county_b_does_not_see_county_as_provider_or_statement(city, care, october):
    result = settle(city, care)
    assert not settlement.providers_for(city.user("county_b")).exists()
    assert not Settlement.objects.for_user(city.user("county_b")).exists()
    assert list(Settlement.objects.for_user(city.user("dispatcher"))) == [result]
    with pytest.raises(PermissionDenied):
        settlement.accept_settlement(result, acting_user=city.user("county_b"))


def test_the_statement_file_matches_the_lines(city, care, october):
    result = settle(city, care)
    name, content = settlement.statement_file(result, "csv", acting_user=city.user("county_a"))
    assert name == f"settlement-{care.provider.pk}-2026-10.csv" and content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    header_at = rows.index(settlement.LINE_COLUMNS)
    body = rows[header_at + 1: rows.index([], header_at)]
    by_order = {int(row[1]): row for row in body}
    assert set(by_order) == set(result.lines.values_list("order_id", flat=True))
    flagged = by_order[october["flagged"].pk]
    assert flagged[2] == "2026-10-12" and flagged[9:13] == ["个人自付", "15.00", "15.00", "0.00"]
    assert "服务时长不足" in flagged[13]
    assert by_order[october["voucher"].pk][9:13] == ["服务券", "80.00", "0.00", "80.00"]
    assert [row[0] for row in body] == [str(n) for n in range(1, 7)]
    summary = rows[rows.index(settlement.SUMMARY_COLUMNS) + 1:]
    assert summary[-1] == ["合计", "6", "155.00", "15.00", "140.00"]
    assert ["服务券", "1", "80.00", "0.00", "80.00"] in summary
    assert AuditEntry.objects.filter(action="export", object_type="homecare.settlement").count() == 1
    _name, xlsx = settlement.statement_file(result, "xlsx")
    book = load_workbook(io.BytesIO(xlsx))
    sheet_rows = [[c if c is not None else "" for c in row] for row in book["结算明细"].iter_rows(values_only=True)]
    start = sheet_rows.index(settlement.LINE_COLUMNS)
    assert sheet_rows[start + 1:] == body
    assert [list(r) for r in book["汇总"].iter_rows(values_only=True)][1:] == summary
    with pytest.raises(ValidationError):
        settlement.statement_file(result, "pdf")


def test_the_provider_disputes_its_own_statement_and_the_county_accepts(city, care, october, rival):
    result = settle(city, care)
    rival_dispatcher = User.objects.get(organization=rival[0], role=Role.PROVIDER_DISPATCHER)
    with pytest.raises(PermissionDenied):
        settlement.dispute_settlement(result, acting_user=rival_dispatcher, text="x")
    with pytest.raises(PermissionDenied):
        settlement.dispute_settlement(result, acting_user=city.user("county_a"), text="x")
    with pytest.raises(ValidationError):
        settlement.dispute_settlement(result, acting_user=city.user("dispatcher"), text=" ")
    disputed = settlement.dispute_settlement(result, acting_user=city.user("dispatcher"), text="10月12日扣减有误")
    assert (disputed.status, disputed.dispute) == ("disputed", "10月12日扣减有误")
    with pytest.raises(ValidationError, match="dispute was resolved"):
        settlement.accept_settlement(result, acting_user=city.user("county_a"))
    accepted = settlement.accept_settlement(result, acting_user=city.user("county_a"), note="核实后维持扣减")
    assert accepted.status == "accepted"
    with pytest.raises(ValidationError):
        settlement.dispute_settlement(result, acting_user=city.user("dispatcher"), text="again")
