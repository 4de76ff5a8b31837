"""Grade-based care subsidies (护理补贴) and voucher service subsidies (服务补贴): SQL payroll = reference rule."""

import datetime as dt
import random

import pytest
from django.db import IntegrityError, transaction

from yiyang.assessments.models import Assessment
from yiyang.benefits import bankfile, facts, release, rules, services, vouchers
from yiyang.benefits.models import (
    BankStatus,
    PaymentLine,
    Programme,
    Tier,
    VoucherAccount,
    VoucherEntry,
)
from yiyang.benefits.rules import RuleError
from yiyang.conftest import make_id_number
from yiyang.core.errors import PermissionDenied
from yiyang.people.models import Elder, HardshipStatus
from yiyang.people.services import register_elder

from .conftest import MONTH, TODAY

GRADES = {2: 10_000, 3: 20_000, 4: 30_000}


def _grade_programme(code, *, mode="cash", hardship=("dibao", "tekun")):
    programme = Programme.objects.create(code=code, name=code, kind="care_subsidy", area_id="5107", enrolment="automatic",
                                         tier_basis="grade", hardship_categories=list(hardship), payment_mode=mode)
    for grade, fen in GRADES.items():
        Tier.objects.create(programme=programme, label=f"grade-{grade}", min_age=60, grade=grade, amount_fen=fen,
                            effective_from=dt.date(2020, 1, 1))
    return programme


