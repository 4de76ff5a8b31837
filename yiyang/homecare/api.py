"""Home-care API: the service catalogue, a provider's workers, and service orders with one action per step.

Orders are read through ``ServiceOrder.objects.for_user`` (an order outside the
caller's reach is a 404) and changed only through ``services``: this module
turns requests into service calls and the services' refusals into HTTP —
TransitionError → 409 ``{"detail": message}``, ValidationError → 400 by field,
PermissionDenied → 403.
"""

from __future__ import annotations

import datetime as dt

import django_filters
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from yiyang.accounts.roles import PERMISSIONS
from yiyang.api.scoping import RolePermissions, ScopedReadOnlyViewSet, ScopedViewSetMixin

from . import services
from .models import OrderEvent, ServiceOrder, ServiceType, Worker
from .rules import Status, TransitionError
from .serializers import (
    OrderAssign,
    OrderCheckOut,
    OrderCreate,
    OrderDetailSerializer,
    OrderError,
    OrderLocation,
    OrderNoShow,
    OrderNote,
    OrderReason,
    OrderSerializer,
    ServiceTypeSerializer,
    WorkerSerializer,
)


class Conflict(exceptions.APIException):
    """The order is no longer in the state the request assumed (someone else moved it, or the step is not allowed)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


ERRORS = {
    400: OpenApiResponse(description="Invalid input; the body maps each field to its messages."),
    403: OpenApiResponse(OrderError, description="Your role may not do this."),
    404: OpenApiResponse(OrderError, description="No such order in your jurisdiction."),
    409: OpenApiResponse(OrderError, description="The order's state does not allow this step, or it changed meanwhile."),
}


# --- catalogue and workers ------------------------------------------------------------------


class ServiceTypeFilter(django_filters.FilterSet):
    provider = django_filters.NumberFilter(field_name="providers__organization_id", label=_lazy("provider"),
                                           help_text="services offered by this provider (organisation id)")

    class Meta:
        model = ServiceType
        fields = ["kind", "is_active", "provider"]


class ServiceTypeViewSet(viewsets.ReadOnlyModelViewSet):
    """The service catalogue (the same for the whole city); ``?provider=`` lists what one provider offers."""

    permission_classes = [permissions.IsAuthenticated, RolePermissions]
    queryset = ServiceType.objects.prefetch_related("skills").order_by("kind", "code")
    serializer_class = ServiceTypeSerializer
    filterset_class = ServiceTypeFilter
    lookup_field = "code"


class WorkerFilter(django_filters.FilterSet):
    skill = django_filters.CharFilter(field_name="worker_skills__skill__code", label=_lazy("skill"),
                                      help_text="skill code")

    class Meta:
        model = Worker
        fields = ["is_active", "skill"]


class WorkerViewSet(ScopedReadOnlyViewSet):
    """The caller's workers (a provider its own, an official those of providers in the jurisdiction); phones masked."""

    base_queryset = Worker.objects.select_related("provider").prefetch_related("worker_skills__skill")
    serializer_class = WorkerSerializer
    filterset_class = WorkerFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return super().get_queryset().distinct().order_by("name", "id")


# --- orders ---------------------------------------------------------------------------------


class OrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, label=_lazy("status"),
                                                 help_text="repeat for several states")
    provider = django_filters.NumberFilter(field_name="provider_id", label=_lazy("provider"))
    worker = django_filters.NumberFilter(field_name="worker_id", label=_lazy("worker"))
    elder = django_filters.NumberFilter(field_name="elder_id", label=_lazy("elder"))
    date = django_filters.DateFilter(method="filter_date", label=_lazy("day"),
                                     help_text="the day the window starts (local time)")
    since = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", label=_lazy("changed since"),
        help_text="changed at or after this moment; the list is then ordered by updated_at (for syncing)")

    class Meta:
        model = ServiceOrder
        fields = ["status", "provider", "worker", "elder", "date", "since"]

    def filter_date(self, queryset, name, value):
        start = timezone.make_aware(dt.datetime.combine(value, dt.time.min))
        return queryset.filter(window_start__gte=start, window_start__lt=start + dt.timedelta(days=1))


