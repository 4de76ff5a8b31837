"""Service orders: creation, every state change, assignment and visit verification.

Each operation is one transaction. A state change is a conditional UPDATE on the
order's current status (and worker), so when two dispatchers assign at once, or a
worker taps check-in twice, exactly one wins and the other is told what happened.
Every change writes an ``OrderEvent`` (who, when, where); creation and money
movements are also in the audit log.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.accounts.roles import OFFICIALS, Role
from yiyang.benefits import vouchers
from yiyang.benefits.rules import RuleError as VoucherError
from yiyang.core import audit
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditAction
from yiyang.organizations.models import Organization
from yiyang.people.models import Elder

from . import rules
from .models import OrderEvent, ProviderProfile, ServiceOrder, ServiceType, Worker
from .rules import Party, Payer, Status, TransitionError

PARTY_BY_ROLE = {
    Role.PROVIDER_DISPATCHER: Party.PROVIDER,
    Role.INSTITUTION_OPERATOR: Party.PROVIDER,
    Role.CAREGIVER: Party.WORKER,
    Role.HOTLINE_AGENT: Party.HOTLINE,
    Role.ELDER: Party.ELDER,
    **{role: Party.OFFICIAL for role in OFFICIALS},
}


def party_of(user) -> str | None:
    """The side a user acts for; None (the platform) for jobs without a user."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Party.SYSTEM
    if user.is_superuser:
        return Party.OFFICIAL
    return PARTY_BY_ROLE.get(user.role)


def visit_policy(provider: Organization) -> rules.VisitPolicy:
    profile = ProviderProfile.objects.filter(organization=provider).first()
    share = getattr(settings, "YIYANG_MIN_VISIT_SHARE", 0.5)
    return rules.VisitPolicy(radius_m=profile.check_in_radius_m if profile else 300, min_share_of_duration=share)


def voucher_reference(order: ServiceOrder) -> str:
    return f"homecare-order-{order.pk}"


def _first(queryset):
    """The one row a unique lookup finds, or None. Unlike ``first()``, the query is not sorted by the
    model's default order: compiling that ORDER BY (a join, for some models) cost more than the lookup."""
    found = list(queryset.order_by()[:1])
    return found[0] if found else None


# --- creation --------------------------------------------------------------------------------


@transaction.atomic
def create_order(*, acting_user, elder_id, service_code: str, provider_id, window_start: dt.datetime,
                 window_end: dt.datetime, payer: str = Payer.SELF, voucher_programme: str = "", note: str = "",
                 channel: str | None = None, plan=None, plan_day: dt.date | None = None, bed=None) -> ServiceOrder:
    """A new order for an elder the user may see, from a provider that serves the elder's village.

    A voucher-paid order draws its price from the elder's balance now (given back on
    cancellation or no-show), so a balance can never be promised twice.
    """
    if acting_user is not None and not acting_user.has_perm("homecare.add_serviceorder"):
        raise PermissionDenied(_("You may not create service orders."))
    elder = _elder_for(acting_user, elder_id)
    errors: dict[str, list[str]] = {}
    service, provider = service_and_provider(elder, service_code, provider_id, errors)
    if window_start is None or window_end is None or window_end <= window_start:
        errors["window_end"] = [_("The time window must end after it starts.")]
    if payer not in Payer.values:
        errors["payer"] = [_("Choose who pays.")]
    elif payer == Payer.VOUCHER and service is not None and voucher_programme not in service.voucher_programmes:
        errors["payer"] = [_("No voucher programme the elder may use pays for this service.")]
    if elder.status != "alive":
        errors["elder"] = [_("Services are ordered only for living elders registered here.")]
    if errors:
        raise ValidationError(errors)
    order = ServiceOrder.objects.create(
        elder=elder, service_type=service, provider=provider, status=Status.REQUESTED,
        channel=channel or _channel_for(acting_user), window_start=window_start, window_end=window_end,
        duration_minutes=service.duration_minutes, price_fen=service.unit_price_fen, payer=payer,
        voucher_programme=voucher_programme if payer == Payer.VOUCHER else "", note=note.strip()[:500],
        plan=plan, plan_day=plan_day, bed=bed, created_by=_user(acting_user))
    if payer == Payer.VOUCHER:
        try:
            vouchers.draw_for_service(elder, programme_code=voucher_programme, amount_fen=order.price_fen,
                                      reference=voucher_reference(order), actor=acting_user)
        except VoucherError as exc:
            raise ValidationError({"payer": [str(exc)]}) from None
    OrderEvent.objects.create(order=order, from_status="", to_status=Status.REQUESTED, actor=_user(acting_user))
    audit.record(AuditAction.CREATE, actor=acting_user, obj=order, area_code=elder.area_id,
                 after={"service": service.code, "provider": provider.pk, "payer": payer,
                        "window": [window_start.isoformat(), window_end.isoformat()]})
    return order


