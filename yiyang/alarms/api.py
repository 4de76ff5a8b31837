"""Alarms, devices and safe zones API: ``/api/v1/alarms/`` (``?since=`` for pollers), ``/api/v1/alarms/devices/``
and ``/api/v1/alarms/geofences/``.

Rows come from ``for_user`` (another county's alarm is a 404); acknowledging,
closing and registering go through ``services``. A device's secret is never
shown, except once in the answer to its registration.
"""

from __future__ import annotations

import django_filters
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from yiyang.people.models import Elder

from . import geofences, services
from . import permissions as alarm_permissions
from .catalogue import AlarmType, DeviceKind
from .models import (
    Alarm,
    AlarmEvent,
    AlarmStatus,
    Device,
    EscalationTask,
    Geofence,
    Outcome,
    Placement,
)
from .services import AlarmTransitionError

# --- shapes -------------------------------------------------------------------------------------


class AlarmSerializer(serializers.ModelSerializer):
    device_id = serializers.CharField(read_only=True)
    device_kind = serializers.CharField(source="device.kind", read_only=True)
    elder_name = serializers.CharField(source="elder.name", read_only=True, default=None)

    class Meta:
        model = Alarm
        fields = ["id", "device_id", "device_kind", "msg_id", "type", "source", "priority", "status", "received_at",
                  "device_time", "clock_skew_flag", "elder", "elder_name", "area_code", "organization", "payload",
                  "service_order", "acknowledged_at", "closed_at", "outcome", "note"]
        read_only_fields = fields


class RaiseRequest(serializers.Serializer):
    elder = serializers.IntegerField()
    type = serializers.ChoiceField(choices=[(t, AlarmType(t).label) for t in ("call", "sos", "fall", "smoke", "gas")],
                                   default="call")
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
    call = serializers.IntegerField(required=False, allow_null=True, help_text="the 12349 call it came from")


class EscalationTaskSerializer(serializers.ModelSerializer):
    class Meta:
        model = EscalationTask
        fields = ["id", "action", "condition", "due_at", "state", "attempts", "done_at", "result"]
        read_only_fields = fields


class AlarmEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AlarmEvent
        fields = ["id", "at", "status", "actor", "note"]
        read_only_fields = fields


class Escalation(serializers.Serializer):
    tasks = EscalationTaskSerializer(many=True)
    events = AlarmEventSerializer(many=True)


class DeviceSerializer(serializers.ModelSerializer):
    area_code = serializers.CharField(source="area_id", read_only=True)

    class Meta:
        model = Device
        fields = ["device_id", "kind", "elder", "area_code", "organization", "placement", "location_note",
                  "heartbeat_seconds", "battery", "last_seen_at", "is_active", "registered_at"]
        read_only_fields = fields


class DeviceCreateRequest(serializers.Serializer):
    device_id = serializers.CharField(max_length=64)
    kind = serializers.ChoiceField(choices=DeviceKind.choices)
    elder = serializers.IntegerField(required=False, allow_null=True)
    area_code = serializers.CharField(required=False, allow_blank=True, max_length=12,
                                      help_text="where it is installed; default: the elder's village")
    placement = serializers.ChoiceField(choices=Placement.choices, default=Placement.HOME)
    location_note = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    heartbeat_seconds = serializers.IntegerField(required=False, allow_null=True, min_value=10)


class DeviceCreated(DeviceSerializer):
    secret = serializers.SerializerMethodField(help_text="shown this once: write it into the device")

    class Meta(DeviceSerializer.Meta):
        fields = [*DeviceSerializer.Meta.fields, "secret"]
        read_only_fields = fields

    def get_secret(self, device) -> str:
        return self.context["secret"]


