"""Ratings, complaints, the weekly follow-up sample and what a follow-up call does to the order."""

import datetime as dt

import pytest
from django.utils import timezone

from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.homecare import feedback, services
from yiyang.homecare.models import CallRecord, Complaint, FollowUpCall, Rating, ServiceOrder
from yiyang.homecare.rules import Status

from .conftest import DAY, at
from .visits import visit

MONDAY = DAY


def test_only_a_completed_order_is_rated_once_by_the_elder_side_or_the_hotline(city, care, order):
    agent = city.user("agent")
    with pytest.raises(ValidationError, match="completed"):
        feedback.rate(order, acting_user=agent, score=5, comment="")
    done = visit(city, care, day=MONDAY)
    with pytest.raises(PermissionDenied):
        feedback.rate(done, acting_user=city.user("dispatcher"), score=5)  # the provider rates itself: no
    with pytest.raises(ValidationError, match="1 to 5"):
        feedback.rate(done, acting_user=agent, score=6)
    rating = feedback.rate(done, acting_user=agent, score=4, comment="准时")
    assert (rating.score, rating.by, rating.comment) == (4, agent, "准时")
    with pytest.raises(ValidationError, match="already been rated"):
        feedback.rate(done, acting_user=agent, score=5)


def test_the_elders_own_portal_account_rates_its_own_orders_only(city, care):
    own = visit(city, care, day=MONDAY, elder=city.elders["510703"][0])  # the portal elder
    other = visit(city, care, day=MONDAY)
    elder_user = city.user("elder")
    assert feedback.rate(own, acting_user=elder_user, score=5).by == elder_user
    with pytest.raises(PermissionDenied):
        feedback.rate(other, acting_user=elder_user, score=1)


def test_an_official_handles_a_complaint_once_and_in_scope(city, care):
    complaint = Complaint.objects.create(elder=care.elder, provider=care.provider, channel="hotline", text="迟到一小时")
    with pytest.raises(PermissionDenied):
        feedback.handle_complaint(complaint, acting_user=city.user("county_b"), resolution="x")
    with pytest.raises(PermissionDenied):
        feedback.handle_complaint(complaint, acting_user=city.user("agent"), resolution="x")
    with pytest.raises(ValidationError):
        feedback.handle_complaint(complaint, acting_user=city.user("township_a"), resolution=" ")
    handled = feedback.handle_complaint(complaint, acting_user=city.user("township_a"), resolution="已约谈服务商")
    assert (handled.status, handled.resolution) == ("handled", "已约谈服务商") and handled.handled_at
    with pytest.raises(ValidationError, match="already been handled"):
        feedback.handle_complaint(complaint, acting_user=city.user("county_a"), resolution="again")


@pytest.fixture
def week_of_visits(city, care):
    """Twelve visits checked out in the week of MONDAY, two the week before, one still open."""
    orders = [visit(city, care, day=MONDAY + dt.timedelta(days=n % 7)) for n in range(12)]
    for n in (1, 2):
        visit(city, care, day=MONDAY - dt.timedelta(days=n))
    services.create_order(acting_user=city.user("agent"), elder_id=care.elder.pk, service_code="meal",
                          provider_id=care.provider.pk, window_start=orders[0].window_start,
                          window_end=orders[0].window_end)
    return orders


def test_the_sample_is_deterministic_idempotent_and_a_share_per_provider(city, care, week_of_visits):
    first = feedback.sample_follow_ups(MONDAY, share=0.2, seed="s1")
    picked = sorted(call.order_id for call in first.created)
    assert len(picked) == 3 and first.total == 3  # ceil(12 × 0.2)
    assert set(picked) <= {o.pk for o in week_of_visits}
    assert set(FollowUpCall.objects.values_list("week", flat=True)) == {MONDAY}
    again = feedback.sample_follow_ups(MONDAY + dt.timedelta(days=4), share=0.2, seed="s1")  # any day of the week
    assert (again.created, again.total) == ([], 3)
    FollowUpCall.objects.all().delete()
    assert sorted(c.order_id for c in feedback.sample_follow_ups(MONDAY, share=0.2, seed="s1").created) == picked
    samples = set()
    for seed in ("a", "b", "c", "d"):
        FollowUpCall.objects.all().delete()
        samples.add(tuple(sorted(c.order_id for c in feedback.sample_follow_ups(MONDAY, share=0.2, seed=seed).created)))
    assert len(samples) > 1  # the key, not the order ids, decides


