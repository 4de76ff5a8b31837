"""The demo city's home care: a catalogue, provider profiles, workers with logins and shifts, orders.

Orders go through the real services (create, accept, assign, check-in/out,
confirm), so the demo shows what the platform itself produces: today's orders in
every state for each county's first provider, and last month's completed orders
ready for settlement.
"""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from yiyang.accounts.models import User
from yiyang.accounts.roles import Role
from yiyang.homecare import services
from yiyang.homecare.models import ProviderProfile, ServiceType, Shift, Skill, Worker, WorkerSkill
from yiyang.organizations.models import Organization, OrganizationKind
from yiyang.people.models import Elder

SKILLS = [("bathing", "助浴", False), ("nursing", "护理", True), ("rehabilitation", "康复", True),
          ("cooking", "烹饪", False), ("cleaning", "保洁", False)]
# code, name, kind, minutes, price (fen), skills, paid by the 服务补贴 voucher
CATALOGUE = [
    ("meal-delivery", "助餐送餐", "meals", 30, 1_200, ["cooking"], True),
    ("bathing", "上门助浴", "bathing", 60, 8_000, ["bathing"], True),
    ("cleaning", "居家保洁", "cleaning", 90, 6_000, ["cleaning"], True),
    ("emergency", "紧急上门助急", "emergency", 45, 0, [], False),
    ("medical-escort", "助医陪诊", "escort", 120, 10_000, [], True),
    ("mobility", "助行", "mobility", 60, 4_000, [], True),
    ("housekeeping", "家政服务", "housekeeping", 120, 9_000, ["cleaning"], False),
    ("errands", "代购代办", "errands", 45, 2_000, [], True),
    ("companionship", "精神慰藉", "companionship", 60, 3_000, [], True),
    ("rehabilitation", "康复护理", "rehabilitation", 60, 12_000, ["rehabilitation"], True),
    ("home-nursing", "居家护理", "home_nursing", 60, 10_000, ["nursing"], True),
    ("medical-help", "助医（代配药、测血压）", "medical", 30, 3_000, ["nursing"], True),
]
WORKERS_PER_PROVIDER = 6


def build_catalogue() -> dict[str, ServiceType]:
    skills = {code: Skill.objects.create(code=code, name=name, certificate_required=cert) for code, name, cert in SKILLS}
    catalogue = {}
    for code, name, kind, minutes, price, needs, voucher in CATALOGUE:
        service = ServiceType.objects.create(code=code, name=name, kind=kind, duration_minutes=minutes,
                                             unit_price_fen=price, voucher_programmes=["fuwu"] if voucher else [])
        service.skills.set([skills[s] for s in needs])
        catalogue[code] = service
    return catalogue


def build_providers(orgs: dict[str, list[Organization]], catalogue: dict[str, ServiceType]) -> list[ProviderProfile]:
    """Providers and institutions serve their county at home; meal points and day centres their township."""
    profiles = []
    home_services = [s for s in catalogue.values()]
    for kind, services_offered, width in (
            (OrganizationKind.PROVIDER, home_services, 6),
            (OrganizationKind.INSTITUTION, [catalogue["home-nursing"], catalogue["rehabilitation"],
                                            catalogue["bathing"], catalogue["medical-help"]], 6),
            (OrganizationKind.MEAL_POINT, [catalogue["meal-delivery"]], 9),
            (OrganizationKind.COMMUNITY_CENTRE, [catalogue["companionship"], catalogue["meal-delivery"]], 9)):
        for org in orgs[kind]:
            profile = ProviderProfile.objects.create(organization=org, service_areas=[org.area_id[:width]],
                                                     opening_hours={str(d): ["08:00", "18:00"] for d in range(1, 8)})
            profile.services.set(services_offered)
            profiles.append(profile)
    return profiles