class NoteRequest(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class CloseRequest(NoteRequest):
    outcome = serializers.ChoiceField(choices=Outcome.choices)


class ErrorResponse(serializers.Serializer):
    detail = serializers.CharField()


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


# --- alarms -------------------------------------------------------------------------------------


class AlarmFilter(django_filters.FilterSet):
    since = django_filters.IsoDateTimeFilter(
        field_name="received_at", lookup_expr="gte",
        help_text="received at or after this moment (ISO 8601; without an offset, local time); "
                  "the list is then oldest first, for polling")
    type = django_filters.MultipleChoiceFilter(choices=AlarmType.choices, help_text="repeat for several types")
    status = django_filters.MultipleChoiceFilter(choices=AlarmStatus.choices, help_text="repeat for several")
    device = django_filters.CharFilter(field_name="device_id")
    area = django_filters.CharFilter(method="filter_area", help_text="area code prefix")

    class Meta:
        model = Alarm
        fields = ["since", "type", "status", "device", "area"]

    def filter_area(self, queryset, name, value):
        from yiyang.core.scoping import area_prefix_q

        return queryset.filter(area_prefix_q("area_code", value)) if value.isdigit() else queryset.none()


@extend_schema_view(
    list=extend_schema(summary="Alarms in your jurisdiction; newest first, or oldest first with ?since="),
    retrieve=extend_schema(summary="One alarm", responses={200: AlarmSerializer, 404: ErrorResponse}),
)
class AlarmViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Alarms raised by devices (SOS, falls, smoke, gas, out of bed) and by the platform (vitals, safe zones,
    devices gone silent). Each device message id is one alarm, however often it was sent."""

    permission_classes = [permissions.IsAuthenticated, alarm_permissions.CanViewAlarms]
    serializer_class = AlarmSerializer
    filterset_class = AlarmFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        qs = Alarm.objects.for_user(self.request.user).select_related("device", "elder")
        if self.request is not None and self.request.query_params.get("since"):
            qs = qs.order_by("received_at", "id")
        return qs

    @extend_schema(summary="Raise an alarm from a call (hotline agents): acknowledged by you, then escalated",
                   request=RaiseRequest, responses={201: AlarmSerializer, 400: OpenApiResponse(
                       description="unknown elder or call, elder not alive"), 403: ErrorResponse})
    def create(self, request):
        from yiyang.homecare.models import CallRecord

        incoming = RaiseRequest(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        call = None
        if data.pop("call", None) is not None:
            call = CallRecord.objects.for_user(request.user).filter(pk=incoming.validated_data["call"]).first()
            if call is None:
                raise serializers.ValidationError({"call": [_("No such call in your jurisdiction.")]})
        alarm = services.raise_alarm(acting_user=request.user, elder_id=data["elder"], type=data["type"],
                                     note=data["note"], call=call)
        return Response(AlarmSerializer(self.get_queryset().get(pk=alarm.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="The alarm's escalation: its timers (done, skipped, waiting) and its steps",
                   responses={200: Escalation, 404: ErrorResponse})
    @action(detail=True, methods=["get"])
    def escalation(self, request, pk=None):
        alarm = get_object_or_404(self.get_queryset(), pk=pk)
        return Response(Escalation({"tasks": alarm.tasks.order_by("due_at", "id"),
                                    "events": alarm.events.order_by("at", "id")}).data)

    def handle_exception(self, exc):
        if isinstance(exc, AlarmTransitionError):
            exc = Conflict(str(exc))
        return super().handle_exception(exc)

    def _step(self, pk, request_serializer, call):
        get_object_or_404(Alarm.objects.for_user(self.request.user).only("id"), pk=pk)
        incoming = request_serializer(data=self.request.data)
        incoming.is_valid(raise_exception=True)
        alarm = call(int(pk), **incoming.validated_data)
        alarm = self.get_queryset().get(pk=alarm.pk)
        return Response(AlarmSerializer(alarm, context=self.get_serializer_context()).data)

    @extend_schema(summary="Acknowledge: someone is on it", request=NoteRequest,
                   responses={200: AlarmSerializer, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._step(pk, NoteRequest, lambda alarm_id, note: services.acknowledge_alarm(
            alarm_id, acting_user=request.user, note=note))

    @extend_schema(summary="Close with the outcome", request=CloseRequest,
                   responses={200: AlarmSerializer, 400: OpenApiResponse(description="no or unknown outcome"),
                              403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._step(pk, CloseRequest, lambda alarm_id, note, outcome: services.close_alarm(
            alarm_id, acting_user=request.user, outcome=outcome, note=note))


# --- devices ------------------------------------------------------------------------------------


class CanUseDevices(permissions.BasePermission):
    def has_permission(self, request, view):
        perm = alarm_permissions.VIEW_ALARMS if request.method in permissions.SAFE_METHODS else alarm_permissions.ADD_DEVICE
        return alarm_permissions.has(request.user, perm)


class DeviceFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=DeviceKind.choices)
    elder = django_filters.NumberFilter(field_name="elder_id")
    offline = django_filters.BooleanFilter(method="filter_offline", help_text="watched devices past their heartbeats")

    class Meta:
        model = Device
        fields = ["kind", "elder", "is_active", "offline"]

    def filter_offline(self, queryset, name, value):
        from django.db.models import Q
        from django.utils import timezone

        late = Q(offline_after__lt=timezone.now()) | Q(offline_after__isnull=True, heartbeat_seconds__isnull=False,
                                                       last_seen_at__isnull=False)
        return queryset.filter(late) if value else queryset.exclude(late)


@extend_schema_view(
    list=extend_schema(summary="Devices in your jurisdiction with battery and last-seen status"),
    retrieve=extend_schema(summary="One device", responses={200: DeviceSerializer, 404: ErrorResponse}),
    create=extend_schema(summary="Register a device; the answer carries its secret, once",
                         request=DeviceCreateRequest, responses={201: DeviceCreated}),
)
class DeviceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                    viewsets.GenericViewSet):
    permission_classes = [permissions.IsAuthenticated, CanUseDevices]
    serializer_class = DeviceSerializer
    filterset_class = DeviceFilter
    lookup_value_regex = r"[A-Za-z0-9_\-]+"

    def get_queryset(self):
        return Device.objects.for_user(self.request.user).order_by("device_id")

    def create(self, request, *args, **kwargs):
        incoming = DeviceCreateRequest(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        elder_id = data.pop("elder", None)
        elder = None
        if elder_id is not None:
            elder = Elder.objects.for_user(request.user).filter(pk=elder_id).first()
            if elder is None:
                raise exceptions.ValidationError({"elder": [_("This elder is outside your jurisdiction.")]})
        device, secret = services.register_device(acting_user=request.user, elder=elder, **data)
        return Response(DeviceCreated(device, context={"secret": secret}).data, status=status.HTTP_201_CREATED)


# --- safe zones ---------------------------------------------------------------------------------


class GeofenceSerializer(serializers.ModelSerializer):
    return_by = serializers.TimeField(format="%H:%M", allow_null=True, read_only=True)

    class Meta:
        model = Geofence
        fields = ["id", "elder", "name", "latitude", "longitude", "radius_m", "return_by", "is_active"]
        read_only_fields = fields


class GeofenceCreateRequest(serializers.Serializer):
    elder = serializers.IntegerField()
    name = serializers.CharField(allow_blank=True, max_length=200)
    latitude = serializers.FloatField(help_text="WGS-84 degrees; inside China")
    longitude = serializers.FloatField()
    radius_m = serializers.IntegerField(help_text="50 to 20,000 metres")
    return_by = serializers.TimeField(required=False, allow_null=True, default=None,
                                      help_text="HH:MM local time: an alarm if the elder is outside every zone then")


class GeofenceChangeRequest(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    latitude = serializers.FloatField(required=False)
    longitude = serializers.FloatField(required=False)
    radius_m = serializers.IntegerField(required=False)
    return_by = serializers.TimeField(required=False, allow_null=True)
    is_active = serializers.BooleanField(required=False, help_text="false deactivates the zone (for good)")


class CanUseZones(permissions.BasePermission):
    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return alarm_permissions.has(request.user, alarm_permissions.VIEW_ALARMS)
        return geofences.may_draw(request.user)


class GeofenceFilter(django_filters.FilterSet):
    elder = django_filters.NumberFilter(field_name="elder_id")

    class Meta:
        model = Geofence
        fields = ["elder", "is_active"]


@extend_schema_view(
    list=extend_schema(summary="Safe zones of the elders in your jurisdiction (?elder=, ?is_active=)"),
    retrieve=extend_schema(summary="One safe zone", responses={200: GeofenceSerializer, 404: ErrorResponse}),
    create=extend_schema(summary="Draw a safe zone around a point for an elder", request=GeofenceCreateRequest,
                         responses={201: GeofenceSerializer, 400: OpenApiResponse(description="field errors"),
                                    403: ErrorResponse}),
    partial_update=extend_schema(summary="Change a zone's name, centre, radius or return time, or deactivate it",
                                 request=GeofenceChangeRequest,
                                 responses={200: GeofenceSerializer, 400: OpenApiResponse(description="field errors"),
                                            403: ErrorResponse, 404: ErrorResponse}),
)
class GeofenceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Circles around a point an elder's GPS watch should stay in; leaving all of them, or being outside
    at the zone's return time, raises an alarm. Zones are deactivated, never deleted."""

    permission_classes = [permissions.IsAuthenticated, CanUseZones]
    serializer_class = GeofenceSerializer
    filterset_class = GeofenceFilter
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return Geofence.objects.for_user(self.request.user).order_by("elder_id", "pk")

    def create(self, request, *args, **kwargs):
        incoming = GeofenceCreateRequest(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        elder_id = data.pop("elder")
        if not Elder.objects.for_user(request.user).filter(pk=elder_id).exists():
            raise exceptions.ValidationError({"elder": [_("This elder is outside your jurisdiction.")]})
        zone = geofences.create_zone(acting_user=request.user, elder_id=elder_id, **data)
        return Response(GeofenceSerializer(zone).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        zone = self.get_object()
        incoming = GeofenceChangeRequest(data=request.data)
        incoming.is_valid(raise_exception=True)
        changes = dict(incoming.validated_data)
        active = changes.pop("is_active", None)
        if active is True and not zone.is_active:
            raise exceptions.ValidationError({"is_active": [_("This zone was deactivated; draw a new one instead.")]})
        if changes:
            zone = geofences.change_zone(zone.pk, acting_user=request.user, **changes)
        if active is False:
            zone = geofences.deactivate_zone(zone.pk, acting_user=request.user)
        return Response(GeofenceSerializer(zone).data)
