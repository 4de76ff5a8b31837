"""The monthly anomaly report: payments that a careful clerk would question.

Checks (each a list of findings naming elder, village and the reason):
- paid_after_death: a line for a month that began after the recorded death;
- paid_after_move: a line for an elder now recorded as moved away;
- village_changed: the elder now lives in another village than the line says, and no recorded move
  (费随人走) explains it;
- age_inconsistent: the stored birth date disagrees with the ID number;
- tier_jump: the tier moved by more than one step since the previous month, or downwards.
An ID number entitled twice cannot occur inside the platform (the registry's ID
index is unique and a regular line is unique per elder and month), so it is not
a check here; duplicates across platforms belong to the data-exchange work.
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from yiyang.people import idnumber
from yiyang.people.models import ResidenceMove

from .models import PaymentLine, Programme, Tier


def _previous_month(month: dt.date) -> dt.date:
    return (month - dt.timedelta(days=1)).replace(day=1)


def _tier_order(programme: Programme) -> dict[str, int]:
    labels = Tier.objects.filter(programme=programme).order_by("min_age", "grade").values_list("label", flat=True)
    return {label: i for i, label in enumerate(dict.fromkeys(labels))}


def monthly_anomalies(*, user, programme_code: str, month: dt.date) -> dict[str, list[dict]]:
    programme = Programme.objects.get(code=programme_code)
    lines = (PaymentLine.objects.for_user(user).filter(programme=programme, month=month, kind=PaymentLine.Kind.REGULAR)
             .select_related("elder").order_by("area_code", "elder_id"))
    previous = dict(PaymentLine.objects.for_user(user).filter(programme=programme, month=_previous_month(month),
                                                              kind=PaymentLine.Kind.REGULAR).values_list("elder_id", "tier"))
    order = _tier_order(programme)
    moved_since = set(ResidenceMove.objects.filter(moved_on__gt=month).values_list("elder_id", flat=True))
    report: dict[str, list[dict]] = {k: [] for k in
                                     ("paid_after_death", "paid_after_move", "village_changed", "age_inconsistent", "tier_jump")}

    def finding(kind, line, detail):
        report[kind].append({"elder_id": line.elder_id, "name": line.elder.name, "area_code": line.area_code,
                             "amount_fen": line.amount_fen, "detail": detail})

    for line in lines.iterator(chunk_size=5000):
        elder = line.elder
        if elder.status == "deceased" and elder.death_date and elder.death_date < month:
            finding("paid_after_death", line, _("died %(date)s") % {"date": elder.death_date.isoformat()})
        if elder.status == "moved_away":
            finding("paid_after_move", line, _("moved to %(place)s") % {"place": elder.moved_to or "?"})
        if elder.area_id != line.area_code and elder.pk not in moved_since:  # a recorded move explains it
            finding("village_changed", line, _("now in %(code)s") % {"code": elder.area_id})
        try:
            derived = idnumber.parse(elder.id_number).birth_date
        except ValueError:
            derived = None
        if derived != elder.birth_date:
            finding("age_inconsistent", line, _("birth date differs from the ID number"))
        before = previous.get(line.elder_id)
        if before is not None and before in order and line.tier in order:
            step = order[line.tier] - order[before]
            if step not in (0, 1):
                finding("tier_jump", line, f"{before} → {line.tier}")
    return report