def build_workers(rng: random.Random, providers: list[Organization], hashed_password: str,
                  today: dt.date) -> list[tuple[str, str]]:
    """Each provider's workers, each with a ``worker-<n>`` login, skills, certificates and a week of shifts."""
    skills = list(Skill.objects.all())
    accounts, n = [], 0
    for provider in providers:
        for _k in range(WORKERS_PER_PROVIDER):
            n += 1
            user = User.objects.create(username=f"worker-{n}", role=Role.CAREGIVER, password=hashed_password,
                                       organization=provider, full_name=f"护理员{n}")
            worker = Worker.objects.create(
                provider=provider, user=user, name=f"护理员{n}", phone=f"139{rng.randint(10_000_000, 99_999_999)}",
                base_latitude=round((provider.latitude or 31.46) + rng.uniform(-0.01, 0.01), 6),
                base_longitude=round((provider.longitude or 104.68) + rng.uniform(-0.01, 0.01), 6))
            for skill in rng.sample(skills, rng.randint(2, len(skills))):
                WorkerSkill.objects.create(worker=worker, skill=skill,
                                           certificate_no=f"ZJ{rng.randint(100000, 999999)}" if skill.certificate_required else "",
                                           valid_until=today + dt.timedelta(days=rng.randint(60, 700)))
            Shift.objects.bulk_create([
                Shift(worker=worker, day=today + dt.timedelta(days=d), start=dt.time(8), end=dt.time(17),
                      break_start=dt.time(12), break_minutes=60) for d in range(-35, 8)])
            accounts.append((user.username, f"护理员（{provider.name}）"))
    return accounts


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def build_orders(rng: random.Random, providers: list[Organization], agent: User, today: dt.date) -> int:
    """Today's orders in every state and last month's completed ones, for each county's first provider."""
    made = 0
    for provider in providers:
        profile = provider.provider_profile
        offered = [s for s in profile.services.all() if s.unit_price_fen > 0]
        elders = list(Elder.objects.filter(area__code__startswith=profile.service_areas[0], status="alive",
                                           latitude__isnull=False).order_by("id")[:60])
        workers = list(provider.workers.all())
        dispatcher = User.objects.filter(organization=provider, role=Role.PROVIDER_DISPATCHER).first()
        if not elders or not workers or dispatcher is None:
            continue
        last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=10)
        for i, elder in enumerate(elders[:30]):
            day = today if i < 20 else last_month + dt.timedelta(days=i % 15)
            service = rng.choice(offered)
            start = rng.choice([8, 9, 10, 13, 14, 15])
            order = services.create_order(acting_user=agent, elder_id=elder.pk, service_code=service.code,
                                          provider_id=provider.pk, window_start=_at(day, start),
                                          window_end=_at(day, start + 2))
            made += 1
            stage = rng.randint(0, 5) if day == today else 5
            if stage >= 1:
                order = services.accept(order, acting_user=dispatcher)
            worker = next((w for w in rng.sample(workers, 3) if services.worker_unfit(w, order) is None), None)
            if stage >= 2 and worker is not None:
                order = services.assign(order, worker, acting_user=dispatcher)
            else:
                continue
            worker_user = order.worker.user
            if stage >= 3:
                arrive = _at(day, start, rng.randint(0, 50))
                order = services.check_in(order, acting_user=worker_user, at=arrive,
                                          latitude=elder.latitude + rng.uniform(-0.001, 0.001),
                                          longitude=elder.longitude + rng.uniform(-0.001, 0.001))
            if stage >= 4:
                order = services.check_out(order, acting_user=worker_user, latitude=elder.latitude,
                                           longitude=elder.longitude, notes="服务完成",
                                           at=arrive + dt.timedelta(minutes=rng.choice([service.duration_minutes, 15])))
            if stage >= 5 and day != today:
                services.confirm(order, acting_user=agent)
    return made


def build(rng: random.Random, orgs: dict[str, list[Organization]], hashed_password: str,
          today: dt.date) -> list[tuple[str, str]]:
    """Everything above; returns the worker accounts for the printed list."""
    catalogue = build_catalogue()
    build_providers(orgs, catalogue)
    providers = orgs[OrganizationKind.PROVIDER]
    accounts = build_workers(rng, providers, hashed_password, today)
    agent = User.objects.get(username="agent")
    first_per_county = list({p.area_id[:6]: p for p in reversed(providers)}.values())
    build_orders(rng, first_per_county, agent, today)
    return accounts
