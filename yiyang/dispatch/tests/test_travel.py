"""Travel estimates: haversine with a road factor, urban and rural speeds, and tables."""

from __future__ import annotations

import pytest

from yiyang.dispatch.model import Location
from yiyang.dispatch.travel import (
    EuclideanTravel,
    HaversineTravel,
    Legs,
    TableTravel,
    default_travel,
)

TOWN = Location(104.741, 31.468)
NORTH = Location(104.741, 31.568)  # 0.1 degree of latitude north: about 11.1 km


def test_haversine_distance_with_road_factor():
    matrix = HaversineTravel(road_factor=1.0).matrix([TOWN, NORTH])
    assert matrix.distance[0, 1] == pytest.approx(11_119.5, rel=1e-3)
    assert matrix.distance[0, 0] == 0
    assert HaversineTravel(road_factor=1.4).matrix([TOWN, NORTH]).distance[0, 1] == pytest.approx(1.4 * 11_119.5, rel=1e-3)


def test_speed_depends_on_urban_or_rural():
    travel = HaversineTravel(road_factor=1.0, urban_kmh=20, rural_kmh=40)
    village = Location(NORTH.x, NORTH.y, rural=True)
    farm = Location(TOWN.x, TOWN.y, rural=True)
    urban = travel.matrix([TOWN, NORTH]).duration[0, 1]
    rural = travel.matrix([farm, village]).duration[0, 1]
    mixed = travel.matrix([TOWN, village]).duration[0, 1]
    assert urban == pytest.approx(11_119.5 / (20 / 3.6), rel=1e-3)
    assert rural == pytest.approx(urban / 2, rel=1e-6)
    assert rural < mixed < urban


def test_table_overrides_the_estimate_where_known():
    travel = TableTravel({(TOWN, NORTH): (15_000.0, 1_500.0)}, fallback=EuclideanTravel())
    legs = Legs([TOWN, NORTH, TOWN], travel)
    assert len(legs.locations) == 2
    assert (legs.distance(TOWN, NORTH), legs.time(TOWN, NORTH)) == (15_000.0, 1_500.0)
    assert legs.time(NORTH, TOWN) == pytest.approx(0.1)


def test_default_travel_reads_settings(settings):
    settings.DISPATCH_TRAVEL = {"road_factor": 1.2, "urban_kmh": 18}
    assert default_travel() == HaversineTravel(road_factor=1.2, urban_kmh=18)
