"""The pure checks of a device message: signature, envelope, body, clock, topic, size."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yiyang.alarms import validation
from yiyang.alarms.catalogue import DEVICE_ALARM_TYPES, TELEMETRY_TYPES
from yiyang.alarms.validation import Rejected

NOW = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=10)


def test_signature_worked_example_of_the_docs():
    """The example in docs/devices.md, so the documentation cannot drift from the code."""
    body = '{"msg_id":"42","ts":"2026-05-01T08:00:00+08:00","type":"sos"}'
    expected = validation.sign(body, "demo-secret-1")
    text = (Path(__file__).resolve().parents[3] / "docs" / "devices.md").read_text(encoding="utf-8")
    assert body in text and expected in text


@given(body=st.text(max_size=200), secret=st.text(min_size=1, max_size=40))
def test_a_signature_verifies_only_its_own_body_and_secret(body, secret):
    sig = validation.sign(body, secret)
    assert len(sig) == 64 and validation.signature_ok(body, sig, secret)
    assert validation.signature_ok(body, sig.upper(), secret)
    assert not validation.signature_ok(body + " ", sig, secret)
    assert not validation.signature_ok(body, sig, secret + "x")
    assert not validation.signature_ok(body, sig[:-1], secret)


@given(st.binary(max_size=300))
def test_any_bytes_are_an_envelope_or_a_rejection(payload):
    try:
        body, sig = validation.parse_envelope(payload)
    except Rejected as exc:
        assert exc.reason in {"not_json", "bad_envelope"}
    else:
        assert isinstance(body, str) and isinstance(sig, str)


@pytest.mark.parametrize("payload, reason", [
    (b"{not json", "not_json"), (b"\xff\xfe", "not_json"), (b"[1, 2]", "bad_envelope"),
    (b'{"body": {"msg_id": "1"}, "sig": "ab"}', "bad_envelope"), (b'{"body": "{}"}', "bad_envelope"),
])
def test_malformed_envelopes(payload, reason):
    with pytest.raises(Rejected) as caught:
        validation.parse_envelope(payload)
    assert caught.value.reason == reason


def test_size_is_checked_before_anything_is_parsed():
    validation.check_size(b"x" * validation.MAX_PAYLOAD_BYTES)
    with pytest.raises(Rejected) as caught:
        validation.check_size(b"x" * (validation.MAX_PAYLOAD_BYTES + 1))
    assert caught.value.reason == "too_large"


@given(st.text(max_size=200) | json_values.map(json.dumps))
def test_any_body_text_is_a_message_or_a_rejection(text):
    try:
        message = validation.parse_body(text)
    except Rejected as exc:
        assert exc.reason in {"bad_body", "unknown_type"}
    else:
        assert message.type in DEVICE_ALARM_TYPES | TELEMETRY_TYPES


@settings(max_examples=200)
@given(kind=st.sampled_from(sorted(DEVICE_ALARM_TYPES)), msg_id=json_values, ts=json_values,
       extra=st.dictionaries(st.sampled_from(["battery", "lat", "lon", "level"]), json_values, max_size=3))
def test_an_authenticated_alarm_is_never_refused_for_its_fields(kind, msg_id, ts, extra):
    """Whatever is wrong with msg_id, ts or the optional fields, an SOS (fall, smoke ...) is kept."""
    text = json.dumps({"msg_id": msg_id, "ts": ts, "type": kind, **extra})
    message = validation.parse_body(text)
    assert message.type == kind and message.msg_id
    if not (isinstance(msg_id, str) and validation.MSG_ID_RE.fullmatch(msg_id)):
        assert message.msg_id == validation.body_digest_id(text)  # the same body again is the same alarm
        assert message.problems


def test_alarm_without_usable_ts_is_kept_with_no_device_time_and_flagged():
    message = validation.parse_body(json.dumps({"msg_id": "m1", "ts": "yesterday", "type": "fall"}))
    assert message.device_time is None and any("ts" in p for p in message.problems)
    assert validation.clock_skewed(message.device_time, NOW, 300)


@pytest.mark.parametrize("body, reason", [
    ({"msg_id": "t1", "ts": "2026-05-01T08:00:00+08:00", "type": "vitals"}, "bad_body"),  # no metric
    ({"msg_id": "t1", "ts": "2026-05-01T08:00:00+08:00", "type": "vitals", "heart_rate": "fast"}, "bad_body"),
    ({"msg_id": "t1", "ts": "2026-05-01T08:00:00", "type": "heartbeat"}, "bad_body"),  # no offset
    ({"msg_id": "", "ts": "2026-05-01T08:00:00+08:00", "type": "heartbeat"}, "bad_body"),
    ({"msg_id": "t1", "ts": "2026-05-01T08:00:00+08:00", "type": "location", "lat": 95, "lon": 104}, "bad_body"),
    ({"msg_id": "t1", "ts": "2026-05-01T08:00:00+08:00", "type": "door", "state": "ajar"}, "bad_body"),
    ({"msg_id": "t1", "ts": "2026-05-01T08:00:00+08:00", "type": "heartbeat", "battery": 101}, "bad_body"),
    ({"msg_id": "t1", "ts": "2026-05-01T08:00:00+08:00", "type": "selfie"}, "unknown_type"),
    ({"msg_id": "t1", "ts": "2026-05-01T08:00:00+08:00"}, "unknown_type"),
])
def test_telemetry_must_follow_the_schema(body, reason):
    with pytest.raises(Rejected) as caught:
        validation.parse_body(json.dumps(body))
    assert caught.value.reason == reason


def test_a_valid_reading_keeps_its_fields_and_time():
    message = validation.parse_body(json.dumps({"msg_id": "r-1", "ts": "2026-05-01T16:00:00+08:00", "type": "vitals",
                                                "heart_rate": 72, "breathing_rate": 16, "in_bed": True}))
    assert message.fields == {"heart_rate": 72, "breathing_rate": 16, "in_bed": True}
    assert message.device_time == NOW and not message.problems


@pytest.mark.parametrize("ts", ["2026-05-01T08:00:00Z", "2026-05-01T16:00:00+08:00", "2026-05-01T08:00:00.000+00:00"])
def test_offsets_are_honoured(ts):
    assert validation.parse_time(ts) == NOW


@pytest.mark.parametrize("ts", ["2026-05-01T08:00:00", "2026-05-01", "0001-01-01T00:00:00+14:00", 1714550400, None])
def test_times_without_offset_or_out_of_range_are_refused(ts):
    with pytest.raises((ValueError, TypeError)):
        validation.parse_time(ts)


@given(offset=st.floats(min_value=-4e8, max_value=4e8, allow_nan=False), tolerance=st.integers(1, 3600))
def test_clock_skew_is_flagged_beyond_the_tolerance_either_way(offset, tolerance):
    device_time = NOW + dt.timedelta(seconds=offset)
    assert validation.clock_skewed(device_time, NOW, tolerance) == (abs(offset) > tolerance)


@given(st.from_regex(validation.DEVICE_ID_RE, fullmatch=True))
def test_device_id_comes_from_the_topic(device_id):
    assert validation.device_id_from_topic(f"yiyang/devices/{device_id}/events", "yiyang/devices") == device_id


@pytest.mark.parametrize("topic, reason", [
    ("yiyang/devices/a/b/events", "unknown_device"), ("other/devices/x/events", "bad_topic"),
    ("yiyang/devices/x/ack", "bad_topic"), ("yiyang/devices//events", "unknown_device"),
    ("pre/yiyang/devices/x/events", "bad_topic"),
])
def test_bad_topics(topic, reason):
    with pytest.raises(Rejected) as caught:
        validation.device_id_from_topic(topic, "yiyang/devices")
    assert caught.value.reason == reason
