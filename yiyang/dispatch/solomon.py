"""Solomon's VRPTW instance format: read, write, and express as a day of the planning model.

The benchmark instances (and the synthetic home-care days the benchmark writes) go through
the planner exactly as a provider's day does: customers become visits, vehicles become
workers leaving from the depot, travel is the straight line with time = distance.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .model import Location, Visit, Window, Worker
from .travel import EuclideanTravel


@dataclass(frozen=True)
class Customer:
    number: int
    x: float
    y: float
    demand: int
    ready: float
    due: float
    service: float


@dataclass(frozen=True)
class Instance:
    name: str
    vehicles: int
    capacity: int
    customers: tuple[Customer, ...]  # customers[0] is the depot

    @property
    def depot(self) -> Customer:
        return self.customers[0]


def read(path: str | Path) -> Instance:
    lines = [line.strip() for line in Path(path).read_text().splitlines()]
    name = next(line for line in lines if line)
    rows = [line.split() for line in lines if line and _numeric(line)]
    vehicles, capacity = (int(float(v)) for v in rows[0])
    customers = tuple(
        Customer(int(float(r[0])), float(r[1]), float(r[2]), int(float(r[3])), float(r[4]), float(r[5]), float(r[6]))
        for r in rows[1:])
    if not customers or customers[0].number != 0:
        raise ValueError(f"{path}: the first customer (the depot) must be number 0")
    return Instance(name, vehicles, capacity, customers)


def write(instance: Instance, path: str | Path) -> None:
    out = [instance.name, "", "VEHICLE", "NUMBER     CAPACITY", f"{instance.vehicles:>5d}{instance.capacity:>12d}", "",
           "CUSTOMER",
           "CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME", ""]
    out += [f"{c.number:>5d}{_num(c.x):>11}{_num(c.y):>11}{c.demand:>11d}{_num(c.ready):>11}"
            f"{_num(c.due):>11}{_num(c.service):>11}" for c in instance.customers]
    Path(path).write_text("\n".join(out) + "\n")


def to_day(instance: Instance) -> tuple[list[Visit], list[Worker], EuclideanTravel]:
    """Visits (id = customer number), identical workers at the depot, and straight-line travel."""
    depot = instance.depot
    base = Location(depot.x, depot.y)
    visits = [Visit(id=str(c.number), location=Location(c.x, c.y), window=Window(c.ready, c.due),
                    duration=c.service, demand=c.demand) for c in instance.customers[1:]]
    workers = [Worker(id=f"vehicle-{n}", base=base, shift=Window(depot.ready, depot.due), capacity=instance.capacity)
               for n in range(1, instance.vehicles + 1)]
    return visits, workers, EuclideanTravel()


def _numeric(line: str) -> bool:
    try:
        [float(v) for v in line.split()]
    except ValueError:
        return False
    return True


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"
