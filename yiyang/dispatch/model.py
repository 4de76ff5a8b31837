"""The planning model: visits, workers, shifts, skills, breaks and the plans made from them.

Plain frozen dataclasses with no Django and no solver types, so the home-care app can build a
day from its orders, any solver can be put behind ``planner.plan_day``, and plans can be
checked (``feasibility.check_plan``) without knowing how they were made.

Times are numbers on one clock: seconds since midnight for home care (the Solomon reader uses
the instance's own time unit). Distances are metres (or the instance's unit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import messages

VISIT = "visit"
BREAK = "break"


@dataclass(frozen=True)
class Location:
    """A point: longitude ``x`` and latitude ``y`` in degrees for real addresses, plane units
    for benchmark instances. ``rural`` chooses the road speed of the legs touching it."""

    x: float
    y: float
    rural: bool = False


@dataclass(frozen=True)
class Window:
    """A closed interval [start, end] on the planning clock."""

    start: float
    end: float

    def contains(self, t: float, tolerance: float = 1e-6) -> bool:
        return self.start - tolerance <= t <= self.end + tolerance


@dataclass(frozen=True)
class Break:
    """A rest of ``duration`` that must start between ``earliest`` and ``latest`` (e.g. lunch)."""

    earliest: float
    latest: float
    duration: float


@dataclass(frozen=True)
class Visit:
    """One home visit to plan (上门服务).

    ``window`` bounds the *start* of service (as in Solomon's instances); use
    ``start_window`` to turn "between 9 and 11" into a window for a visit of a given length.
    ``fixed_worker`` pins the visit to a worker; ``started`` is the actual start time of a
    visit the worker has begun, which keeps it first in that worker's route when re-planning.
    ``urgent`` visits win over ordinary ones when not everything fits.
    """

    id: str
    location: Location
    window: Window
    duration: float
    skills: frozenset[str] = frozenset()
    demand: int = 0
    fixed_worker: str | None = None
    started: float | None = None
    urgent: bool = False


def start_window(earliest_start: float, finish_by: float, duration: float) -> Window:
    """The start window of a visit that must take place entirely inside [earliest, finish_by]."""
    return Window(earliest_start, finish_by - duration)


@dataclass(frozen=True)
class Worker:
    """A care worker on shift (护理员): leaves ``base`` no earlier than ``shift.start`` and is
    back by ``shift.end``. ``capacity`` bounds the summed ``Visit.demand`` (None: unbounded)."""

    id: str
    base: Location
    shift: Window
    skills: frozenset[str] = frozenset()
    breaks: tuple[Break, ...] = ()
    capacity: int | None = None


@dataclass(frozen=True)
class Stop:
    """A planned visit or break: where, when the worker arrives, starts and ends."""

    kind: str  # VISIT or BREAK
    location: Location
    arrival: float
    start: float
    end: float
    visit_id: str | None = None
    fixed: bool = False  # already started (or taken) when the plan was made: not moved by re-planning


@dataclass(frozen=True)
class Route:
    """One worker's day: leave the base at ``depart``, the stops in order, back at ``back``."""

    worker_id: str
    depart: float
    stops: tuple[Stop, ...]
    back: float
    distance: float

    @property
    def visit_ids(self) -> list[str]:
        return [s.visit_id for s in self.stops if s.kind == VISIT]


@dataclass(frozen=True)
class Issue:
    """Why a visit (or a worker's break) cannot be planned: a stable ``code`` for programs,
    what it is about, and ``message``, the explanation in the active language."""

    code: str
    visit_id: str | None = None
    worker_id: str | None = None
    params: dict = field(default_factory=dict, compare=False)

    @property
    def message(self) -> str:
        return messages.render(self.code, self.params)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Plan:
    """The routes of a day, and the issues: each visit that could not be planned and each
    break that found no room, with the reason.

    Keeps the visits and workers it was made from so that ``planner.replan`` can change it.
    """

    routes: tuple[Route, ...]
    issues: tuple[Issue, ...]
    visits: tuple[Visit, ...]
    workers: tuple[Worker, ...]
    now: float | None = None

    @property
    def unplanned(self) -> dict[str, Issue]:
        """The visits left out, by id, with why."""
        return {i.visit_id: i for i in self.issues if i.visit_id is not None}

    @property
    def distance(self) -> float:
        return sum(r.distance for r in self.routes)

    def route_of(self, worker_id: str) -> Route | None:
        return next((r for r in self.routes if r.worker_id == worker_id), None)

    def worker_of(self, visit_id: str) -> str | None:
        return next((r.worker_id for r in self.routes if visit_id in r.visit_ids), None)
