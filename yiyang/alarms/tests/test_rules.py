"""Pure rules: token buckets, the suppressing rejection log, vitals limits, safe zones."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yiyang.alarms import rules
from yiyang.alarms.ratelimit import KeyedLimiter, SuppressingLog, TokenBucket


@given(rate=st.floats(0.1, 20), burst=st.integers(1, 20),
       gaps=st.lists(st.floats(0, 3, allow_nan=False), min_size=1, max_size=200))
def test_a_bucket_never_lets_more_through_than_burst_plus_rate_times_time(rate, burst, gaps):
    bucket, now, allowed = TokenBucket(rate, burst), 0.0, 0
    for gap in gaps:
        now += gap
        allowed += bucket.take(now)
    assert allowed <= burst + rate * now + 1e-9


def test_a_bucket_refills_at_its_rate():
    bucket = TokenBucket(rate=1.0, burst=5)
    assert [bucket.take(0.0) for _ in range(6)] == [True] * 5 + [False]
    assert not bucket.take(0.5)
    assert bucket.take(1.01) and not bucket.take(1.02)
    assert sum(bucket.take(100.0) for _ in range(10)) == 5  # never more than the burst after a long pause


def test_keys_have_their_own_buckets_and_idle_ones_are_forgotten():
    limiter = KeyedLimiter(rate=1.0, burst=2, max_keys=3)
    assert limiter.allow("a", 0) and limiter.allow("a", 0) and not limiter.allow("a", 0)
    assert limiter.allow("b", 0)
    limiter.allow("c", 0)
    limiter.allow("d", 10)  # the fourth key: a and b, full again by now, are dropped
    assert set(limiter.buckets) == {"d"}


def test_the_rejection_log_writes_a_burst_then_counts():
    log = SuppressingLog(rate=1.0, burst=2)
    assert log.admit("k", 0) == (True, 0)
    assert log.admit("k", 0) == (True, 0)
    assert log.admit("k", 0) == (False, 0)
    assert log.admit("k", 0.1) == (False, 0)
    assert log.admit("other", 0.1) == (True, 0)
    assert log.admit("k", 1.5) == (True, 2)  # the next written row carries the two not written
    log.admit("k", 1.5)
    assert log.pending() == {"k": 1} and log.pending() == {}


def test_vitals_alarm_when_a_metric_crosses_its_limit_not_while_it_stays_out():
    limits = rules.limits_for({"heart_rate": (50, 100)})
    first = rules.judge_vitals({"heart_rate": 120, "breathing_rate": 16}, limits, [])
    assert first.alarm == {"breaches": {"heart_rate": {"value": 120, "min": 50, "max": 100}}, "new": ["heart_rate"]}
    assert first.state == ["heart_rate"]
    still = rules.judge_vitals({"heart_rate": 125}, limits, first.state)
    assert still.alarm is None and still.state == ["heart_rate"]
    worse = rules.judge_vitals({"heart_rate": 125, "spo2": 85}, limits, still.state)
    assert worse.alarm["new"] == ["spo2"] and set(worse.alarm["breaches"]) == {"heart_rate", "spo2"}
    back = rules.judge_vitals({"heart_rate": 80, "spo2": 97}, limits, worse.state)
    assert back.alarm is None and back.state == []
    assert rules.judge_vitals({"heart_rate": 101}, limits, back.state).alarm is not None


def test_the_elders_own_limit_replaces_the_default():
    assert rules.breaches({"heart_rate": 120}, rules.limits_for({})) == {}
    assert "heart_rate" in rules.breaches({"heart_rate": 120}, rules.limits_for({"heart_rate": (None, 110)}))
    assert rules.breaches({"heart_rate": 35}, rules.limits_for({"heart_rate": (30, None)})) == {}


def test_haversine_distance():
    # One degree of latitude is about 111.2 km anywhere.
    assert rules.distance_m(31.0, 104.0, 32.0, 104.0) == pytest.approx(111_195, rel=1e-3)
    assert rules.distance_m(31.4, 104.7, 31.4, 104.7) == 0


def test_leaving_every_zone_raises_once():
    home = rules.Zone("home", 31.46, 104.68, 500)
    daughter = rules.Zone("daughter", 31.50, 104.70, 300)
    inside = rules.judge_position(31.461, 104.681, [home, daughter], was_outside=False)
    assert inside.alarm is None and inside.outside is False
    away = rules.judge_position(31.49, 104.70, [home, daughter], was_outside=False)
    assert away.outside is True and away.alarm["nearest_zone"] == "daughter" and away.alarm["metres_outside"] > 0
    assert rules.judge_position(31.48, 104.681, [home, daughter], was_outside=True).alarm is None
    assert rules.judge_position(31.50, 104.70, [home, daughter], was_outside=True).outside is False


def test_no_zone_means_nothing_to_judge():
    verdict = rules.judge_position(0, 0, [], was_outside=False)
    assert verdict.alarm is None and verdict.outside is None
