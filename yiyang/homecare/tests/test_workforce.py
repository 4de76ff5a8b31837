"""The provider's roster: workers, skills and certificates, shifts and leave, own organisation only."""

import datetime as dt

import pytest

from yiyang.accounts.roles import Role
from yiyang.conftest import _user
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditEntry
from yiyang.homecare import services, workforce
from yiyang.homecare.models import Leave, Shift, Worker, WorkerSkill
from yiyang.organizations.models import Organization, OrganizationKind

from .conftest import DAY

T = dt.time


def _other_dispatcher():
    other = Organization.objects.create(name="别家服务中心", kind=OrganizationKind.PROVIDER, area_id="510703001002")
    return _user("t-other-dispatcher", Role.PROVIDER_DISPATCHER, organization=other)


def _add(city, **overrides):
    data = {"name": "新护理员", "phone": "138 1234 5678", "base_latitude": 31.47, "base_longitude": 104.68,
            "skills": [{"skill": "bathing"}, {"skill": "nursing", "certificate_no": "HL-9",
                                              "valid_until": DAY + dt.timedelta(days=10)}]}
    return workforce.add_worker(acting_user=city.user("dispatcher"), **{**data, **overrides})


def test_a_dispatcher_adds_a_worker_of_their_own_provider_with_skills_and_an_audited_masked_phone(city, care):
    worker = _add(city)
    assert worker.provider == city.provider and worker.phone == "13812345678"
    assert {(ws.skill.code, ws.certificate_no) for ws in worker.worker_skills.select_related("skill")} == {
        ("bathing", ""), ("nursing", "HL-9")}
    entry = AuditEntry.objects.get(object_type="homecare.worker", object_id=str(worker.pk))
    assert entry.actor == city.user("dispatcher") and entry.area_code == city.provider.area_id
    assert entry.after["phone"].startswith("138****5678 #") and "13812345678" not in str(entry.after)
    assert [s["skill"] for s in entry.after["skills"]] == ["bathing", "nursing"]


def test_adding_a_worker_refuses_bad_input_field_by_field_and_saves_nothing(city, care):
    before = Worker.objects.count()
    with pytest.raises(ValidationError) as caught:
        _add(city, name=" ", phone="12345", base_latitude=123.0, base_longitude=None,
             skills=[{"skill": "nursing", "certificate_no": "HL-1"}, {"skill": "flying"}])
    errors = caught.value.message_dict
    assert set(errors) == {"name", "phone", "base_latitude", "base_longitude", "skills"}
    assert any("needs a certificate" in e for e in errors["skills"]) and any("flying" in e for e in errors["skills"])
    assert Worker.objects.count() == before


def test_a_new_worker_may_be_linked_to_a_free_caregiver_login_of_the_same_organisation_only(city, care):
    login = _user("t-new-carer", Role.CAREGIVER, organization=city.provider)
    worker = _add(city, user_id=login.pk)
    assert worker.user == login
    with pytest.raises(ValidationError, match="caregiver login"):
        _add(city, user_id=login.pk)  # already used
    stranger = _user("t-stranger-carer", Role.CAREGIVER, organization=_other_dispatcher().organization)
    with pytest.raises(ValidationError, match="caregiver login"):
        _add(city, user_id=stranger.pk)


@pytest.mark.parametrize("who", ["county_a", "agent", "t-worker-1"])
def test_only_dispatchers_keep_the_roster(city, care, who):
    user = care.nurse.user if who == "t-worker-1" else city.user(who)
    with pytest.raises(PermissionDenied):
        workforce.add_worker(acting_user=user, name="x", base_latitude=31.0, base_longitude=104.0)
    with pytest.raises(PermissionDenied):
        workforce.add_shift(care.helper, acting_user=user, day=DAY, start=T(8), end=T(17))
    with pytest.raises(PermissionDenied):
        workforce.add_leave(care.helper, acting_user=user, first_day=DAY, last_day=DAY)


def test_a_dispatcher_of_another_provider_cannot_touch_our_workers(city, care):
    other = _other_dispatcher()
    with pytest.raises(PermissionDenied, match="another provider"):
        workforce.set_skills(care.helper, acting_user=other, skills=[])
    with pytest.raises(PermissionDenied, match="another provider"):
        workforce.add_shift(care.helper, acting_user=other, day=DAY, start=T(8), end=T(17))
    with pytest.raises(PermissionDenied, match="another provider"):
        workforce.add_leave(care.helper, acting_user=other, first_day=DAY, last_day=DAY)
    assert care.helper.worker_skills.count() == 1 and not care.helper.shifts.exists() and not care.helper.leaves.exists()
    worker = workforce.add_worker(acting_user=other, name="别家人", base_latitude=31.0, base_longitude=104.0)
    assert worker.provider == other.organization