def test_late_check_outs_top_the_sample_up_and_a_quiet_provider_gets_the_minimum(city, care, week_of_visits):
    first = feedback.sample_follow_ups(MONDAY, share=0.25, seed="s1")
    assert first.total == 3
    for _n in range(4):
        visit(city, care, day=MONDAY + dt.timedelta(days=5))
    topped = feedback.sample_follow_ups(MONDAY, share=0.25, seed="s1")
    assert (len(topped.created), topped.total) == (1, 4)  # ceil(16 × 0.25); the first three stay
    assert feedback.sample_follow_ups(MONDAY - dt.timedelta(days=7), share=0.1, minimum=2, seed="s1").total == 2
    assert feedback.sample_size(2, share=0.1, minimum=5) == 2 and feedback.sample_size(0, share=0.1, minimum=1) == 0


def _call(city, care, status_after=None):
    done = visit(city, care, day=MONDAY)
    if status_after == "confirmed":
        services.confirm(done, acting_user=city.user("agent"))
    return FollowUpCall.objects.create(order=done, week=MONDAY)


def test_a_confirmed_follow_up_confirms_the_order_and_rates_it(city, care):
    call = _call(city, care)
    agent = city.user("agent")
    with pytest.raises(PermissionDenied):
        feedback.record_follow_up(call, acting_user=city.user("county_a"), reached=True, service_confirmed=True)
    feedback.record_follow_up(call, acting_user=agent, reached=True, service_confirmed=True, satisfaction=5,
                              note="很满意")
    order = ServiceOrder.objects.get(pk=call.order_id)
    assert order.status == Status.CONFIRMED
    assert Rating.objects.get(order=order).score == 5
    record = CallRecord.objects.get(order=order)
    assert (record.direction, record.outcome, record.agent) == ("out", "follow_up", agent)
    with pytest.raises(ValidationError, match="already been recorded"):
        feedback.record_follow_up(call, acting_user=agent, reached=True, service_confirmed=False, note="x")


def test_a_denied_visit_is_disputed_and_not_rated(city, care):
    call = _call(city, care)
    with pytest.raises(ValidationError) as refused:
        feedback.record_follow_up(call, acting_user=city.user("agent"), reached=True, service_confirmed=False)
    assert "note" in refused.value.message_dict
    feedback.record_follow_up(call, acting_user=city.user("agent"), reached=True, service_confirmed=False,
                              satisfaction=1, note="老人说当天没人来")
    order = ServiceOrder.objects.get(pk=call.order_id)
    assert order.status == Status.DISPUTED
    assert order.events.get(to_status="disputed").note == "老人说当天没人来"
    assert not Rating.objects.filter(order=order).exists()


def test_a_denied_visit_already_confirmed_becomes_a_complaint(city, care):
    call = _call(city, care, status_after="confirmed")
    feedback.record_follow_up(call, acting_user=city.user("agent"), reached=True, service_confirmed=False,
                              note="没有上门")
    complaint = Complaint.objects.get(order=call.order)
    assert complaint.provider == care.provider and complaint.status == "open" and "没有上门" in complaint.text
    assert ServiceOrder.objects.get(pk=call.order_id).status == Status.CONFIRMED


def test_not_reached_leaves_the_order_and_may_be_tried_again(city, care):
    call = _call(city, care)
    feedback.record_follow_up(call, acting_user=city.user("agent"), reached=False, note="无人接听")
    call.refresh_from_db()
    assert call.reached is False and call.service_confirmed is None
    assert ServiceOrder.objects.get(pk=call.order_id).status == Status.CHECKED_OUT
    feedback.record_follow_up(call, acting_user=city.user("agent"), reached=True, service_confirmed=True)
    assert ServiceOrder.objects.get(pk=call.order_id).status == Status.CONFIRMED


def test_provider_quality_counts_ratings_complaints_disputes_and_flags(city, care):
    since = min(timezone.now(), at(0, day=MONDAY)) - dt.timedelta(days=1)
    good = visit(city, care, day=MONDAY)
    short = visit(city, care, day=MONDAY, minutes=5)
    denied = visit(city, care, day=MONDAY, far=True)
    feedback.rate(good, acting_user=city.user("agent"), score=5)
    feedback.rate(short, acting_user=city.user("agent"), score=2)
    services.dispute(denied, acting_user=city.user("agent"), reason="没来")
    Complaint.objects.create(elder=care.elder, provider=care.provider, channel="hotline", text="态度差")
    quality = feedback.provider_quality(care.provider, since)
    assert (quality.average_rating, quality.ratings, quality.complaints, quality.disputes) == (3.5, 2, 1, 1)
    assert (quality.visits, quality.flagged_visits) == (3, 2) and quality.flagged_share == pytest.approx(2 / 3)
