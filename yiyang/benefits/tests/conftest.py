"""Benefit fixtures: the demo rules' 高龄津贴 and a population around every payroll boundary."""

import datetime as dt
import random

import pytest

from yiyang.benefits import rules
from yiyang.benefits.models import Programme, Tier
from yiyang.conftest import make_id_number
from yiyang.people.models import Elder
from yiyang.people.services import register_elder

MONTH = dt.date(2026, 10, 1)
TODAY = dt.date(2026, 11, 22)


@pytest.fixture
def gaoling(db):
    programme = Programme.objects.create(code="gaoling", name="高龄津贴", kind="allowance", area_id="5107",
                                         enrolment="automatic")
    for label, low, high, fen in (("80-89", 80, 89, 2_500), ("90-99", 90, 99, 10_000), ("100+", 100, None, 40_000)):
        Tier.objects.create(programme=programme, label=label, min_age=low, max_age=high, amount_fen=fen,
                            effective_from=dt.date(2017, 1, 1))
    return programme


@pytest.fixture
def population(city, gaoling):
    """Elders around every boundary: 80/90/100th birthdays near the month's end, deaths around its start."""
    rng = random.Random(7)
    system = city.user("city")
    end = rules.last_day(MONTH)
    births = []
    for age in (79, 80, 89, 90, 99, 100, 101):
        for offset in (-1, 0, 1, 15, 40):
            births.append(rules.birth_cutoff(end, age) + dt.timedelta(days=offset))
    elders = []
    for n, birth in enumerate(births):
        county = "510703" if n % 2 else "510704"
        elder = register_elder(acting_user=system, today=TODAY, data={
            "name": f"测{n}", "id_number": make_id_number(county, birth, 100 + n, "MF"[n % 2]),
            "area_code": f"{county}00100{1 + n % 2}"})
        elders.append(elder)
    for elder in rng.sample(elders, 12):
        death = MONTH + dt.timedelta(days=rng.choice([-40, -1, 0, 1, 30]))
        Elder.objects.filter(pk=elder.pk).update(status="deceased", death_date=death)
    for elder in rng.sample(elders, 4):
        Elder.objects.filter(pk=elder.pk, status="alive").update(status="moved_away", moved_away_date=MONTH)
    return elders