def service_and_provider(elder: Elder, service_code: str, provider_id, errors: dict[str, list[str]]):
    """The catalogue entry and the provider, checked: the provider serves the elder's village and
    offers the service. Problems go into ``errors`` by field; returns (service, provider), either None.

    Two queries when all is well: the provider with its profile, then the service among those it
    offers; the whole catalogue is asked only to tell "no such service" from "not offered here"."""
    provider = _first(Organization.objects.filter(pk=provider_id, is_active=True).select_related("provider_profile")) \
        if str(provider_id).isdigit() else None
    profile = getattr(provider, "provider_profile", None) if provider else None
    serves = profile is not None and profile.serves(elder.area_id)
    service = _first(profile.services.filter(code=service_code, is_active=True)) if serves else None
    offered = service is not None
    if service is None:
        service = _first(ServiceType.objects.filter(code=service_code, is_active=True))
    if service is None:
        errors["service"] = [_("Choose a service from the catalogue.")]
    if profile is None:
        errors["provider"] = [_("Choose a home-care provider.")]
    elif not serves:
        errors["provider"] = [_("%(provider)s does not serve the elder's village %(village)s.")
                              % {"provider": provider.name, "village": elder.area.full_name}]
    elif service is not None and not offered:
        errors["service"] = [_("%(provider)s does not offer %(service)s.") % {"provider": provider.name,
                                                                             "service": service.name}]
    return service, provider


def _elder_for(user, elder_id) -> Elder:
    queryset = Elder.objects.all() if user is None else Elder.objects.for_user(user)
    elder = _first(queryset.filter(pk=elder_id)) if str(elder_id).isdigit() else None  # village: errors only
    if elder is None:
        raise ValidationError({"elder": [_("No such elder in your jurisdiction.")]})
    return elder


def _channel_for(user) -> str:
    party = party_of(user)
    return {Party.HOTLINE: ServiceOrder.Channel.HOTLINE, Party.ELDER: ServiceOrder.Channel.PORTAL,
            Party.PROVIDER: ServiceOrder.Channel.PROVIDER, Party.SYSTEM: ServiceOrder.Channel.PLAN}.get(
        party, ServiceOrder.Channel.OFFICIAL)