def test_set_skills_replaces_the_skills_and_lets_the_worker_take_certified_services(city, care, order):
    dispatcher = city.user("dispatcher")
    order = services.accept(order, acting_user=dispatcher)
    assert "lacks the skill" in services.worker_unfit(care.helper, order)
    workforce.set_skills(care.helper, acting_user=dispatcher, skills=[
        {"skill": "bathing"}, {"skill": "nursing", "certificate_no": "HL-2", "valid_until": DAY}])
    assert services.worker_unfit(care.helper, order) is None
    workforce.set_skills(care.helper, acting_user=dispatcher, skills=[{"skill": "nursing", "certificate_no": "HL-2",
                                                                       "valid_until": DAY - dt.timedelta(days=1)}])
    assert list(care.helper.worker_skills.values_list("skill__code", flat=True)) == ["nursing"]
    assert "lacks the skill" in services.worker_unfit(care.helper, order)  # bathing taken away
    entries = AuditEntry.objects.filter(object_type="homecare.worker", object_id=str(care.helper.pk))
    assert entries.count() == 2 and entries.latest("id").before["skills"][0]["skill"] == "bathing"


def test_a_shift_replaces_the_days_earlier_shift_and_may_repeat_until_a_day(city, care):
    dispatcher = city.user("dispatcher")
    workforce.add_shift(care.helper, acting_user=dispatcher, day=DAY, start=T(8), end=T(12))
    shifts = workforce.add_shift(care.helper, acting_user=dispatcher, day=DAY, start=T(9), end=T(17),
                                 break_start=T(12), break_minutes=45, until=DAY + dt.timedelta(days=4))
    assert len(shifts) == 5 and Shift.objects.filter(worker=care.helper).count() == 5
    first = Shift.objects.get(worker=care.helper, day=DAY)
    assert (first.start, first.end, first.break_start, first.break_minutes) == (T(9), T(17), T(12), 45)


@pytest.mark.parametrize("hours, field", [
    ({"start": T(17), "end": T(9)}, "end"),
    ({"start": T(9), "end": T(17), "break_start": T(16, 30), "break_minutes": 60}, "break_start"),
    ({"start": T(9), "end": T(10), "break_minutes": 60}, "break_minutes"),
    ({"start": T(9), "end": T(17), "until": DAY - dt.timedelta(days=1)}, "until"),
    ({"start": T(9), "end": T(17), "until": DAY + dt.timedelta(days=70)}, "until"),
])
def test_impossible_shifts_are_refused_on_the_field_at_fault(city, care, hours, field):
    with pytest.raises(ValidationError) as caught:
        workforce.add_shift(care.helper, acting_user=city.user("dispatcher"), day=DAY, **hours)
    assert field in caught.value.message_dict
    assert not Shift.objects.filter(worker=care.helper).exists()


def test_leave_keeps_orders_off_the_worker_and_may_not_overlap(city, care, order):
    dispatcher = city.user("dispatcher")
    order = services.accept(order, acting_user=dispatcher)
    leave = workforce.add_leave(care.nurse, acting_user=dispatcher, first_day=DAY - dt.timedelta(days=1), last_day=DAY,
                                reason="病假")
    assert "on leave" in services.worker_unfit(care.nurse, order)
    assert AuditEntry.objects.filter(object_type="homecare.leave", object_id=str(leave.pk)).exists()
    with pytest.raises(ValidationError, match="already has leave"):
        workforce.add_leave(care.nurse, acting_user=dispatcher, first_day=DAY, last_day=DAY + dt.timedelta(days=3))
    with pytest.raises(ValidationError) as caught:
        workforce.add_leave(care.nurse, acting_user=dispatcher, first_day=DAY + dt.timedelta(days=5), last_day=DAY)
    assert "last_day" in caught.value.message_dict
    assert Leave.objects.filter(worker=care.nurse).count() == 1
    assert WorkerSkill.objects.filter(worker=care.nurse).count() == 2
