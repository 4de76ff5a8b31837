"""The location trail page: thinning, scoping, auditing, playback data, and drawing a zone in Chromium."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from playwright.sync_api import expect

from yiyang.alarms import services, trail
from yiyang.alarms.models import Geofence, Telemetry
from yiyang.alarms.rules import distance_m
from yiyang.conftest import PASSWORD
from yiyang.core.models import AuditEntry
from yiyang.people.models import Elder

HOME = (31.45, 104.72)
T0 = dt.datetime(2026, 5, 1, 0, 0, tzinfo=dt.UTC)



def point(n, lat=HOME[0], lon=HOME[1], minutes=1.0):
    return trail.TrailPoint(lat, lon, T0 + dt.timedelta(minutes=n * minutes))


# --- thinning -----------------------------------------------------------------------------------


def test_jitter_at_home_collapses_but_the_end_of_a_long_stay_is_kept():
    stay = [point(n, HOME[0] + (n % 3) * 1e-5) for n in range(60)]  # an hour of 1 m jitter at home
    walk = [point(60 + n, HOME[0] + n * 0.001) for n in range(1, 6)]  # then 110 m steps
    kept = trail.thin(stay + walk)
    assert kept[0] == stay[0] and kept[-1] == walk[-1]
    assert stay[-1] in kept  # playback waits at home until the elder left
    assert len([p for p in kept if p in stay]) == 2
    assert all(p in kept for p in walk)


def test_a_long_tortuous_day_is_cut_to_the_limit():
    zigzag = [point(n, HOME[0] + (n % 2) * 0.01, HOME[1] + n * 1e-4, minutes=0.2) for n in range(5000)]
    kept = trail.thin(zigzag, max_points=300)
    assert len(kept) <= 300 and kept[0] == zigzag[0] and kept[-1] == zigzag[-1]


walks = st.lists(st.tuples(st.floats(-0.002, 0.002), st.floats(-0.002, 0.002), st.floats(0.05, 30)),
                 min_size=0, max_size=300)


@settings(max_examples=60, deadline=None)
@given(steps=walks, limit=st.integers(2, 120))
def test_thinning_keeps_order_ends_and_the_limit(steps, limit):
    points, lat, lon, at = [], *HOME, T0
    for dlat, dlon, minutes in steps:
        lat, lon, at = lat + dlat, lon + dlon, at + dt.timedelta(minutes=minutes)
        points.append(trail.TrailPoint(lat, lon, at))
    kept = trail.thin(points, max_points=limit)
    assert len(kept) <= max(limit, 2) or len(points) <= 2
    if points:
        assert kept[0] == points[0] and kept[-1] == points[-1]
    index = [points.index(p) for p in kept]
    assert index == sorted(index) and len(set(index)) == len(index)  # a subsequence, in time order


def test_the_map_draws_circles_to_scale_and_shows_at_least_a_kilometre():
    zone = trail.ZoneShape(1, "家", *HOME, 500)
    drawn = trail.drawing([], [zone], HOME, HOME, dt.UTC)
    projection, [shape] = drawn["projection"], drawn["zones"]
    assert shape["r"] == pytest.approx(500 / trail.METRES_PER_DEGREE * projection["scale"], abs=0.1)
    assert (shape["x"], shape["y"]) == drawn["home"]
    # A kilometre east of home lies inside the picture.
    east = trail.fit([], [zone], HOME, HOME)(HOME[0], HOME[1] + 1000 / (trail.METRES_PER_DEGREE * 0.853))
    assert 0 <= east[0] <= trail.WIDTH and 0 <= east[1] <= trail.HEIGHT


# --- the page -----------------------------------------------------------------------------------


@pytest.fixture
def elder(city):
    elder = city.elders["510703"][0]
    Elder.objects.filter(pk=elder.pk).update(latitude=HOME[0], longitude=HOME[1])
    elder.refresh_from_db()
    return elder


@pytest.fixture
def watch(elder):
    device, _ = services.register_device(acting_user=None, device_id="t-trail-watch", kind="gps_watch", elder=elder,
                                         secret="s")
    return device


def positions(device, start, count, step=dt.timedelta(minutes=1), north_m=100.0):
    rows = [Telemetry(device=device, msg_id=f"p{start.timestamp()}-{n}", type="location", device_time=start + n * step,
                      received_at=start + n * step,
                      data={"lat": HOME[0] + n * north_m / trail.METRES_PER_DEGREE, "lon": HOME[1]})
            for n in range(count)]
    Telemetry.objects.bulk_create(rows)
    return rows


def url(elder, **query):
    return f"/alarms/elders/{elder.pk}/trail/" + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def playback(html):
    found = re.search(r'<script id="trail-points" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def test_the_last_24_hours_are_drawn_in_order_with_zones_and_home(client, city, elder, watch):
    now = timezone.now()
    positions(watch, now - dt.timedelta(hours=30), 3)  # too old for the last 24 hours
    recent = positions(watch, now - dt.timedelta(hours=2), 5)
    zone = Geofence.objects.create(elder=elder, name="家附近", latitude=HOME[0], longitude=HOME[1], radius_m=500)
    Geofence.objects.create(elder=elder, name="旧", latitude=HOME[0], longitude=HOME[1], radius_m=900, is_active=False)
    client.force_login(city.user("county_a"))
    html = client.get(url(elder)).content.decode()
    points = playback(html)
    assert [p["t"] for p in points] == [round(r.received_at.timestamp() * 1000) for r in recent]
    assert [p["lat"] for p in points] == [round(r.data["lat"], 6) for r in recent]
    assert points[0]["label"] == timezone.localtime(recent[0].received_at).strftime("%m-%d %H:%M:%S")
    assert 'data-testid="trail-line"' in html and 'data-testid="home"' in html
    assert html.count('class="yy-zone"') == 1 and f"zone-circle-{zone.pk}" in html
    assert 'src="/static/yiyang/trail.js"' in html and "Positions received: 5." in html


def test_a_chosen_day_shows_that_day_only(client, city, elder, watch):
    day = dt.date(2026, 4, 20)
    start = dt.datetime.combine(day, dt.time(23, 0), tzinfo=timezone.get_current_timezone())
    rows = positions(watch, start - dt.timedelta(minutes=2), 5)  # 22:58 … 23:02 on the 20th
    client.force_login(city.user("county_a"))
    points = playback(client.get(url(elder, day="2026-04-20")).content.decode())
    assert [p["t"] for p in points] == [round(r.received_at.timestamp() * 1000) for r in rows]
    next_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), tzinfo=start.tzinfo)
    late = positions(watch, next_day - dt.timedelta(seconds=30), 2, step=dt.timedelta(seconds=60))
    points = playback(client.get(url(elder, day="2026-04-21")).content.decode())
    assert [p["t"] for p in points] == [round(late[1].received_at.timestamp() * 1000)]


def test_thousands_of_positions_are_thinned_for_the_page(client, city, elder, watch):
    rows = positions(watch, timezone.now() - dt.timedelta(hours=20), 3000, step=dt.timedelta(seconds=20), north_m=3)
    client.force_login(city.user("county_a"))
    html = client.get(url(elder)).content.decode()
    points = playback(html)
    assert len(points) < 1000 and "Positions received: 3000." in html
    assert points[0]["t"] == round(rows[0].received_at.timestamp() * 1000)
    assert points[-1]["t"] == round(rows[-1].received_at.timestamp() * 1000)
    assert [p["t"] for p in points] == sorted(p["t"] for p in points)
    gaps = [distance_m(a["lat"], a["lon"], b["lat"], b["lon"]) for a, b in zip(points, points[1:-1], strict=False)]
    assert min(gaps) >= trail.MIN_SPACING_M - 0.5


def test_reading_a_trail_is_audited(client, city, elder, watch):
    positions(watch, timezone.now() - dt.timedelta(hours=1), 4)
    client.force_login(city.user("agent"))
    assert client.get(url(elder)).status_code == 200
    entry = AuditEntry.objects.get(action="reveal", object_type="people.elder", object_id=str(elder.pk))
    assert entry.actor == city.user("agent") and "location trail" in entry.note and "4 positions" in entry.note


def test_other_counties_get_a_404_and_others_a_403(client, city, elder, watch):
    positions(watch, timezone.now() - dt.timedelta(hours=1), 2)
    client.force_login(city.user("county_b"))
    assert client.get(url(elder)).status_code == 404
    client.force_login(city.user("dispatcher"))  # no alarms.view_alarm
    assert client.get(url(elder)).status_code == 403
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_another_elders_positions_are_not_on_the_page(client, city, elder, watch):
    other = city.elders["510703"][1]
    device, _ = services.register_device(acting_user=None, device_id="t-other-watch", kind="gps_watch", elder=other,
                                         secret="s")
    positions(device, timezone.now() - dt.timedelta(hours=1), 3)
    client.force_login(city.user("county_a"))
    html = client.get(url(elder)).content.decode()
    assert playback(html) == [] and 'data-testid="no-positions"' in html


# --- in the browser -----------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_clicking_the_map_places_a_zone_that_is_saved_and_drawn(browser, live_server, city, elder, watch):
    positions(watch, timezone.now() - dt.timedelta(hours=3), 30, step=dt.timedelta(minutes=5), north_m=40)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto("/login/")
    page.fill("#id_username", city.user("county_a").username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    expect(page.get_by_test_id("who")).to_contain_text(city.user("county_a").username)
    page.goto(url(elder))

    clock = page.get_by_test_id("playback-time")
    first_label = clock.inner_text()
    page.get_by_test_id("speed").select_option("3600")
    page.get_by_test_id("play").click()
    expect(clock).not_to_have_text(first_label)  # the marker is moving along the trail

    home = page.get_by_test_id("home")
    box = home.bounding_box()
    page.get_by_test_id("trail-map").click(position={
        "x": box["x"] + box["width"] / 2 - page.get_by_test_id("trail-map").bounding_box()["x"],
        "y": box["y"] + box["height"] / 2 - page.get_by_test_id("trail-map").bounding_box()["y"]})
    latitude, longitude = float(page.input_value("#id_latitude")), float(page.input_value("#id_longitude"))
    assert distance_m(latitude, longitude, *HOME) < 30  # the click lands where home is drawn
    expect(page.get_by_test_id("zone-preview")).to_have_attribute("visibility", "visible")
    page.fill("#id_name", "家门口")
    page.fill("#id_radius_m", "300")
    page.fill("#id_return_by", "20:00")
    page.get_by_test_id("save-zone").click()

    expect(page.locator("main")).to_contain_text("The safe zone 家门口 is drawn.")
    zone = Geofence.objects.get(name="家门口")
    assert zone.radius_m == 300 and zone.return_by == dt.time(20, 0)
    assert distance_m(zone.latitude, zone.longitude, *HOME) < 30
    circle = page.get_by_test_id(f"zone-circle-{zone.pk}")
    expect(circle).to_be_visible()
    assert float(circle.get_attribute("r")) > 5
    context.close()
