"""Service orders: the state machine, assignment races, visit verification, vouchers."""

import datetime as dt
import itertools

import pytest
from django.core.exceptions import ValidationError

from yiyang.homecare import rules, services
from yiyang.homecare.models import OrderEvent, ServiceOrder
from yiyang.homecare.rules import Party, Status, TransitionError

from .conftest import HOME, at

ALL = list(Status.values)


@pytest.mark.parametrize("current, target, party", list(itertools.product(ALL, ALL, Party.values)))
def test_every_pair_of_states_is_allowed_exactly_as_the_table_says(current, target, party):
    allowed = party in rules.TRANSITIONS.get((current, target), ())
    if allowed:
        rules.check_transition(current, target, party)
    else:
        with pytest.raises(TransitionError):
            rules.check_transition(current, target, party)


def test_final_states_lead_nowhere_and_every_state_is_reachable():
    assert not [pair for pair in rules.TRANSITIONS if pair[0] in rules.FINAL_STATUSES]
    reachable, frontier = {Status.REQUESTED}, [Status.REQUESTED]
    while frontier:
        state = frontier.pop()
        for (frm, to) in rules.TRANSITIONS:
            if frm == state and to not in reachable:
                reachable.add(to)
                frontier.append(to)
    assert reachable == set(Status.values)


def _worker_user(care, worker):
    return worker.user


def test_the_whole_happy_path_records_who_when_and_where(city, care, order):
    dispatcher = city.user("dispatcher")
    order = services.accept(order, acting_user=dispatcher)
    order = services.assign(order, care.nurse, acting_user=dispatcher)
    nurse = care.nurse.user
    order = services.start_trip(order, acting_user=nurse)
    order = services.check_in(order, acting_user=nurse, latitude=HOME[0] + 0.0005, longitude=HOME[1], at=at(9, 5))
    order = services.check_out(order, acting_user=nurse, latitude=HOME[0], longitude=HOME[1], at=at(10, 10),
                               notes="洗浴完成")
    order = services.confirm(order, acting_user=city.user("agent"))
    assert order.status == Status.CONFIRMED and order.flags == [] and order.check_in_distance_m == 56
    steps = list(OrderEvent.objects.filter(order=order).values_list("from_status", "to_status"))
    assert steps == [("", "requested"), ("requested", "accepted"), ("accepted", "assigned"), ("assigned", "on_the_way"),
                     ("on_the_way", "checked_in"), ("checked_in", "checked_out"), ("checked_out", "confirmed")]
    assert OrderEvent.objects.get(order=order, to_status="checked_in").latitude == pytest.approx(HOME[0] + 0.0005)


def test_two_dispatchers_assigning_at_once_one_wins_and_the_other_is_told(city, care, order):
    first, second = city.user("dispatcher"), care.second_dispatcher
    order = services.accept(order, acting_user=first)
    seen_by_second = ServiceOrder.objects.get(pk=order.pk)  # both looked at the unassigned order
    services.assign(order, care.nurse, acting_user=first)
    with pytest.raises(TransitionError, match="护理员甲"):
        services.assign(seen_by_second, care.helper, acting_user=second, expected_worker_id=None)
    assert ServiceOrder.objects.get(pk=order.pk).worker == care.nurse


def test_a_worker_without_the_certified_skill_cannot_be_assigned(city, care, order):
    order = services.accept(order, acting_user=city.user("dispatcher"))
    with pytest.raises(TransitionError, match="护理"):
        services.assign(order, care.helper, acting_user=city.user("dispatcher"))
    care.nurse.worker_skills.filter(skill__code="nursing").update(valid_until=dt.date(2026, 11, 1))
    with pytest.raises(TransitionError, match="certificate"):
        services.assign(order, care.nurse, acting_user=city.user("dispatcher"))


