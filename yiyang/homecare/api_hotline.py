"""Hotline API for the telephony system: a call rings (who is it?), a call ends (what came of it).

The telephony system authenticates as the agent who takes the call (the token of a
hotline account), so the call is that agent's and the matches stay within the
agent's jurisdiction. The caller's number is never sent back in clear.
"""

from __future__ import annotations

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from yiyang.api.scoping import RolePermissions

from . import hotline
from .models import CallRecord

TAGS = ["homecare"]
REFUSED = {
    400: OpenApiResponse(description="Invalid input: field → messages."),
    403: OpenApiResponse(description="The account may not take hotline calls."),
}


class CallStart(serializers.Serializer):
    number = serializers.CharField(
        allow_blank=True, max_length=32,
        help_text="The caller's number as the exchange gives it (+86, spaces and dashes are ignored); empty when withheld.")
    direction = serializers.ChoiceField(choices=CallRecord.Direction.choices, default=CallRecord.Direction.INBOUND)


class MatchSerializer(serializers.Serializer):
    elder_id = serializers.IntegerField()
    name = serializers.CharField()
    relation = serializers.CharField(help_text='"self" for the elder\'s own phone, else the relation of the contact '
                                               "whose phone it is (son, daughter, neighbour…).")
    area_code = serializers.CharField(help_text="The elder's village (12 digits).")


class CallSerializer(serializers.ModelSerializer):
    caller = serializers.SerializerMethodField(help_text="The caller's number, masked (138****0000).")
    duration_seconds = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = CallRecord
        fields = ["id", "direction", "caller", "elder", "area_code", "started_at", "ended_at", "duration_seconds",
                  "outcome", "summary", "order", "complaint"]
        read_only_fields = fields

    def get_caller(self, call) -> str:
        return hotline.mask_number(call.caller_number)


class CallStartResponse(CallSerializer):
    matches = MatchSerializer(many=True, read_only=True,
                              help_text="Elders in the agent's jurisdiction whose phone, or whose contact's phone, "
                                        "the number is. With exactly one elder, the call is already about that elder.")

    class Meta(CallSerializer.Meta):
        fields = [*CallSerializer.Meta.fields, "matches"]
        read_only_fields = fields


class CallEnd(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=CallRecord.Outcome.choices)
    summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000,
                                    help_text="Required for a consultation: what was asked and answered.")


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class CallStartView(APIView):
    """A call rings: record it and say who it may be about."""

    permission_classes = [IsAuthenticated, RolePermissions]
    queryset = CallRecord.objects.none()  # POST needs homecare.add_callrecord

    @extend_schema(tags=TAGS, operation_id="homecare_call_start", request=CallStart,
                   responses={201: CallStartResponse, **REFUSED})
    def post(self, request):
        data = _valid(CallStart, request.data)
        with transaction.atomic():
            matches = hotline.identify(data["number"], acting_user=request.user)
            elders = {match.elder.pk for match in matches}
            call = hotline.start_call(acting_user=request.user, number=data["number"], direction=data["direction"],
                                      elder_id=elders.pop() if len(elders) == 1 else None)
        body = CallSerializer(call).data
        body["matches"] = [{"elder_id": m.elder.pk, "name": m.elder.name, "relation": m.relation,
                            "area_code": m.area_code} for m in matches]
        return Response(body, status=status.HTTP_201_CREATED)


class CallEndView(APIView):
    """A call ends: its outcome and summary (a consultation must have a summary)."""

    permission_classes = [IsAuthenticated, RolePermissions]
    queryset = CallRecord.objects.none()  # POST needs homecare.add_callrecord

    @extend_schema(tags=TAGS, operation_id="homecare_call_end", request=CallEnd,
                   responses={200: CallSerializer, 404: OpenApiResponse(description="No such call in the jurisdiction."),
                              **REFUSED})
    def post(self, request, call_id: int):
        call = get_object_or_404(CallRecord.objects.for_user(request.user), pk=call_id)
        data = _valid(CallEnd, request.data)
        call = hotline.end_call(call, acting_user=request.user, **data)
        return Response(CallSerializer(call).data)
