"""Registry events the benefits follow: moves inside the platform (费随人走) and late changes of paid facts.

Connected in ``BenefitsConfig.ready``; the registry only sends signals.
"""

from __future__ import annotations

from yiyang.core import audit
from yiyang.core.models import AuditAction
from yiyang.people.models import ResidenceMove

from . import applications_rules as app_rules
from . import corrections
from .models import Entitlement


def last_month_paid_before(move: ResidenceMove):
    """The last month the old area pays: the month of the move unless the move was on its first day."""
    month = app_rules.first_of_month(move.moved_on)
    return month if move.moved_on > month else app_rules.add_months(month, -1)


def follow_move(sender, move: ResidenceMove, acting_user, **kwargs) -> None:
    """Entitlements move with the elder when the programme covers the new village, else they end.

    Payments need no change: every month is paid where the elder lived on its first
    day, so the move neither doubles nor skips a month.
    """
    for entitlement in Entitlement.objects.filter(elder_id=move.elder_id, status=Entitlement.Status.ACTIVE
                                                  ).select_related("programme"):
        before = {"status": entitlement.status, "end_month": None}
        if move.to_area_id.startswith(entitlement.programme.area_id):
            audit.record(AuditAction.UPDATE, actor=acting_user, obj=entitlement, area_code=move.to_area_id,
                         before={"area": move.from_area_id}, after={"area": move.to_area_id},
                         note=f"entitlement transferred {move.moved_on.isoformat()}")
            continue
        end = max(last_month_paid_before(move), entitlement.start_month)
        entitlement.status, entitlement.end_month = Entitlement.Status.STOPPED, end
        entitlement.save(update_fields=["status", "end_month"])
        audit.record(AuditAction.UPDATE, actor=acting_user, obj=entitlement, area_code=move.from_area_id,
                     before=before, after={"status": entitlement.status, "end_month": end.isoformat()},
                     note=f"moved out of the programme's area {move.moved_on.isoformat()}")


def recheck_paid_months(sender, elder, since, reason: str, acting_user=None, **kwargs) -> None:
    corrections.open_rechecks(elder, since=since, reason=reason)
