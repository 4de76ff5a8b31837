"""What elders say about the service: ratings, complaints, follow-up calls (回访), provider quality.

The follow-up call is the check that a paid visit happened: each week the hotline
calls back a sample of every provider's completed visits. The sample is drawn by a
keyed hash of the order id, so it is the same however often it is drawn, grows
only by top-up when late check-outs arrive, and cannot be predicted by a provider
that does not know the key. What the elder says moves the order: confirmed, or
disputed (and kept out of the settlement) when the visit did not happen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.core import audit
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditAction

from . import services
from .beds import week_bounds
from .models import CallRecord, Complaint, FollowUpCall, OrderEvent, Rating, ServiceOrder
from .rules import Party, Status, week_start

COMPLETED = (Status.CHECKED_OUT, Status.CONFIRMED, Status.SETTLED)
RATERS = (Party.ELDER, Party.HOTLINE)


def _order_for(user, order) -> ServiceOrder:
    found = ServiceOrder.objects.for_user(user).filter(pk=order.pk).select_related("elder").first()
    if found is None:
        raise PermissionDenied(_("No such order in your jurisdiction."))
    return found


def _score(value) -> int:
    try:
        score = int(value)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise ValidationError({"score": [_("Give a score from 1 to 5.")]})
    return score


# --- ratings and complaints ---------------------------------------------------------------------


@transaction.atomic
def rate(order: ServiceOrder, *, acting_user, score, comment: str = "") -> Rating:
    """The elder's side (portal) or the hotline rates a completed order, once."""
    if not acting_user.has_perm("homecare.add_rating") or services.party_of(acting_user) not in RATERS:
        raise PermissionDenied(_("Only the elder, the family or the hotline may rate a service."))
    order = _order_for(acting_user, order)
    return _write_rating(order, acting_user=acting_user, score=score, comment=comment)


def _write_rating(order: ServiceOrder, *, acting_user, score, comment: str) -> Rating:
    if order.status not in COMPLETED:
        raise ValidationError({"score": [_("Only a completed service can be rated.")]})
    score = _score(score)
    if Rating.objects.filter(order=order).exists():
        raise ValidationError({"score": [_("This service has already been rated.")]})
    try:
        with transaction.atomic():
            rating = Rating.objects.create(order=order, score=score, comment=(comment or "").strip()[:500],
                                           by=acting_user)
    except IntegrityError:
        raise ValidationError({"score": [_("This service has already been rated.")]}) from None
    audit.record(AuditAction.CREATE, actor=acting_user, obj=rating, area_code=order.elder.area_id,
                 after={"order": order.pk, "score": score})
    return rating


@transaction.atomic
def handle_complaint(complaint: Complaint, *, acting_user, resolution: str) -> Complaint:
    """An official answers an open complaint; the answer is final (a new complaint reopens nothing)."""
    if not acting_user.has_perm("homecare.change_complaint"):
        raise PermissionDenied(_("You may not handle complaints."))
    found = Complaint.objects.for_user(acting_user).filter(pk=complaint.pk).select_related("elder").first()
    if found is None:
        raise PermissionDenied(_("No such complaint in your jurisdiction."))
    if not (resolution or "").strip():
        raise ValidationError({"resolution": [_("Write how the complaint was resolved.")]})
    now = timezone.now()
    if not Complaint.objects.filter(pk=found.pk, status=Complaint.Status.OPEN).update(
            status=Complaint.Status.HANDLED, resolution=resolution.strip(), handled_at=now):
        raise ValidationError(_("This complaint has already been handled."))
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=found, area_code=found.elder.area_id,
                 before={"status": Complaint.Status.OPEN}, after={"status": Complaint.Status.HANDLED},
                 note=resolution.strip()[:500])
    found.refresh_from_db()
    return found


# --- follow-up calls ------------------------------------------------------------------------------


@dataclass
class Sample:
    created: list[FollowUpCall] = field(default_factory=list)
    total: int = 0


def _rank(key: bytes, week: dt.date, order_id: int) -> bytes:
    return hmac.new(key, f"{week.isoformat()}:{order_id}".encode(), hashlib.sha256).digest()


def sample_size(count: int, *, share: float, minimum: int) -> int:
    """How many of a provider's ``count`` visits are called: the share rounded up, at least ``minimum``."""
    return min(count, max(minimum, math.ceil(count * share)))


@transaction.atomic
def sample_follow_ups(week_monday: dt.date, *, share: float = 0.1, minimum: int = 1,
                      seed: str | None = None) -> Sample:
    """Draw (or top up) the follow-up calls of the week's checked-out visits, per provider.

    Each provider's visits are ranked by a keyed hash of (week, order); the first
    ``sample_size`` are called. Drawing again adds nothing unless more visits of the
    week were checked out since, and then only as many as the share requires.
    """
    monday = week_start(week_monday)
    start, end = week_bounds(monday)
    key = (seed if seed is not None else settings.SECRET_KEY).encode()
    candidates = (ServiceOrder.objects.filter(status__in=COMPLETED, checked_out_at__gte=start, checked_out_at__lt=end)
                  .order_by().values_list("provider_id", "pk"))
    by_provider: dict[int, list[int]] = defaultdict(list)
    for provider_id, order_id in candidates:
        by_provider[provider_id].append(order_id)
    drawn = set(FollowUpCall.objects.filter(week=monday).values_list("order_id", flat=True))
    result = Sample()
    for provider_id in sorted(by_provider):
        orders = sorted(by_provider[provider_id], key=lambda pk: _rank(key, monday, pk))
        need = sample_size(len(orders), share=share, minimum=minimum) - sum(1 for pk in orders if pk in drawn)
        for order_id in (pk for pk in orders if pk not in drawn):
            if need <= 0:
                break
            call, created = FollowUpCall.objects.get_or_create(order_id=order_id, defaults={"week": monday})
            if created:
                result.created.append(call)
                need -= 1
    result.total = FollowUpCall.objects.filter(week=monday).count()
    return result