class CanViewOrders(permissions.BasePermission):
    """Transitions: whoever may see orders may ask; the services decide by party whether the step is theirs."""

    perm = "homecare.view_serviceorder"

    def has_permission(self, request, view):
        # The role's table first: user.has_perm would also query per-user and group permissions
        # (two queries a request, which nothing here grants); asked only when the role says no.
        user = request.user
        return (user.is_active and self.perm in PERMISSIONS.get(user.role, ())) or user.has_perm(self.perm)


ACTION_PERMISSIONS = [permissions.IsAuthenticated, CanViewOrders]
STEPS = frozenset({"accept", "assign", "unassign", "start_trip", "check_in", "check_out", "confirm", "dispute", "cancel",
                   "no_show"})


def _step(request_serializer, summary: str):
    """The schema of a transition action: its request body, the order back, and the refusals."""
    return extend_schema(summary=summary, request=request_serializer, responses={200: OrderSerializer, **ERRORS})


@extend_schema_view(
    list=extend_schema(summary="Service orders in your jurisdiction (or of your provider, or assigned to you)"),
    retrieve=extend_schema(summary="One order with its visit record and every state change",
                           responses={200: OrderDetailSerializer, 404: ERRORS[404]}),
)
class ServiceOrderViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Service orders. Each state change is a POST to its own action; refusals come back as 409 with the reason."""

    base_queryset = ServiceOrder.objects.select_related("elder", "service_type", "provider", "worker")
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        qs = super().get_queryset()
        if self.action == "retrieve":
            qs = qs.prefetch_related(Prefetch("events", queryset=OrderEvent.objects.select_related("actor")))
        if self.request is not None and self.request.query_params.get("since"):
            qs = qs.order_by("updated_at", "id")
        return qs

    def get_serializer_class(self):
        return OrderDetailSerializer if self.action == "retrieve" else OrderSerializer

    def get_serializer_context(self):
        context = super().get_serializer_context()
        user = getattr(self.request, "user", None)
        context["party"] = services.party_of(user) if user is not None and user.is_authenticated else None
        return context

    def _target(self) -> ServiceOrder:
        """The order the URL names, not loaded: each step's service loads it itself through the caller's
        scope (one query fewer than looking it up here first) and refuses it with PermissionDenied when it
        is out of reach; ``handle_exception`` then answers 404."""
        return ServiceOrder(pk=int(self.kwargs["pk"]))

    def _in_reach(self) -> bool:
        return ServiceOrder.objects.for_user(self.request.user).filter(pk=self.kwargs["pk"]).exists()

    def handle_exception(self, exc):
        if isinstance(exc, TransitionError):
            exc = Conflict(str(exc))
        elif isinstance(exc, DjangoPermissionDenied) and self.action in STEPS and not self._in_reach():
            exc = exceptions.NotFound(_("No such order in your jurisdiction."))
        return super().handle_exception(exc)

    def _show(self, order, code=status.HTTP_200_OK) -> Response:
        """The order the service returned (fresh from the database, relations loaded); its history is on GET."""
        return Response(OrderSerializer(order, context=self.get_serializer_context()).data, status=code)

    def _data(self, serializer_class) -> dict:
        incoming = serializer_class(data=self.request.data)
        incoming.is_valid(raise_exception=True)
        return incoming.validated_data

    @extend_schema(summary="Order a service for an elder", request=OrderCreate,
                   responses={201: OrderSerializer, 400: ERRORS[400], 403: ERRORS[403]})
    def create(self, request, *args, **kwargs):
        data = self._data(OrderCreate)
        order = services.create_order(
            acting_user=request.user, elder_id=data["elder"], service_code=data["service"],
            provider_id=data["provider"], window_start=data["window_start"], window_end=data["window_end"],
            payer=data["payer"], voucher_programme=data["voucher_programme"], note=data["note"])
        return self._show(order, status.HTTP_201_CREATED)

    @_step(None, "The provider accepts the order")
    @action(detail=True, methods=["post"], permission_classes=ACTION_PERMISSIONS)
    def accept(self, request, pk=None):
        return self._show(services.accept(self._target(), acting_user=request.user))

    @_step(OrderAssign, "Assign (or re-assign) a worker; expected_worker must be the worker you saw on the order")
    @action(detail=True, methods=["post"], permission_classes=ACTION_PERMISSIONS)
    def assign(self, request, pk=None):
        data = self._data(OrderAssign)
        # Unordered: Worker's default order would join the provider to sort this one row.
        worker = Worker.objects.for_user(request.user).filter(pk=data["worker"]).order_by().first()
        if worker is None:
            if not self._in_reach():
                raise exceptions.NotFound(_("No such order in your jurisdiction."))
            raise exceptions.ValidationError({"worker": [_("No such worker of your provider.")]})
        return self._show(services.assign(self._target(), worker, acting_user=request.user,
                                          expected_worker_id=data["expected_worker"], note=data["note"]))

    @_step(OrderNote, "Take the order off its worker (back to accepted)")
    @action(detail=True, methods=["post"], permission_classes=ACTION_PERMISSIONS)
    def unassign(self, request, pk=None):
        order = self._target()
        seen = request.data.get("expected_worker", services.ANY_WORKER) if hasattr(request.data, "get") else services.ANY_WORKER
        return self._show(services.unassign(order, acting_user=request.user, expected_worker_id=seen,
                                            note=self._data(OrderNote)["note"]))

    @_step(None, "The assigned worker sets off")
    @action(detail=True, methods=["post"], url_path="start-trip", permission_classes=ACTION_PERMISSIONS)
    def start_trip(self, request, pk=None):
        return self._show(services.start_trip(self._target(), acting_user=request.user))

    @_step(OrderLocation, "The assigned worker checks in at the elder's home (far from home is flagged)")
    @action(detail=True, methods=["post"], url_path="check-in", permission_classes=ACTION_PERMISSIONS)
    def check_in(self, request, pk=None):
        order = self._target()
        data = self._data(OrderLocation)
        return self._show(services.check_in(order, acting_user=request.user, latitude=data["latitude"],
                                            longitude=data["longitude"]))

    @_step(OrderCheckOut, "The assigned worker checks out with notes (a short visit is flagged)")
    @action(detail=True, methods=["post"], url_path="check-out", permission_classes=ACTION_PERMISSIONS)
    def check_out(self, request, pk=None):
        order = self._target()
        data = self._data(OrderCheckOut)
        return self._show(services.check_out(order, acting_user=request.user, latitude=data["latitude"],
                                             longitude=data["longitude"], notes=data["notes"]))

    @_step(OrderNote, "The elder, family, hotline or an official confirms the service took place")
    @action(detail=True, methods=["post"], permission_classes=ACTION_PERMISSIONS)
    def confirm(self, request, pk=None):
        order = self._target()
        return self._show(services.confirm(order, acting_user=request.user, note=self._data(OrderNote)["note"]))

    @_step(OrderReason, "Dispute a completed visit")
    @action(detail=True, methods=["post"], permission_classes=ACTION_PERMISSIONS)
    def dispute(self, request, pk=None):
        order = self._target()
        return self._show(services.dispute(order, acting_user=request.user, reason=self._data(OrderReason)["reason"]))

    @_step(OrderReason, "Cancel an order that has not started (a voucher is refunded)")
    @action(detail=True, methods=["post"], permission_classes=ACTION_PERMISSIONS)
    def cancel(self, request, pk=None):
        order = self._target()
        return self._show(services.cancel(order, acting_user=request.user, reason=self._data(OrderReason)["reason"]))

    @_step(OrderNoShow, "The assigned worker found nobody at home")
    @action(detail=True, methods=["post"], url_path="no-show", permission_classes=ACTION_PERMISSIONS)
    def no_show(self, request, pk=None):
        order = self._target()
        data = self._data(OrderNoShow)
        return self._show(services.no_show(order, acting_user=request.user, reason=data["reason"],
                                           latitude=data["latitude"], longitude=data["longitude"]))
