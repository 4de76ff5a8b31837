"""Home-care fixtures: a provider serving 涪城区 with a catalogue, two workers and orders at a known home."""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from yiyang.accounts.roles import Role
from yiyang.conftest import _user
from yiyang.homecare import services
from yiyang.homecare.models import ProviderProfile, ServiceType, Skill, Worker, WorkerSkill
from yiyang.people.models import Elder

HOME = (31.4680, 104.6790)
DAY = dt.date(2026, 11, 23)


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@dataclass
class Care:
    provider: object
    profile: ProviderProfile
    bath: ServiceType
    meal: ServiceType
    nurse: Worker
    helper: Worker
    second_dispatcher: object
    elder: Elder


@pytest.fixture
def care(city):
    bathing = Skill.objects.create(code="bathing", name="助浴")
    nursing = Skill.objects.create(code="nursing", name="护理", certificate_required=True)
    bath = ServiceType.objects.create(code="bath", name="助浴", kind="bathing", duration_minutes=60,
                                      unit_price_fen=8_000, voucher_programmes=["fuwu"])
    bath.skills.add(bathing, nursing)
    meal = ServiceType.objects.create(code="meal", name="助餐", kind="meals", duration_minutes=30, unit_price_fen=1_500)
    profile = ProviderProfile.objects.create(organization=city.provider, service_areas=["510703"])
    profile.services.add(bath, meal)
    nurse_user = _user("t-worker-1", Role.CAREGIVER, organization=city.provider)
    helper_user = _user("t-worker-2", Role.CAREGIVER, organization=city.provider)
    nurse = Worker.objects.create(provider=city.provider, user=nurse_user, name="护理员甲",
                                  base_latitude=31.46, base_longitude=104.67)
    helper = Worker.objects.create(provider=city.provider, user=helper_user, name="助理乙",
                                   base_latitude=31.46, base_longitude=104.67)
    WorkerSkill.objects.create(worker=nurse, skill=bathing)
    WorkerSkill.objects.create(worker=nurse, skill=nursing, certificate_no="HL-1", valid_until=DAY + dt.timedelta(days=90))
    WorkerSkill.objects.create(worker=helper, skill=bathing)
    elder = city.elders["510703"][1]
    Elder.objects.filter(pk=elder.pk).update(latitude=HOME[0], longitude=HOME[1])
    elder.refresh_from_db()
    second = _user("t-dispatcher-2", Role.PROVIDER_DISPATCHER, organization=city.provider)
    return Care(city.provider, profile, bath, meal, nurse, helper, second, elder)


@pytest.fixture
def order(city, care):
    """A 助浴 order placed by the hotline for 09:00–11:00 on DAY."""
    return services.create_order(acting_user=city.user("agent"), elder_id=care.elder.pk, service_code="bath",
                                 provider_id=care.provider.pk, window_start=at(9), window_end=at(11))
