"""API shapes of the home-care catalogue, workers and service orders.

Responses carry no clear personal data: an order names its elder (no ID number,
no phone), a worker's phone is masked, and a worker's home base is left out.
Requests are plain serializers that check types only; the domain rules (who may,
which provider, which worker) stay in ``services``.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from yiyang.api.serializers import SharedFieldsSerializer
from yiyang.core.masking import mask_phone

from .models import OrderEvent, ServiceOrder, ServiceType, Worker, WorkerSkill
from .rules import Payer, Status, next_statuses

# --- catalogue and workers ------------------------------------------------------------------


class ServiceTypeSerializer(serializers.ModelSerializer):
    skills = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = ServiceType
        fields = ["code", "name", "kind", "duration_minutes", "unit_price_fen", "skills", "voucher_programmes",
                  "at_home", "is_active"]
        read_only_fields = fields


class WorkerSkillSerializer(serializers.ModelSerializer):
    skill = serializers.CharField(source="skill.code")

    class Meta:
        model = WorkerSkill
        fields = ["skill", "valid_until"]
        read_only_fields = fields


class WorkerSerializer(serializers.ModelSerializer):
    phone = serializers.SerializerMethodField()
    provider_name = serializers.CharField(source="provider.name", read_only=True)
    skills = WorkerSkillSerializer(source="worker_skills", many=True, read_only=True)

    class Meta:
        model = Worker
        fields = ["id", "name", "phone", "provider", "provider_name", "skills", "is_active"]
        read_only_fields = fields

    def get_phone(self, worker) -> str:
        return mask_phone(worker.phone)


# --- orders ---------------------------------------------------------------------------------


class OrderEventSerializer(serializers.ModelSerializer):
    actor = serializers.StringRelatedField()

    class Meta:
        model = OrderEvent
        fields = ["from_status", "to_status", "actor", "at", "latitude", "longitude", "note"]
        read_only_fields = fields


class OrderSerializer(SharedFieldsSerializer):
    """An order in a list and after each step: who, what, when, by whom, and what the caller may do next.

    Declared field by field rather than as a ModelSerializer, and with its fields
    shared rather than copied per response: it answers every step of the order API,
    where building a ModelSerializer's fields was a sixth of a step's time and
    copying declared ones most of what was left of rendering.
    """

    id = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(choices=Status.choices, read_only=True)
    channel = serializers.ChoiceField(choices=ServiceOrder.Channel.choices, read_only=True)
    elder = serializers.IntegerField(source="elder_id", read_only=True)
    elder_name = serializers.CharField(source="elder.name", read_only=True)
    area_code = serializers.CharField(source="elder.area_id", read_only=True)
    service = serializers.CharField(source="service_type.code", read_only=True)
    service_name = serializers.CharField(source="service_type.name", read_only=True)
    provider = serializers.IntegerField(source="provider_id", read_only=True)
    provider_name = serializers.CharField(source="provider.name", read_only=True)
    worker = serializers.IntegerField(source="worker_id", read_only=True, allow_null=True)
    worker_name = serializers.CharField(source="worker.name", read_only=True, default=None, allow_null=True)
    window_start = serializers.DateTimeField(read_only=True)
    window_end = serializers.DateTimeField(read_only=True)
    duration_minutes = serializers.IntegerField(read_only=True)
    price_fen = serializers.IntegerField(read_only=True)
    payer = serializers.ChoiceField(choices=Payer.choices, read_only=True)
    voucher_programme = serializers.CharField(read_only=True)
    note = serializers.CharField(read_only=True)
    flags = serializers.ListField(child=serializers.CharField(), read_only=True,
                                  help_text="Why the visit awaits review: far_check_in, short_visit, no_location.")
    checked_in_at = serializers.DateTimeField(read_only=True, allow_null=True)
    checked_out_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    next_statuses = serializers.SerializerMethodField(
        help_text="States the caller may move the order to now (for buttons).")

    def get_next_statuses(self, order) -> list[str]:
        return next_statuses(order.status, self.context.get("party"))


class OrderDetailSerializer(OrderSerializer):
    """One order with its visit record and every state change."""

    check_in_latitude = serializers.FloatField(read_only=True, allow_null=True)
    check_in_longitude = serializers.FloatField(read_only=True, allow_null=True)
    check_in_distance_m = serializers.IntegerField(read_only=True, allow_null=True)
    check_out_latitude = serializers.FloatField(read_only=True, allow_null=True)
    check_out_longitude = serializers.FloatField(read_only=True, allow_null=True)
    service_notes = serializers.CharField(read_only=True)
    events = OrderEventSerializer(many=True, read_only=True)


# --- requests -------------------------------------------------------------------------------


class OrderCreate(serializers.Serializer):
    elder = serializers.IntegerField(min_value=1)
    service = serializers.CharField(max_length=32, help_text="service code from /homecare/services/")
    provider = serializers.IntegerField(min_value=1, help_text="organisation id of a home-care provider")
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    payer = serializers.ChoiceField(choices=Payer.choices, default=Payer.SELF)
    voucher_programme = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class OrderAssign(serializers.Serializer):
    worker = serializers.IntegerField(min_value=1)
    expected_worker = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, default=None,
        help_text="The worker the caller saw on the order (null: unassigned). A mismatch is refused with 409.")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class OrderNote(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class OrderReason(serializers.Serializer):
    reason = serializers.CharField(max_length=500, error_messages={"blank": _("Say why (a reason is required).")})


class OrderLocation(serializers.Serializer):
    """Where the worker's phone is; null when it has no fix (the visit is then flagged)."""

    latitude = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True, default=None)
    longitude = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True, default=None)


class OrderCheckOut(OrderLocation):
    notes = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class OrderNoShow(OrderReason, OrderLocation):
    pass


class OrderError(serializers.Serializer):
    detail = serializers.CharField()
