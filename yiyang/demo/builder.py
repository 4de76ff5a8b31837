"""The synthetic demo city: a deterministic, 绵阳-like city built from a seed.

Age pyramid: 60+ ≈ 23.7 % of residents and 80+ ≈ 3.8 % (seed 001), so about
16 % of elders are 80+. Hardship rates follow the orders of magnitude in the
seeds. Everything is generated in chunks and written with COPY (PostgreSQL) or
executemany (SQLite), with explicit ids, so a million elders fit in minutes and
well under 2 GB.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.db import connection, transaction

from yiyang.accounts.models import User
from yiyang.accounts.roles import Role
from yiyang.alarms.demo import build_devices
from yiyang.areas import divisions
from yiyang.areas.models import Area, Level
from yiyang.areas.reference import load_reference_divisions
from yiyang.assessments.models import Assessment
from yiyang.core import bulk, crypto
from yiyang.organizations.models import Organization, OrganizationKind
from yiyang.people import idnumber
from yiyang.people.models import Contact, Elder, ElderAccess, HardshipStatus, Household

from . import homecare, names

DEFAULT_PASSWORD = "demo-pass-2026"
CHUNK = 20_000

# (lowest age, highest age, share of elders)
AGE_BANDS = [
    (60, 64, 0.28), (65, 69, 0.25), (70, 74, 0.18), (75, 79, 0.13),
    (80, 84, 0.09), (85, 89, 0.05), (90, 94, 0.016), (95, 99, 0.0035), (100, 104, 0.0005),
]
# category -> probability for any elder (rural-only categories are scaled up in villages)
HARDSHIP_RATES = {
    "tekun": 0.015, "dibao": 0.05, "dibao_edge": 0.01, "living_alone": 0.10, "empty_nest": 0.25,
    "left_behind": 0.08, "disabled": 0.03, "semi_disabled": 0.06, "severe_disability": 0.015,
    "family_planning_special": 0.005, "priority_care": 0.01,
}
ARRANGEMENT_BY_HARDSHIP = {"living_alone": "alone", "empty_nest": "spouse_only"}


@dataclass
class Village:
    code: str
    lat: float
    lon: float
    urban: bool
    weight: float


@dataclass
class DemoCity:
    city: str
    villages: list[Village] = field(default_factory=list)
    townships: list[str] = field(default_factory=list)
    township_names: dict[str, str] = field(default_factory=dict)


def _place_name(rng: random.Random) -> str:
    s = names.PLACE_SYLLABLES
    i = rng.randrange(0, len(s) - 1, 2)
    return s[i:i + 2]


def build_areas(rng: random.Random, city: str) -> DemoCity:
    """Townships (9 digits) and villages (12 digits) for every county of ``city``."""
    demo = DemoCity(city=city)
    areas = []
    for code, _name, lat, lon, dlat, dlon, urban_district in divisions.COUNTIES:
        if not code.startswith(city):
            continue
        n_townships = rng.randint(10, 18)
        used: set[str] = set()
        for t in range(1, n_townships + 1):
            t_code = f"{code}{t:03d}"
            t_urban = urban_district and t <= n_townships // 2 or (not urban_district and t == 1)
            while (word := _place_name(rng)) in used:
                pass
            used.add(word)
            suffix = "街道" if t_urban else ("镇" if rng.random() < 0.7 else "乡")
            t_lat = lat + rng.uniform(-dlat, dlat) * 0.8
            t_lon = lon + rng.uniform(-dlon, dlon) * 0.8
            areas.append(Area(code=t_code, name=word + suffix, level=Level.TOWNSHIP, parent_id=code,
                              is_urban=t_urban, latitude=round(t_lat, 6), longitude=round(t_lon, 6)))
            demo.townships.append(t_code)
            demo.township_names[t_code] = word + suffix
            v_used: set[str] = set()
            for v in range(1, rng.randint(8, 14) + 1):
                v_code = f"{t_code}{v:03d}"
                while (v_word := _place_name(rng)) in v_used:
                    pass
                v_used.add(v_word)
                v_lat = min(max(t_lat + rng.uniform(-0.04, 0.04), lat - dlat), lat + dlat)
                v_lon = min(max(t_lon + rng.uniform(-0.04, 0.04), lon - dlon), lon + dlon)
                areas.append(Area(code=v_code, name=v_word + ("社区" if t_urban else "村"), level=Level.VILLAGE,
                                  parent_id=t_code, is_urban=t_urban, latitude=round(v_lat, 6), longitude=round(v_lon, 6)))
                weight = rng.uniform(2.0, 4.0) if t_urban else rng.uniform(0.6, 1.6)
                demo.villages.append(Village(v_code, v_lat, v_lon, t_urban, weight))
    Area.objects.bulk_create(areas, batch_size=2000)
    return demo


def _age_sampler(rng: random.Random):
    bands = [(lo, hi) for lo, hi, _ in AGE_BANDS]
    weights = [w for _, _, w in AGE_BANDS]

    def sample() -> int:
        lo, hi = rng.choices(bands, weights)[0]
        return rng.randint(lo, hi)

    return sample


def _birth_date(rng: random.Random, age: int, today: dt.date) -> dt.date:
    """A birth date giving completed age ``age`` on ``today``."""
    latest = today.replace(year=today.year - age) if not (today.month == 2 and today.day == 29) else dt.date(today.year - age, 2, 28)
    return latest - dt.timedelta(days=rng.randint(0, 364))


def _name(rng: random.Random, sex: str) -> str:
    surname = rng.choice(names.SURNAMES[:10]) if rng.random() < 0.4 else rng.choice(names.SURNAMES)
    pool = names.GIVEN_MALE if sex == "M" else names.GIVEN_FEMALE
    given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.8 else "")
    return surname + given


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('35789')}{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}"


class ElderGenerator:
    """Yields elder rows (and their households, contacts, hardships) chunk by chunk."""

    def __init__(self, rng: random.Random, demo: DemoCity, today: dt.date):
        self.rng = rng
        self.demo = demo
        self.today = today
        self.age = _age_sampler(rng)
        self.sequence: dict[tuple[str, dt.date, str], int] = {}
        self.counties = sorted({v.code[:6] for v in demo.villages})
        self.village_weights = [v.weight for v in demo.villages]

    def id_number(self, village: Village, birth: dt.date, sex: str) -> str:
        # Most IDs carry the county of birth = the county of residence; some were issued elsewhere.
        address = village.code[:6] if self.rng.random() < 0.9 else self.rng.choice(self.counties + ["510724", "510122"])
        key = (address, birth, sex)
        n = self.sequence.get(key, 0)
        self.sequence[key] = n + 1
        seq = 2 * n + (1 if sex == "M" else 0)  # odd = male, even = female
        if seq > 999:
            raise RuntimeError("demo ID sequence exhausted; use fewer elders per county and day")
        first17 = f"{address}{birth:%Y%m%d}{seq:03d}"
        return first17 + idnumber.check_char(first17)


ASSESSMENT_FIELDS = ["id", "elder", "instrument", "reason", "status", "requester_kind", "requested_at", "note",
                     "assessors_required", "answers", "total", "preliminary_grade", "grade", "reviewed_at",
                     "return_reason", "cancel_reason", "valid_from", "valid_until", "updated_at"]
GRADE_TOTALS = {0: (90, 100), 1: (66, 89), 2: (46, 65), 3: (30, 45), 4: (5, 29)}


def _assessed_grade(rng: random.Random, age: int, cats: list[str]) -> int | None:
    """Who holds a current ability assessment, and its grade: the disabled, many in hardship, some of the old."""
    if "disabled" in cats or "severe_disability" in cats:
        return rng.choice([3, 3, 4])
    if "semi_disabled" in cats:
        return rng.choice([1, 2, 2])
    chance = 0.3 if ("dibao" in cats or "tekun" in cats) else (0.08 if age >= 80 else 0.02)
    if rng.random() < chance:
        return rng.choices([0, 1, 2, 3, 4], weights=[30, 30, 20, 12, 8])[0]
    return None


def _assessment_row(rng: random.Random, pk: int, elder_id: int, grade: int, today: dt.date, now) -> tuple:
    """An approved GB/T 42195-2022 result, valid for a year from a day in the last eleven months."""
    valid_from = today - dt.timedelta(days=rng.randint(20, 330))
    total = rng.randint(*GRADE_TOTALS[grade])
    return (pk, elder_id, "GB/T 42195-2022", "first", "approved", "official", now, "", 2, "", total, grade, grade,
            now, "", "", valid_from, valid_from + dt.timedelta(days=364), now)


def build_elders(rng: random.Random, demo: DemoCity, count: int, today: dt.date, progress=None) -> list[int]:
    """Write ``count`` elders with households, contacts and hardship records. Returns some alive elder ids."""
    gen = ElderGenerator(rng, demo, today)
    elder_id = bulk.next_id(Elder)
    household_id = bulk.next_id(Household)
    contact_id = bulk.next_id(Contact)
    hardship_id = bulk.next_id(HardshipStatus)
    now = dt.datetime.now(dt.UTC)
    sample_alive: list[int] = []
    elder_fields = ["id", "name", "id_number", "id_index", "id_last4_index", "id_converted_from_15", "birth_date", "sex",
                    "phone", "phone_index", "area", "address", "latitude", "longitude", "hukou_area_code", "household",
                    "living_arrangement", "status", "death_date", "moved_away_date", "moved_to", "chronic_conditions",
                    "family_doctor", "family_doctor_signed_on", "created_at", "updated_at"]
    contact_fields = ["id", "elder", "name", "relation", "phone", "phone_index", "is_guardian", "is_emergency",
                      "lives_together", "priority"]
    hardship_fields = ["id", "elder", "category", "start_date", "end_date", "source", "evidence", "recorded_by", "recorded_at"]
    assessment_id = bulk.next_id(Assessment)
    conditions = ["高血压", "糖尿病", "冠心病", "慢阻肺", "脑卒中后遗症", "骨关节病", "阿尔茨海默病"]
    made = 0
    while made < count:
        n = min(CHUNK, count - made)
        elders, households, contacts, hardships, assessments = [], [], [], [], []
        villages = rng.choices(demo.villages, gen.village_weights, k=n)
        i = 0
        while i < n:
            village = villages[i]
            couple = i + 1 < n and rng.random() < 0.35
            members = 2 if couple else 1
            street = rng.choice(names.STREET_WORDS) if village.urban else f"{rng.randint(1, 12)}组"
            address = f"{street}{rng.randint(1, 300)}号"
            households.append((household_id, village.code, address))
            lat = round(village.lat + rng.uniform(-0.008, 0.008), 6)
            lon = round(village.lon + rng.uniform(-0.008, 0.008), 6)
            base_sex = "M" if rng.random() < 0.48 else "F"
            for m in range(members):
                sex = base_sex if m == 0 else ("F" if base_sex == "M" else "M")
                age = gen.age()
                if sex == "M" and age >= 85 and rng.random() < 0.35:
                    sex = "F"  # women outlive men
                birth = _birth_date(rng, age, today)
                number = gen.id_number(village, birth, sex)
                phone = _phone(rng) if rng.random() < (0.8 if age < 80 else 0.5) else ""
                cats = [c for c, p in HARDSHIP_RATES.items() if rng.random() < p * (1.6 if c == "left_behind" and not village.urban else 1)]
                if couple and "living_alone" in cats:
                    cats.remove("living_alone")
                arrangement = next((ARRANGEMENT_BY_HARDSHIP[c] for c in cats if c in ARRANGEMENT_BY_HARDSHIP),
                                   "spouse_only" if couple else rng.choice(["with_children", "with_children", "alone", "with_relatives"]))
                roll = rng.random()
                status, death, moved, moved_to = "alive", None, None, ""
                if roll < 0.02:
                    status, death = "deceased", today - dt.timedelta(days=rng.randint(1, 700))
                    death = max(death, birth + dt.timedelta(days=60 * 366))
                elif roll < 0.025:
                    status, moved, moved_to = "moved_away", today - dt.timedelta(days=rng.randint(1, 700)), "成都市"
                chronic = "、".join(rng.sample(conditions, rng.randint(1, 2))) if rng.random() < 0.55 else ""
                doctor = f"{demo.township_names[village.code[:9]]}卫生院 {_name(rng, rng.choice('MF'))}" if rng.random() < 0.6 else ""
                elders.append((
                    elder_id, _name(rng, sex), crypto.encrypt(number), crypto.blind_index(number, "id"),
                    crypto.blind_index(number[-4:], "id4"), False, birth, sex,
                    crypto.encrypt(phone) if phone else "", crypto.blind_index(phone, "phone") if phone else "",
                    village.code, address, lat, lon, village.code[:6] if rng.random() < 0.9 else "510724", household_id,
                    arrangement, status, death, moved, moved_to, crypto.encrypt(chronic) if chronic else "",
                    doctor, (today - dt.timedelta(days=rng.randint(30, 1500))) if doctor else None, now, now,
                ))
                for c in cats:
                    start = today - dt.timedelta(days=rng.randint(30, 3000))
                    hardships.append((hardship_id, elder_id, c, start, None, rng.choice(["civil_affairs", "village_report"]),
                                      f"民政核对〔{start.year}〕{rng.randint(1, 999)}号", None, now))
                    hardship_id += 1
                grade = _assessed_grade(rng, age, cats)
                if grade is not None and status == "alive":
                    assessments.append(_assessment_row(rng, assessment_id, elder_id, grade, today, now))
                    assessment_id += 1
                if m == 0:
                    for k in range(1 if rng.random() < 0.6 else 2):
                        child_sex = rng.choice("MF")
                        c_phone = _phone(rng)
                        contacts.append((contact_id, elder_id, _name(rng, child_sex), "son" if child_sex == "M" else "daughter",
                                         crypto.encrypt(c_phone), crypto.blind_index(c_phone, "phone"), k == 0 and age >= 85,
                                         True, arrangement == "with_children" and k == 0, k + 1))
                        contact_id += 1
                if status == "alive" and len(sample_alive) < 200:
                    sample_alive.append(elder_id)
                elder_id += 1
            household_id += 1
            i += members
        with transaction.atomic():
            bulk.insert_rows(Household, ["id", "area", "address"], households)
            bulk.insert_rows(Elder, elder_fields, elders)
            bulk.insert_rows(Contact, contact_fields, contacts)
            bulk.insert_rows(HardshipStatus, hardship_fields, hardships)
            bulk.insert_rows(Assessment, ASSESSMENT_FIELDS, assessments)
        made += len(elders)
        if progress:
            progress(made, count)
    for model in (Household, Elder, Contact, HardshipStatus, Assessment):
        bulk.reset_sequence(model)
    return sample_alive


def build_organizations(rng: random.Random, demo: DemoCity) -> dict[str, list[Organization]]:
    """A few organisations of each kind per county."""
    by_kind: dict[str, list[Organization]] = {k: [] for k in OrganizationKind.values}
    orgs = []
    for county in sorted({v.code[:6] for v in demo.villages}):
        county_villages = [v for v in demo.villages if v.code.startswith(county)]
        county_name = Area.objects.get(code=county).name
        plan = [
            (OrganizationKind.INSTITUTION, ["{c}社会福利院", "{c}{p}敬老院", "{c}康养中心"]),
            (OrganizationKind.PROVIDER, ["{c}{p}居家养老服务中心", "{c}安康家政养老服务有限公司"]),
            (OrganizationKind.COMMUNITY_CENTRE, ["{p}社区日间照料中心"]),
            (OrganizationKind.MEAL_POINT, ["{p}长者食堂"]),
            (OrganizationKind.ASSESSMENT_AGENCY, ["{c}老年人能力评估中心"]),
            (OrganizationKind.VOLUNTEER_TEAM, ["{p}“五老”志愿服务队"]),
        ]
        for kind, patterns in plan:
            for pattern in patterns:
                v = rng.choice(county_villages)
                org = Organization(name=pattern.format(c=county_name, p=_place_name(rng)), kind=kind, area_id=v.code,
                                   address=f"{_place_name(rng)}路{rng.randint(1, 200)}号",
                                   latitude=round(v.lat, 6), longitude=round(v.lon, 6), phone=f"0816-{rng.randint(2000000, 8999999)}")
                orgs.append(org)
    created = Organization.objects.bulk_create(orgs)
    for org in created:
        by_kind[org.kind].append(org)
    return by_kind


def build_accounts(demo: DemoCity, orgs: dict[str, list[Organization]], elder_ids: list[int], password: str) -> list[tuple[str, str]]:
    """The demo accounts of CONTRACT.md; returns (username, description) pairs."""
    from django.contrib.auth.hashers import make_password

    hashed = make_password(password)
    accounts: list[tuple[User, str]] = []

    def add(username, role, description, **kw):
        accounts.append((User(username=username, role=role, password=hashed, **kw), description))

    add("city", Role.CITY_OFFICIAL, "市民政局（全市）", scope_area_id=demo.city, full_name="市民政局")
    counties = sorted({v.code[:6] for v in demo.villages})
    for county in counties:
        add(f"county-{county}", Role.COUNTY_OFFICIAL, f"县级民政（{county}）", scope_area_id=county)
        township = next(t for t in demo.townships if t.startswith(county))
        add(f"township-{township}", Role.TOWNSHIP_OFFICIAL, f"乡镇（街道）（{township}）", scope_area_id=township)
        village = next(v.code for v in demo.villages if v.code.startswith(township))
        add(f"village-{village}", Role.VILLAGE_OFFICIAL, f"村（社区）（{village}）", scope_area_id=village)
    add("agent", Role.HOTLINE_AGENT, "12349 热线坐席", scope_area_id=demo.city)
    add("inspector", Role.INSPECTOR, "监管检查员", scope_area_id=demo.city)
    add("assessor", Role.ASSESSOR, "能力评估员", scope_area_id=demo.city)
    for provider in orgs[OrganizationKind.PROVIDER]:
        add(f"dispatcher-{provider.pk}", Role.PROVIDER_DISPATCHER, f"派单员（{provider.name}）", organization=provider)
    for institution in orgs[OrganizationKind.INSTITUTION]:
        add(f"operator-{institution.pk}", Role.INSTITUTION_OPERATOR, f"机构运营（{institution.name}）", organization=institution)
    for team in orgs[OrganizationKind.VOLUNTEER_TEAM][:3]:
        add(f"volunteer-{team.pk}", Role.VOLUNTEER, f"志愿者（{team.name}）", organization=team)
    for n in range(1, min(5, len(elder_ids)) + 1):
        add(f"elder-{n}", Role.ELDER, "老年人或家属（门户）")
    User.objects.bulk_create([u for u, _ in accounts])
    links = [ElderAccess(user=User.objects.get(username=f"elder-{n}"), elder_id=elder_ids[n - 1], relation="self")
             for n in range(1, min(5, len(elder_ids)) + 1)]
    ElderAccess.objects.bulk_create(links)
    return [(u.username, d) for u, d in accounts]


def build_programmes(city: str) -> None:
    """The demo city's three subsidies (三大补贴).

    - 高龄津贴 ``gaoling`` exactly as CONTRACT.md's demo rules (绵阳's tiers, automatic,
      no hukou, no back-pay);
    - 护理补贴 ``huli`` for elders in economic hardship (低保, 特困) by ability grade
      (中度 100, 重度 200, 完全失能 300 yuan a month), cash;
    - 服务补贴 ``fuwu`` for hardship elders (低保, 特困, 计生特殊家庭), 30 yuan a month
      from 60 and 50 from 80, as a voucher balance that home-care orders draw on.
    """
    from yiyang.benefits.models import Programme, Tier

    programme = Programme.objects.create(
        code="gaoling", name="高龄津贴", kind=Programme.Kind.ALLOWANCE, payment_mode=Programme.PaymentMode.CASH,
        area_id=city, enrolment=Programme.Enrolment.AUTOMATIC, hukou_required=False, publicity_days=0, back_pay=False)
    since = dt.date(2017, 1, 1)
    Tier.objects.bulk_create([
        Tier(programme=programme, label="80-89", min_age=80, max_age=89, amount_fen=2_500, effective_from=since),
        Tier(programme=programme, label="90-99", min_age=90, max_age=99, amount_fen=10_000, effective_from=since),
        Tier(programme=programme, label="100+", min_age=100, max_age=None, amount_fen=40_000, effective_from=since),
    ])
    care = Programme.objects.create(
        code="huli", name="经济困难失能老年人护理补贴", kind=Programme.Kind.CARE_SUBSIDY,
        payment_mode=Programme.PaymentMode.CASH, area_id=city, enrolment=Programme.Enrolment.AUTOMATIC,
        tier_basis=Programme.TierBasis.GRADE, hardship_categories=["dibao", "tekun"])
    Tier.objects.bulk_create([
        Tier(programme=care, label=label, min_age=60, grade=grade, amount_fen=fen, effective_from=since)
        for label, grade, fen in (("中度失能", 2, 10_000), ("重度失能", 3, 20_000), ("完全失能", 4, 30_000))
    ])
    service = Programme.objects.create(
        code="fuwu", name="经济困难老年人服务补贴", kind=Programme.Kind.SERVICE_SUBSIDY,
        payment_mode=Programme.PaymentMode.VOUCHER, area_id=city, enrolment=Programme.Enrolment.AUTOMATIC,
        hardship_categories=["dibao", "tekun", "family_planning_special"])
    Tier.objects.bulk_create([
        Tier(programme=service, label="60-79", min_age=60, max_age=79, amount_fen=3_000, effective_from=since),
        Tier(programme=service, label="80+", min_age=80, max_age=None, amount_fen=5_000, effective_from=since),
    ])


def database_is_empty() -> bool:
    return not Elder.objects.exists() and not User.objects.filter(role=Role.CITY_OFFICIAL).exists()


def reset_database() -> None:
    """Remove all data (audit log included) and restore the reference divisions."""
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
    load_reference_divisions(Area)


def build(*, elders: int = 20_000, seed: int = 2026, city: str = "5107", password: str = DEFAULT_PASSWORD,
          today: dt.date | None = None, progress=None, home_care: bool = True) -> list[tuple[str, str]]:
    """Build the whole demo city into an empty database; returns the demo accounts.

    ``home_care=False`` leaves out the home-care data (tests of other domains build faster).
    """
    if city not in {c for c, *_ in divisions.CITIES}:
        raise ValueError(f"unknown demo city {city}; choose one of {', '.join(c for c, *_ in divisions.CITIES)}")
    today = today or dt.date.today()
    rng = random.Random(seed)
    load_reference_divisions(Area)
    with transaction.atomic():
        demo = build_areas(rng, city)
        orgs = build_organizations(rng, demo)
        build_programmes(city)
    elder_ids = build_elders(rng, demo, elders, today, progress=progress)
    with transaction.atomic():
        accounts = build_accounts(demo, orgs, elder_ids, password)
        build_devices(elder_ids)  # demo-dev-1 … demo-dev-50 (CONTRACT.md)
    if home_care:
        with transaction.atomic():
            accounts += homecare.build(rng, orgs, User.objects.get(username="city").password, today)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return accounts