def _user(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


# --- state changes -----------------------------------------------------------------------------


def _visible(user, order_id) -> ServiceOrder:
    queryset = ServiceOrder.objects.all() if user is None else ServiceOrder.objects.for_user(user)
    found = list(queryset.filter(pk=order_id).order_by().select_related("elder", "provider", "worker", "service_type")[:1])
    order = found[0] if found else None
    if order is None:
        raise PermissionDenied(_("No such order in your jurisdiction."))
    return order


def transition(order: ServiceOrder, target: str, *, acting_user, note: str = "", latitude: float | None = None,
               longitude: float | None = None, fields: dict | None = None,
               expect_worker: Worker | None | bool = False, loaded: bool = False) -> ServiceOrder:
    """Move ``order`` to ``target`` if the user's party may, and only if nobody moved it first.

    ``fields`` are saved in the same conditional UPDATE; ``expect_worker`` (when
    given) must still be the assigned worker, so re-assignments cannot cross.
    ``loaded``: the caller has just read ``order`` through ``_visible`` (saves a
    query; the conditional UPDATE still catches any change since).
    """
    with transaction.atomic():
        if not loaded:
            order = _visible(acting_user, order.pk)
        rules.check_transition(order.status, target, party_of(acting_user))
        if target in rules.NEEDS_REASON and not note.strip():
            raise TransitionError(_("Say why (a reason is required)."))
        guard = Q(pk=order.pk, status=order.status)
        if expect_worker is not False:
            guard &= Q(worker=expect_worker) if expect_worker is not None else Q(worker__isnull=True)
        changes = {"status": target, "updated_at": timezone.now(), **(fields or {})}
        if not ServiceOrder.objects.filter(guard).update(**changes):
            current = ServiceOrder.objects.select_related("worker").get(pk=order.pk)
            who = f" ({current.worker})" if current.worker else ""
            raise TransitionError(_("Someone else changed this order just now: it is “%(status)s”%(who)s.")
                                  % {"status": current.get_status_display(), "who": who})
        OrderEvent.objects.create(order=order, from_status=order.status, to_status=target, actor=_user(acting_user),
                                  latitude=latitude, longitude=longitude, note=note.strip()[:500])
        if target in (Status.CANCELLED, Status.NO_SHOW) and order.payer == Payer.VOUCHER:
            vouchers.refund(voucher_reference(order), actor=acting_user)
        if target in (Status.CANCELLED, Status.NO_SHOW, Status.DISPUTED):
            audit.record(AuditAction.UPDATE, actor=acting_user, obj=order, area_code=order.elder.area_id,
                         before={"status": order.status}, after={"status": target}, note=note.strip()[:500])
    for field, value in changes.items():  # the row now holds exactly these values
        setattr(order, field, value)
    return order


def accept(order, *, acting_user) -> ServiceOrder:
    return transition(order, Status.ACCEPTED, acting_user=acting_user)


def worker_unfit(worker: Worker, order: ServiceOrder) -> str | None:
    """Why ``worker`` cannot take ``order`` (another provider, inactive, on leave, missing skill), or None."""
    day = timezone.localtime(order.window_start).date()
    if worker.provider_id != order.provider_id:
        return _("%(worker)s works for another provider.") % {"worker": worker.name}
    if not worker.is_active:
        return _("%(worker)s is not active.") % {"worker": worker.name}
    if worker.leaves.filter(first_day__lte=day, last_day__gte=day).exists():
        return _("%(worker)s is on leave on %(day)s.") % {"worker": worker.name, "day": day.isoformat()}
    required = list(order.service_type.skills.all())
    held = dict(worker.worker_skills.values_list("skill_id", "valid_until")) if required else {}  # none needed: no query
    for skill in required:
        if skill.pk not in held:
            return _("%(worker)s lacks the skill %(skill)s.") % {"worker": worker.name, "skill": skill.name}
        valid_until = held[skill.pk]
        if skill.certificate_required and (valid_until is None or valid_until < day):
            return _("%(worker)s's certificate for %(skill)s is not valid on %(day)s.") % {
                "worker": worker.name, "skill": skill.name, "day": day.isoformat()}
    return None


def assign(order, worker: Worker, *, acting_user, expected_worker_id: int | None = None,
           note: str = "") -> ServiceOrder:
    """Give an accepted (or assigned) order to a worker of the provider who can do it.

    ``expected_worker_id`` is the worker the dispatcher saw on the order (None: not
    assigned). The UPDATE is guarded by it, so of two dispatchers assigning at once
    one wins and the other is told who has the order now.
    """
    order = _visible(acting_user, order.pk)
    if order.worker_id != expected_worker_id:
        raise TransitionError(_("Someone else changed this order just now: it is “%(status)s”%(who)s.") % {
            "status": order.get_status_display(), "who": f" ({order.worker})" if order.worker else ""})
    if party_of(acting_user) == Party.PROVIDER and not acting_user.has_perm("homecare.dispatch_order"):
        raise PermissionDenied(_("You may not dispatch orders."))
    problem = worker_unfit(worker, order)
    if problem:
        raise TransitionError(problem)
    return transition(order, Status.ASSIGNED, acting_user=acting_user, note=note, fields={"worker": worker},
                      expect_worker=order.worker, loaded=True)  # a concurrent change loses the UPDATE


_AS_PASSED = object()
ANY_WORKER = object()  # unassign whoever has the order (an API caller that did not say whom it saw)


def unassign(order, *, acting_user, expected_worker_id=_AS_PASSED, note: str = "") -> ServiceOrder:
    """Take an order off its worker; refused if the worker is no longer the one the dispatcher saw
    (``expected_worker_id``, by default the worker on the order object passed in)."""
    seen = order.worker_id if expected_worker_id is _AS_PASSED else expected_worker_id
    order = _visible(acting_user, order.pk)
    if seen is not ANY_WORKER and order.worker_id != seen:
        raise TransitionError(_("Someone else changed this order just now: it is “%(status)s”%(who)s.") % {
            "status": order.get_status_display(), "who": f" ({order.worker})" if order.worker else ""})
    return transition(order, Status.ACCEPTED, acting_user=acting_user, note=note, fields={"worker": None},
                      expect_worker=order.worker, loaded=True)


def _require_own(order: ServiceOrder, user) -> None:
    if user is None or order.worker is None or order.worker.user_id != user.pk:
        raise PermissionDenied(_("Only the worker assigned to this order may do this."))


def start_trip(order, *, acting_user) -> ServiceOrder:
    order = _visible(acting_user, order.pk)
    _require_own(order, acting_user)
    return transition(order, Status.ON_THE_WAY, acting_user=acting_user, expect_worker=order.worker, loaded=True)


def check_in(order, *, acting_user, latitude: float | None, longitude: float | None,
             at: dt.datetime | None = None) -> ServiceOrder:
    """The assigned worker arrives: time and place recorded; far from the elder's home is flagged."""
    order = _visible(acting_user, order.pk)
    _require_own(order, acting_user)
    at = at or timezone.now()
    home = (order.elder.latitude, order.elder.longitude) if order.elder.latitude is not None else None
    point = (latitude, longitude) if latitude is not None and longitude is not None else None
    flags, distance = rules.check_in_flags(home=home, at=point, policy=visit_policy(order.provider))
    return transition(order, Status.CHECKED_IN, acting_user=acting_user, latitude=latitude, longitude=longitude,
                      expect_worker=order.worker, loaded=True,
                      fields={"checked_in_at": at, "check_in_latitude": latitude, "check_in_longitude": longitude,
                              "check_in_distance_m": distance, "flags": sorted(set(order.flags) | set(flags))})


def check_out(order, *, acting_user, latitude: float | None, longitude: float | None, notes: str = "",
              photo=None, at: dt.datetime | None = None) -> ServiceOrder:
    """The worker leaves: a visit much shorter than the service's duration is flagged for review."""
    order = _visible(acting_user, order.pk)
    _require_own(order, acting_user)
    at = at or timezone.now()
    if order.checked_in_at is not None and at < order.checked_in_at:
        raise TransitionError(_("Check-out cannot be before check-in."))
    flags = rules.check_out_flags(checked_in_at=order.checked_in_at or at, checked_out_at=at,
                                  duration_minutes=order.duration_minutes, policy=visit_policy(order.provider))
    fields = {"checked_out_at": at, "check_out_latitude": latitude, "check_out_longitude": longitude,
              "service_notes": notes.strip()[:1000], "flags": sorted(set(order.flags) | set(flags))}
    with transaction.atomic():  # the photo belongs to the check-out: both or neither
        order = transition(order, Status.CHECKED_OUT, acting_user=acting_user, latitude=latitude,
                           longitude=longitude, expect_worker=order.worker, fields=fields, loaded=True)
        if photo is not None:
            photo.seek(0)
            suffix = "png" if photo.read(8).startswith(b"\x89PNG") else "jpg"
            photo.seek(0)
            order.photo.save(f"order-{order.pk}.{suffix}", photo, save=True)
    return order


def confirm(order, *, acting_user, note: str = "") -> ServiceOrder:
    return transition(order, Status.CONFIRMED, acting_user=acting_user, note=note)


def dispute(order, *, acting_user, reason: str) -> ServiceOrder:
    return transition(order, Status.DISPUTED, acting_user=acting_user, note=reason)


def cancel(order, *, acting_user, reason: str) -> ServiceOrder:
    return transition(order, Status.CANCELLED, acting_user=acting_user, note=reason)


def no_show(order, *, acting_user, reason: str, latitude: float | None = None,
            longitude: float | None = None) -> ServiceOrder:
    order = _visible(acting_user, order.pk)
    _require_own(order, acting_user)
    return transition(order, Status.NO_SHOW, acting_user=acting_user, note=reason, latitude=latitude,
                      longitude=longitude, expect_worker=order.worker, loaded=True)


@transaction.atomic
def clear_review(order, *, acting_user, note: str) -> ServiceOrder:
    """An official or the provider accepts a flagged visit after looking at it (it is then paid)."""
    order = _visible(acting_user, order.pk)
    if party_of(acting_user) not in (Party.OFFICIAL, Party.PROVIDER):
        raise PermissionDenied(_("Only an official or the provider may clear a flagged visit."))
    if not order.flags:
        raise TransitionError(_("This visit has no flags to clear."))
    if not note.strip():
        raise TransitionError(_("Say why the flagged visit is acceptable."))
    ServiceOrder.objects.filter(pk=order.pk).update(review_cleared_by=acting_user)
    OrderEvent.objects.create(order=order, from_status=order.status, to_status=order.status, actor=acting_user,
                              note=f"review cleared: {note.strip()}"[:500])
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=order, area_code=order.elder.area_id,
                 before={"flags": order.flags}, after={"review_cleared": True}, note=note.strip()[:500])
    order.refresh_from_db()
    return order