def test_only_the_assigned_worker_checks_in_and_only_once(city, care, order):
    dispatcher = city.user("dispatcher")
    order = services.assign(services.accept(order, acting_user=dispatcher), care.nurse, acting_user=dispatcher)
    with pytest.raises(services.PermissionDenied):
        services.check_in(order, acting_user=care.helper.user, latitude=HOME[0], longitude=HOME[1])
    services.check_in(order, acting_user=care.nurse.user, latitude=HOME[0], longitude=HOME[1])
    with pytest.raises(TransitionError, match="checked in"):
        services.check_in(order, acting_user=care.nurse.user, latitude=HOME[0], longitude=HOME[1])


def test_far_check_in_and_short_visit_are_flagged(city, care, order):
    dispatcher = city.user("dispatcher")
    order = services.assign(services.accept(order, acting_user=dispatcher), care.nurse, acting_user=dispatcher)
    order = services.check_in(order, acting_user=care.nurse.user, latitude=HOME[0] + 0.01, longitude=HOME[1], at=at(9))
    assert order.flags == [rules.FAR_CHECK_IN] and order.check_in_distance_m == 1112
    order = services.check_out(order, acting_user=care.nurse.user, latitude=None, longitude=None, at=at(9, 20))
    assert order.flags == [rules.FAR_CHECK_IN, rules.SHORT_VISIT]


def test_an_elder_outside_the_providers_area_is_refused(city, care):
    outside = city.elders["510704"][1]
    with pytest.raises(ValidationError) as refused:
        services.create_order(acting_user=city.user("agent"), elder_id=outside.pk, service_code="meal",
                              provider_id=care.provider.pk, window_start=at(11), window_end=at(12))
    assert "does not serve" in refused.value.message_dict["provider"][0]
    assert not ServiceOrder.objects.exists()


def test_cancelling_needs_a_reason_and_refunds_the_voucher(city, care, order):
    from yiyang.benefits.models import VoucherAccount
    from yiyang.benefits.tests.test_care_subsidies import _grade_programme

    programme = _grade_programme("fuwu", mode="voucher", hardship=())
    VoucherAccount.objects.create(programme=programme, elder=care.elder, balance_fen=10_000)
    paid = services.create_order(acting_user=city.user("agent"), elder_id=care.elder.pk, service_code="bath",
                                 provider_id=care.provider.pk, window_start=at(14), window_end=at(16),
                                 payer="voucher", voucher_programme="fuwu")
    assert VoucherAccount.objects.get(elder=care.elder).balance_fen == 2_000
    with pytest.raises(ValidationError) as short:
        services.create_order(acting_user=city.user("agent"), elder_id=care.elder.pk, service_code="bath",
                              provider_id=care.provider.pk, window_start=at(14), window_end=at(16),
                              payer="voucher", voucher_programme="fuwu")
    assert "does not cover" in short.value.message_dict["payer"][0]
    with pytest.raises(TransitionError, match="reason"):
        services.cancel(paid, acting_user=city.user("agent"), reason=" ")
    services.cancel(paid, acting_user=city.user("agent"), reason="老人住院")
    assert VoucherAccount.objects.get(elder=care.elder).balance_fen == 10_000
    assert ServiceOrder.objects.filter(payer="voucher").count() == 1


def test_a_caregiver_sees_only_their_own_orders(city, care, order):
    dispatcher = city.user("dispatcher")
    services.assign(services.accept(order, acting_user=dispatcher), care.nurse, acting_user=dispatcher)
    assert list(ServiceOrder.objects.for_user(care.nurse.user)) == [order]
    assert not ServiceOrder.objects.for_user(care.helper.user).exists()
    assert ServiceOrder.objects.for_user(city.user("county_a")).count() == 1
    assert not ServiceOrder.objects.for_user(city.user("county_b")).exists()


def test_a_recorded_death_cancels_open_orders_and_refunds(city, care, order):
    from yiyang.people.services import record_death

    record_death(care.elder, acting_user=city.user("county_a"), death_date=dt.date(2026, 11, 20))
    order.refresh_from_db()
    assert order.status == Status.CANCELLED
    assert OrderEvent.objects.filter(order=order, to_status="cancelled", actor__isnull=True).exists()
