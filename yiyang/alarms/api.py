"""Alarms and devices API: ``/api/v1/alarms/`` (``?since=`` for pollers) and ``/api/v1/alarms/devices/``.

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

from . import permissions as alarm_permissions
from . import services
from .catalogue import AlarmType, DeviceKind
from .models import Alarm, AlarmStatus, Device, Outcome, Placement
from .services import AlarmTransitionError

# --- shapes -------------------------------------------------------------------------------------


class AlarmSerializer(serializers.ModelSerializer):
    device_id = serializers.CharField(read_only=True)
    device_kind = serializers.CharField(source="device.kind", read_only=True)
    elder_name = serializers.CharField(source="elder.name", read_only=True, default=None)

    class Meta:
        model = Alarm
        fields = ["id", "device_id", "device_kind", "msg_id", "type", "priority", "status", "received_at",
                  "device_time", "clock_skew_flag", "elder", "elder_name", "area_code", "organization", "payload",
                  "acknowledged_at", "closed_at", "outcome", "note"]
        read_only_fields = fields


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
class AlarmViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
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