def assess(elder, grade, valid_from, valid_until=None):
    return Assessment.objects.create(
        elder=elder, instrument="GB/T 42195-2022", reason="first", status="approved", requester_kind="official",
        assessors_required=0, grade=grade, preliminary_grade=grade, total=50, valid_from=valid_from,
        valid_until=valid_until or valid_from + dt.timedelta(days=365), reviewed_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


@pytest.fixture
def care(city):
    return _grade_programme("huli")


@pytest.fixture
def mixed_population(city, care):
    """Random grades (some expiring, some starting mid-month), hardship statuses, deaths, ages 59–101."""
    rng = random.Random(11)
    system = city.user("city")
    elders = []
    for n in range(150):
        county = ("510703", "510704")[n % 2]
        birth = rules.birth_cutoff(rules.last_day(MONTH), rng.choice([60, 61, 75, 90])) + dt.timedelta(days=rng.choice([-3, 0, 2]))
        elder = register_elder(acting_user=system, today=TODAY, data={
            "name": f"护{n}", "id_number": make_id_number(county, birth, 300 + n, "MF"[n % 2]),
            "area_code": f"{county}00100{1 + n % 2}"})
        elders.append(elder)
        if rng.random() < 0.8:
            start = MONTH + dt.timedelta(days=rng.choice([-200, -1, 0, 1, 10]))
            assess(elder, rng.randint(0, 4), start, start + dt.timedelta(days=rng.choice([5, 400])))
        if rng.random() < 0.7:
            began = MONTH + dt.timedelta(days=rng.choice([-90, 0, 3]))
            ended = rng.choice([None, MONTH - dt.timedelta(days=1), MONTH])
            HardshipStatus.objects.create(elder=elder, category=rng.choice(["dibao", "tekun", "empty_nest"]),
                                          start_date=began, end_date=ended if ended is None or ended >= began else None,
                                          source="civil_affairs")
        if rng.random() < 0.15:
            Elder.objects.filter(pk=elder.pk).update(status="deceased", death_date=MONTH + dt.timedelta(days=rng.choice([-1, 0, 5])))
    return elders


def test_sql_payroll_agrees_with_the_reference_rule(mixed_population, care):
    services.run_payroll(programme_code="huli", month=MONTH, today=TODAY)
    paid = {line.elder_id: (line.tier, line.amount_fen) for line in PaymentLine.objects.filter(programme=care)}
    tiers = services.tiers_in_force(care, MONTH)
    expected = {}
    for elder in Elder.objects.filter(pk__in=[e.pk for e in mixed_population]):
        tier = rules.payment_for(birth_date=elder.birth_date, status=elder.status, death_date=elder.death_date,
                                 month=MONTH, tiers=tiers, grade=facts.grade_on(elder, care, MONTH),
                                 hardship_ok=facts.hardship_ok(elder, care, MONTH))
        if tier is not None:
            expected[elder.pk] = (tier.label, tier.amount_fen)
    assert paid == expected
    assert len(expected) >= 5, "the population must exercise the paid branch"
    assert len(expected) < len(mixed_population) - 10, "and the unpaid ones"


def test_grade_is_read_on_the_first_day_of_the_month(city, care):
    elder = city.elders["510703"][0]  # holds an open 特困 status since before the month
    HardshipStatus.objects.filter(elder=elder).update(start_date=MONTH - dt.timedelta(days=100))
    assess(elder, 3, MONTH + dt.timedelta(days=1))
    services.run_payroll(programme_code="huli", month=MONTH, today=TODAY)
    assert not PaymentLine.objects.filter(programme=care, elder=elder).exists()
    november = dt.date(2026, 11, 1)
    services.run_payroll(programme_code="huli", month=november, today=TODAY)
    assert PaymentLine.objects.get(programme=care, elder=elder, month=november).amount_fen == 20_000


def test_grade_tier_tables_are_checked():
    with pytest.raises(RuleError, match="overlap"):
        rules.check_tier_table([rules.TierSpec("a", 60, None, 100, 2), rules.TierSpec("b", 60, None, 200, 2)], by_grade=True)
    with pytest.raises(RuleError, match="grade"):
        rules.check_tier_table([rules.TierSpec("a", 60, None, 100, 2), rules.TierSpec("b", 60, None, 200)], by_grade=True)
    with pytest.raises(RuleError, match="grade"):
        rules.check_tier_table([rules.TierSpec("a", 80, None, 100, 2)])
    rules.check_tier_table([rules.TierSpec("a", 60, None, 100, 2), rules.TierSpec("b", 60, None, 200, 4)], by_grade=True)


def test_a_worse_grade_never_pays_less():
    tiers = [rules.TierSpec(f"g{g}", 60, None, fen, g) for g, fen in GRADES.items()]
    amounts = [getattr(rules.tier_for_age(tiers, 70, g), "amount_fen", 0) for g in range(5)]
    assert amounts == sorted(amounts) and amounts[:2] == [0, 0]


# --- vouchers -------------------------------------------------------------------------------


@pytest.fixture
def voucher_month(city):
    programme = _grade_programme("fuwu", mode="voucher", hardship=())
    elders = city.elders["510703"][:2]
    for elder in elders:
        assess(elder, 4, MONTH - dt.timedelta(days=30))
    run = services.run_payroll(programme_code="fuwu", month=MONTH, area_code="510703", today=TODAY).run
    release.approve_county(run, county_code="510703", acting_user=city.user("county_a"))
    release.release(run, acting_user=city.user("county_a"))
    return programme, run, elders


def test_a_released_voucher_month_credits_balances_not_the_bank(voucher_month, city):
    programme, run, elders = voucher_month
    assert [vouchers.balance(e, programme) for e in elders] == [30_000, 30_000]
    assert set(run.lines.values_list("bank_status", flat=True)) == {BankStatus.VOUCHER}
    assert VoucherEntry.objects.filter(payment_line__run=run).count() == 2
    with pytest.raises(RuleError, match="voucher"):
        bankfile.bank_file(run, acting_user=city.user("county_a"))


def test_draws_are_idempotent_and_never_overdraw(voucher_month, city, django_user_model):
    programme, _run, (elder, _other) = voucher_month
    with pytest.raises(PermissionDenied):
        vouchers.draw(elder, programme_code="fuwu", amount_fen=100, reference="ORD-1", acting_user=city.user("agent"))
    official = django_user_model.objects.create_superuser("t-root", password="x")
    first = vouchers.draw(elder, programme_code="fuwu", amount_fen=12_000, reference="ORD-1", acting_user=official)
    again = vouchers.draw(elder, programme_code="fuwu", amount_fen=12_000, reference="ORD-1", acting_user=official)
    assert first.pk == again.pk and vouchers.balance(elder, programme) == 18_000
    with pytest.raises(RuleError, match="does not cover"):
        vouchers.draw(elder, programme_code="fuwu", amount_fen=18_001, reference="ORD-2", acting_user=official)
    assert vouchers.balance(elder, programme) == 18_000
    with pytest.raises(IntegrityError), transaction.atomic():
        VoucherAccount.objects.filter(elder=elder, programme=programme).update(balance_fen=-1)
    back = vouchers.refund("ORD-1", actor=official)
    assert back.amount_fen == 12_000 and vouchers.refund("ORD-1", actor=official).pk == back.pk
    assert vouchers.balance(elder, programme) == 30_000

