"""Benefits API: programmes, payroll runs, and the monthly payroll summary."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from yiyang.api.scoping import RolePermissions, ScopedReadOnlyViewSet

from . import anomalies, rules, services
from .models import PaymentLine, PayrollRun, Programme, Tier


class TierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = ["label", "min_age", "max_age", "amount_fen", "effective_from", "effective_to"]


class ProgrammeSerializer(serializers.ModelSerializer):
    area_code = serializers.CharField(source="area_id", read_only=True)
    tiers = TierSerializer(many=True, read_only=True)

    class Meta:
        model = Programme
        fields = ["id", "code", "name", "kind", "payment_mode", "area_code", "enrolment", "hukou_required",
                  "publicity_days", "back_pay", "is_active", "tiers"]


class ProgrammeViewSet(ScopedReadOnlyViewSet):
    serializer_class = ProgrammeSerializer
    base_queryset = Programme.objects.prefetch_related("tiers")
    lookup_field = "code"


class PayrollRunSerializer(serializers.ModelSerializer):
    programme = serializers.CharField(source="programme.code")
    month = serializers.DateField(format="%Y-%m")

    class Meta:
        model = PayrollRun
        fields = ["id", "programme", "area_code", "month", "status", "computed_at", "line_count", "total_fen"]


class PayrollRunViewSet(ScopedReadOnlyViewSet):
    serializer_class = PayrollRunSerializer
    base_queryset = PayrollRun.objects.select_related("programme")
    filterset_fields = ["status", "area_code"]


SummarySerializer = inline_serializer("PayrollSummary", {
    "count": serializers.IntegerField(),
    "total_fen": serializers.IntegerField(),
    "by_tier": serializers.DictField(child=inline_serializer("TierSummary", {
        "count": serializers.IntegerField(), "total_fen": serializers.IntegerField()})),
})


class PayrollSummaryView(APIView):
    """Elders paid and amounts for a month, within the caller's jurisdiction (regular lines)."""

    permission_classes = [IsAuthenticated, RolePermissions]
    queryset = PaymentLine.objects.none()  # for RolePermissions: needs benefits.view_paymentline

    @extend_schema(parameters=[OpenApiParameter("programme", str, required=True, description="programme code, e.g. gaoling")],
                   responses={200: SummarySerializer})
    def get(self, request, month: str):
        try:
            first = rules.parse_month(month)
        except rules.RuleError as exc:
            raise ValidationError({"month": [str(exc)]}) from exc
        programme = request.query_params.get("programme")
        if not programme:
            raise ValidationError({"programme": [_("Give the programme code, e.g. ?programme=gaoling.")]})
        return Response(services.payroll_summary(user=request.user, programme_code=programme, month=first))


class PayrollAnomaliesView(APIView):
    """The month's anomaly report within the caller's jurisdiction (see benefits/anomalies.py)."""

    permission_classes = [IsAuthenticated, RolePermissions]
    queryset = PaymentLine.objects.none()

    @extend_schema(parameters=[OpenApiParameter("programme", str, required=True)],
                   responses={200: serializers.DictField(child=serializers.ListField(child=serializers.DictField()))})
    def get(self, request, month: str):
        try:
            first = rules.parse_month(month)
        except rules.RuleError as exc:
            raise ValidationError({"month": [str(exc)]}) from exc
        code = request.query_params.get("programme")
        if not code or not Programme.objects.filter(code=code).exists():
            raise ValidationError({"programme": [_("Give an existing programme code, e.g. ?programme=gaoling.")]})
        return Response(anomalies.monthly_anomalies(user=request.user, programme_code=code, month=first))