def _complaint_text(note: str) -> str:
    text = _("Follow-up call: the elder says the service did not take place.")
    return f"{text} {note.strip()}".strip()


@transaction.atomic
def record_follow_up(call: FollowUpCall, *, acting_user, reached: bool, service_confirmed: bool | None = None,
                     satisfaction: int | None = None, note: str = "") -> FollowUpCall:
    """What the elder said on the phone, and what follows from it.

    Not reached: noted, and the call may be tried again. Confirmed: the
    checked-out order is confirmed. Denied: the order is disputed (kept out of
    the settlement); an order already confirmed or settled cannot be disputed,
    so a complaint is opened for an official instead. A satisfaction score
    becomes the order's rating when it has none.
    """
    if not acting_user.has_perm("homecare.change_followupcall"):
        raise PermissionDenied(_("You may not record follow-up calls."))
    call = (FollowUpCall.objects.for_user(acting_user).select_for_update().filter(pk=call.pk)
            .select_related("order__elder").first())
    if call is None:
        raise PermissionDenied(_("No such follow-up call in your jurisdiction."))
    if call.reached:
        raise ValidationError(_("This follow-up call has already been recorded."))
    note = (note or "").strip()[:500]
    errors: dict[str, list[str]] = {}
    if reached and service_confirmed is None:
        errors["service_confirmed"] = [_("Say whether the elder confirms the service took place.")]
    if satisfaction not in (None, ""):
        try:
            satisfaction = _score(satisfaction)
        except ValidationError:
            errors["satisfaction"] = [_("Give a score from 1 to 5.")]
    else:
        satisfaction = None
    if reached and service_confirmed is False and not note:
        errors["note"] = [_("Note what the elder said.")]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    order = call.order
    call.called_at, call.agent, call.reached, call.note = now, acting_user, bool(reached), note
    call.service_confirmed = service_confirmed if reached else None
    call.satisfaction = satisfaction if reached else None
    call.save(update_fields=["called_at", "agent", "reached", "service_confirmed", "satisfaction", "note"])
    complaint = None
    if reached and service_confirmed and order.status == Status.CHECKED_OUT:
        services.confirm(order, acting_user=acting_user, note=_("Confirmed on a follow-up call."))
    elif reached and service_confirmed is False:
        if order.status == Status.CHECKED_OUT:
            services.dispute(order, acting_user=acting_user, reason=note)
        else:
            complaint = Complaint.objects.create(
                elder=order.elder, provider_id=order.provider_id, order=order, channel=ServiceOrder.Channel.HOTLINE,
                text=_complaint_text(note), created_by=acting_user)
    if reached and satisfaction is not None and not Rating.objects.filter(order=order).exists():
        order.refresh_from_db()
        if order.status in COMPLETED:
            _write_rating(order, acting_user=acting_user, score=satisfaction, comment=note)
    CallRecord.objects.create(
        agent=acting_user, direction=CallRecord.Direction.OUTBOUND, elder=order.elder, area_code=order.elder.area_id,
        started_at=now, outcome=CallRecord.Outcome.FOLLOW_UP, summary=note, order=order, complaint=complaint)
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=call, area_code=order.elder.area_id,
                 after={"reached": call.reached, "service_confirmed": call.service_confirmed,
                        "satisfaction": call.satisfaction}, note=note)
    return call


# --- quality ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quality:
    """Inputs for a provider's star rating over a period."""

    average_rating: float | None
    ratings: int
    complaints: int
    disputes: int
    visits: int
    flagged_visits: int

    @property
    def flagged_share(self) -> float | None:
        return self.flagged_visits / self.visits if self.visits else None


def provider_quality(provider, since: dt.datetime) -> Quality:
    """Ratings, complaints, disputes and flagged visits of the provider since ``since``."""
    ratings = Rating.objects.filter(order__provider=provider, at__gte=since).aggregate(avg=Avg("score"), n=Count("id"))
    complaints = Complaint.objects.filter(provider=provider, created_at__gte=since).count()
    disputes = (OrderEvent.objects.filter(order__provider=provider, to_status=Status.DISPUTED, at__gte=since)
                .values("order").distinct().count())
    flags = list(ServiceOrder.objects.filter(provider=provider, checked_out_at__gte=since)
                 .values_list("flags", flat=True))
    average = round(float(ratings["avg"]), 2) if ratings["avg"] is not None else None
    return Quality(average, ratings["n"], complaints, disputes, len(flags), sum(1 for f in flags if f))
