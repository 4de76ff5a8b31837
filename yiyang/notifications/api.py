"""Notifications API: the scoped list (``/api/v1/notifications/``) and the providers' delivery receipts.

Receipts carry no user: the provider signs the body with the shared webhook
secret (the same HMAC it checks on our requests), so a forged or altered receipt
is a 403 before anything is read.
"""

from __future__ import annotations

import json

import django_filters
from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import permissions, serializers
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from yiyang.api.scoping import ScopedReadOnlyViewSet

from . import services
from .gateway import SIGNATURE_HEADER, signature_ok
from .models import Channel, Notification, NotificationAttempt, ReceiptStatus, State

TAGS = ["notifications"]


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = NotificationAttempt
        fields = ["at", "kind", "provider", "outcome", "provider_ref", "error", "duration_ms"]
        read_only_fields = fields


class NotificationSerializer(serializers.ModelSerializer):
    address = serializers.CharField(source="address_hint", read_only=True,
                                    help_text="The phone number, masked (138****1234); empty for app notifications.")
    attempt_log = AttemptSerializer(many=True, read_only=True,
                                    help_text="Every send attempt and delivery receipt, oldest first.")

    class Meta:
        model = Notification
        fields = ["id", "channel", "recipient_label", "recipient_user", "address", "subject", "area_code", "key",
                  "text", "state", "attempts", "next_attempt_at", "provider", "provider_ref", "error", "created_at",
                  "sent_at", "result_at", "read_at", "attempt_log"]
        read_only_fields = fields


class NotificationFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=State.choices, help_text="repeat for several")
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices, help_text="repeat for several")
    subject = django_filters.CharFilter(help_text='exact, e.g. "alarm:123"')

    class Meta:
        model = Notification
        fields = ["state", "channel", "subject"]


@extend_schema_view(
    list=extend_schema(summary="Notifications in your jurisdiction, newest first", tags=TAGS),
    retrieve=extend_schema(summary="One notification with every attempt", tags=TAGS),
)
class NotificationViewSet(ScopedReadOnlyViewSet):
    """Outbound SMS, voice calls and app notifications, with what each attempt and receipt said."""

    base_queryset = Notification.objects
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return super().get_queryset().prefetch_related("attempt_log")


class ReceiptRequest(serializers.Serializer):
    key = serializers.CharField(required=False, allow_blank=True, default="", max_length=150,
                                help_text="The key we sent in the webhook; or give provider_ref.")
    provider_ref = serializers.CharField(required=False, allow_blank=True, default="", max_length=100,
                                         help_text='Your "id" from the answer to the webhook.')
    status = serializers.ChoiceField(choices=ReceiptStatus.choices,
                                     help_text='"no_answer": a voice call nobody picked up (a failure).')
    error = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)

    def validate(self, attrs):
        if not attrs["key"] and not attrs["provider_ref"]:
            raise serializers.ValidationError({"key": ["Give the key or the provider reference."]})
        return attrs


class ReceiptResponse(serializers.Serializer):
    key = serializers.CharField()
    state = serializers.ChoiceField(choices=State.choices, help_text="The notification's state after the receipt.")


class Detail(serializers.Serializer):
    detail = serializers.CharField()


class ReceiptView(APIView):
    """Delivery receipts from the SMS/voice provider (or bridge), authenticated by the body's signature."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    parser_classes = [JSONParser]  # documents the body; it is read raw, since the signature covers its exact bytes

    @extend_schema(
        summary="A delivery receipt: delivered, failed, or a voice call not answered", tags=TAGS, auth=[],
        request=ReceiptRequest,
        parameters=[OpenApiParameter(SIGNATURE_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
                                     description="Hex HMAC-SHA256 of the exact request body under the webhook "
                                                 "secret (YIYANG_NOTIFY_WEBHOOK_SECRET).")],
        responses={200: ReceiptResponse,
                   400: OpenApiResponse(description="Not JSON, or invalid fields: field → messages."),
                   403: OpenApiResponse(Detail, description="Missing or wrong signature."),
                   404: OpenApiResponse(Detail, description="No notification has this key or reference.")},
    )
    def post(self, request):
        body = request.body
        if not signature_ok(body, request.headers.get(SIGNATURE_HEADER), settings.NOTIFY_WEBHOOK_SECRET):
            return Response({"detail": "Missing or wrong signature."}, status=403)
        try:
            data = json.loads(body)
        except ValueError:
            return Response({"detail": "The body is not JSON."}, status=400)
        incoming = ReceiptRequest(data=data if isinstance(data, dict) else {})
        incoming.is_valid(raise_exception=True)
        try:
            notification = services.record_receipt(**incoming.validated_data)
        except services.UnknownNotification:
            return Response({"detail": "No notification has this key or provider reference."}, status=404)
        return Response({"key": notification.key, "state": notification.state})
