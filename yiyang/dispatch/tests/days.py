"""Small hand-made days on a plane: one unit of distance is one minute of driving.

Times are seconds since midnight, so explanations read as clock times.
"""

from __future__ import annotations

from yiyang.dispatch.model import Break, Location, Visit, Window, Worker
from yiyang.dispatch.travel import EuclideanTravel

TRAVEL = EuclideanTravel(speed=1 / 60)  # a unit of distance takes 60 s
BASE = Location(0, 0)


def h(hours: float) -> float:
    return hours * 3600


def m(minutes: float) -> float:
    return minutes * 60


LUNCH = Break(h(11.5), h(13.5), m(30))


def worker(wid: str, *, skills=(), shift=(8, 17), breaks=(), base=BASE, capacity=None) -> Worker:
    return Worker(wid, base, Window(h(shift[0]), h(shift[1])), frozenset(skills), tuple(breaks), capacity)


def visit(vid: str, x: float, y: float, *, window=(8, 17), minutes=30, skills=(), **extra) -> Visit:
    return Visit(vid, Location(x, y), Window(h(window[0]), h(window[1])), m(minutes), frozenset(skills), **extra)
