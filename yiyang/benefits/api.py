"""Benefits API: programmes, payroll runs, the monthly payroll summary, applications, payee accounts,
bank files and bank returns."""

import json

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from yiyang.api.scoping import RolePermissions, ScopedReadOnlyViewSet, ScopedViewSetMixin
from yiyang.people.services import access_elder_by_id

from . import anomalies, applications, bankfile, payees, programmes, rules, services, survival
from .applications_rules import Action
from .models import (
    Application,
    ApplicationDocument,
    ApplicationReview,
    DocumentKind,
    PayeeAccount,
    PaymentLine,
    PayrollRun,
    Programme,
    SurvivalCertification,
    Tier,
)


class TierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = ["label", "min_age", "max_age", "grade", "amount_fen", "effective_from", "effective_to"]


class ProgrammeSerializer(serializers.ModelSerializer):
    area_code = serializers.CharField(source="area_id", read_only=True)
    tiers = TierSerializer(many=True, read_only=True)

    class Meta:
        model = Programme
        fields = ["id", "code", "name", "kind", "payment_mode", "area_code", "enrolment", "tier_basis",
                  "hardship_categories", "hukou_required", "publicity_days", "back_pay", "is_active", "tiers"]


class TierInput(serializers.Serializer):
    label = serializers.CharField(max_length=32)
    min_age = serializers.IntegerField(min_value=0, max_value=150)
    max_age = serializers.IntegerField(min_value=0, max_value=150, required=False, allow_null=True, default=None)
    grade = serializers.IntegerField(min_value=0, max_value=4, required=False, allow_null=True, default=None)
    amount_fen = serializers.IntegerField(min_value=1)
    effective_from = serializers.DateField()
    effective_to = serializers.DateField(required=False, allow_null=True, default=None)


class ProgrammeInput(serializers.Serializer):
    code = serializers.SlugField(max_length=32)
    name = serializers.CharField(max_length=100)
    kind = serializers.CharField()
    area_code = serializers.CharField(max_length=12)
    enrolment = serializers.CharField()
    payment_mode = serializers.CharField(default=Programme.PaymentMode.CASH)
    tier_basis = serializers.CharField(default=Programme.TierBasis.AGE)
    hardship_categories = serializers.ListField(child=serializers.CharField(), default=list)
    hukou_required = serializers.BooleanField(default=False)
    publicity_days = serializers.IntegerField(min_value=0, max_value=90, default=0)
    back_pay = serializers.BooleanField(default=False)
    required_documents = serializers.ListField(child=serializers.CharField(), default=list)
    survival_certification_months = serializers.IntegerField(min_value=1, max_value=60, required=False,
                                                             allow_null=True, default=None)
    tiers = TierInput(many=True)


class ProgrammeViewSet(ScopedReadOnlyViewSet):
    serializer_class = ProgrammeSerializer
    base_queryset = Programme.objects.prefetch_related("tiers")
    lookup_field = "code"

    @extend_schema(request=ProgrammeInput, responses={201: ProgrammeSerializer})
    def create(self, request, *args, **kwargs):
        """Define a programme with its tiers; refused whole (400 by field) when anything is wrong."""
        incoming = ProgrammeInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            programme = programmes.define_programme(acting_user=request.user, **incoming.validated_data)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        return Response(ProgrammeSerializer(programme).data, status=status.HTTP_201_CREATED)


class PayrollRunSerializer(serializers.ModelSerializer):
    programme = serializers.CharField(source="programme.code")
    month = serializers.DateField(format="%Y-%m")

    class Meta:
        model = PayrollRun
        fields = ["id", "programme", "area_code", "month", "status", "computed_at", "line_count", "total_fen"]


class _FileRenderer(renderers.BaseRenderer):
    """Lets ``?format=csv|xlsx`` pass DRF's content negotiation; errors are rendered as JSON."""

    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return json.dumps(data, ensure_ascii=False).encode("utf-8")


class CsvRenderer(_FileRenderer):
    media_type = "text/csv"
    format = "csv"


class XlsxRenderer(_FileRenderer):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"


class PayrollRunViewSet(ScopedReadOnlyViewSet):
    serializer_class = PayrollRunSerializer
    base_queryset = PayrollRun.objects.select_related("programme")
    filterset_fields = ["status", "area_code"]

    @extend_schema(parameters=[OpenApiParameter("format", str, enum=["csv", "xlsx"])],
                   responses={(200, "text/csv"): bytes})
    @action(detail=True, methods=["get"], url_path="bank-file",
            renderer_classes=[CsvRenderer, XlsxRenderer, renderers.JSONRenderer])
    def bank_file(self, request, pk=None):
        """Generate the run's next bank file (docs/bank-file.md): lines not yet sent, with clear ID and account."""
        fmt = request.query_params.get("format") or "csv"
        try:
            name, content = bankfile.bank_file(self.get_object(), acting_user=request.user, fmt=fmt)
        except rules.RuleError as exc:
            raise ValidationError({"run": [str(exc)]}) from exc
        media = XlsxRenderer.media_type if fmt == "xlsx" else "text/csv; charset=utf-8"
        response = HttpResponse(content, content_type=media)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        return response


# --- payee accounts and bank returns ----------------------------------------------------------


class PayeeAccountSerializer(serializers.ModelSerializer):
    account_number = serializers.CharField(source="account_number_masked")

    class Meta:
        model = PayeeAccount
        fields = ["id", "elder", "holder_name", "holder_relation", "kind", "bank_name", "account_number",
                  "is_active", "created_at", "updated_at"]
        read_only_fields = fields


class PayeeAccountRequest(serializers.Serializer):
    holder_name = serializers.CharField(allow_blank=True, max_length=200)
    holder_relation = serializers.CharField(required=False, default="self")
    kind = serializers.CharField()
    bank_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    account_number = serializers.CharField(allow_blank=True, max_length=100)


class PayeeAccountView(APIView):
    """An elder's active payee account (number masked); ``POST`` sets a new one, retiring the previous."""

    permission_classes = [IsAuthenticated, RolePermissions]
    queryset = PayeeAccount.objects.none()  # view_payeeaccount / add_payeeaccount

    @extend_schema(responses={200: PayeeAccountSerializer})
    def get(self, request, elder_id: int):
        elder = access_elder_by_id(request.user, elder_id)
        account = PayeeAccount.objects.for_user(request.user).filter(elder=elder, is_active=True).first()
        if account is None:
            raise Http404(_("The elder has no payee account."))
        return Response(PayeeAccountSerializer(account).data)

    @extend_schema(request=PayeeAccountRequest, responses={201: PayeeAccountSerializer})
    def post(self, request, elder_id: int):
        elder = access_elder_by_id(request.user, elder_id)
        data = _valid(PayeeAccountRequest, request.data)
        account = payees.set_payee_account(elder, acting_user=request.user, **data)
        return Response(PayeeAccountSerializer(account).data, status=status.HTTP_201_CREATED)


class SurvivalCertificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = SurvivalCertification
        fields = ["id", "elder", "certified_on", "method", "recorded_by", "source_reference", "created_at"]
        read_only_fields = fields


class SurvivalCertificationRequest(serializers.Serializer):
    certified_on = serializers.DateField()
    method = serializers.ChoiceField(choices=SurvivalCertification.Method.choices)
    source_reference = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)


class SurvivalCertificationView(APIView):
    """An elder's survival certifications (生存认证), newest first; ``POST`` records one."""

    permission_classes = [IsAuthenticated, RolePermissions]
    queryset = SurvivalCertification.objects.none()  # view_survivalcertification / add_survivalcertification

    @extend_schema(responses={200: SurvivalCertificationSerializer(many=True)})
    def get(self, request, elder_id: int):
        elder = access_elder_by_id(request.user, elder_id)
        rows = SurvivalCertification.objects.for_user(request.user).filter(elder=elder)
        return Response(SurvivalCertificationSerializer(rows, many=True).data)

    @extend_schema(request=SurvivalCertificationRequest, responses={201: SurvivalCertificationSerializer})
    def post(self, request, elder_id: int):
        elder = access_elder_by_id(request.user, elder_id)
        data = _valid(SurvivalCertificationRequest, request.data)
        certification = survival.record_survival_certification(elder, acting_user=request.user, **data)
        return Response(SurvivalCertificationSerializer(certification).data, status=status.HTTP_201_CREATED)


class BankReturnsRequest(serializers.Serializer):
    file = serializers.FileField()


class BankReturnsView(APIView):
    """Upload the bank's returns (CSV/XLSX: 行号, 结果 成功/失败, 原因, optional 金额(元)); all rows or none."""

    permission_classes = [IsAuthenticated]  # the service checks benefits.approve_payroll and the lines' scope
    parser_classes = [MultiPartParser]

    @extend_schema(request=BankReturnsRequest, responses={200: serializers.DictField(child=serializers.IntegerField())})
    def post(self, request):
        data = _valid(BankReturnsRequest, request.data)
        return Response(bankfile.import_bank_returns(data["file"], acting_user=request.user))




def _figures():
    return inline_serializer("PayrollFigures", {"count": serializers.IntegerField(), "total_fen": serializers.IntegerField()})


SummarySerializer = inline_serializer("PayrollSummary", {
    "count": serializers.IntegerField(),
    "total_fen": serializers.IntegerField(),
    "by_tier": serializers.DictField(child=_figures()),
    "by_area": serializers.DictField(child=_figures(), help_text="one level below the caller's scope"),
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


# --- applications: /api/v1/benefits/applications/ -------------------------------------------


class DocumentSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.StringRelatedField()

    class Meta:
        model = ApplicationDocument
        fields = ["id", "kind", "content_type", "size", "uploaded_by", "uploaded_at"]


class ReviewHistorySerializer(serializers.ModelSerializer):
    actor = serializers.StringRelatedField()

    class Meta:
        model = ApplicationReview
        fields = ["actor", "level", "action", "from_status", "to_status", "reason", "at"]


class ApplicationSerializer(serializers.ModelSerializer):
    programme = serializers.CharField(source="programme.code")
    elder_name = serializers.CharField(source="elder.name")
    area_code = serializers.CharField(source="elder.area_id")
    submitted_by = serializers.StringRelatedField()
    requested_start_month = serializers.DateField(format="%Y-%m")
    payment_start_month = serializers.SerializerMethodField()
    documents = DocumentSerializer(many=True)
    reviews = ReviewHistorySerializer(many=True)

    class Meta:
        model = Application
        fields = ["id", "programme", "elder", "elder_name", "area_code", "submitted_by", "channel", "status",
                  "requested_start_month", "submitted_at", "decided_at", "approved_on", "publicity_ends",
                  "payment_start_month", "return_reason", "reject_reason", "documents", "reviews"]
        read_only_fields = fields

    def get_payment_start_month(self, obj) -> str | None:
        entitlement = getattr(obj, "entitlement", None) if obj.status == Application.Status.APPROVED else None
        return f"{entitlement.start_month:%Y-%m}" if entitlement else None


class ApplyRequest(serializers.Serializer):
    elder = serializers.IntegerField()
    programme = serializers.CharField(help_text="programme code")
    requested_start_month = serializers.CharField(help_text="YYYY-MM")


class DocumentRequest(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    file = serializers.FileField()


class DecisionRequest(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[(a.value, a.label) for a in (Action.APPROVE, Action.RETURN, Action.REJECT)])
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class WithdrawRequest(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


def _valid(serializer_class, data) -> dict:
    form = serializer_class(data=data)
    form.is_valid(raise_exception=True)
    return form.validated_data


class ApplicationFilter(django_filters.FilterSet):
    """Plain values, not choice lists: a model choice filter would list every elder in the browsable API."""

    programme = django_filters.CharFilter(field_name="programme__code")
    elder = django_filters.NumberFilter(field_name="elder_id")

    class Meta:
        model = Application
        fields = ["status", "programme", "elder"]


class ApplicationViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Benefit applications in the caller's jurisdiction (a portal account: its linked elders).

    ``POST`` (multipart) files one: ``elder``, ``programme``, ``requested_start_month`` (YYYY-MM) and one
    file per document, the field named by its kind (``id_card``, ``hukou_book``, …). Errors name the field.
    """

    base_queryset = Application.objects.select_related("programme", "elder", "submitted_by", "entitlement").prefetch_related(
        "documents__uploaded_by", "reviews__actor")
    serializer_class = ApplicationSerializer
    filterset_class = ApplicationFilter
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    lookup_value_regex = r"\d+"

    def _show(self, application, code=status.HTTP_200_OK):
        fresh = self.get_queryset().get(pk=application.pk)
        return Response(ApplicationSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    @extend_schema(request=ApplyRequest, responses={201: ApplicationSerializer})
    def create(self, request):
        data = _valid(ApplyRequest, request.data)
        try:
            month = rules.parse_month(data["requested_start_month"])
        except rules.RuleError as exc:
            raise ValidationError({"requested_start_month": [str(exc)]}) from exc
        unknown = sorted(name for name in request.FILES if name not in DocumentKind.values)
        if unknown:
            raise ValidationError({name: [_("Unknown document kind “%(kind)s”.") % {"kind": name}] for name in unknown})
        documents = [(kind, upload) for kind in request.FILES for upload in request.FILES.getlist(kind)]
        application = applications.submit_application(
            acting_user=request.user, elder_id=data["elder"], programme_code=data["programme"],
            requested_start_month=month, documents=documents)
        return self._show(application, status.HTTP_201_CREATED)

    @extend_schema(request=DocumentRequest, responses={201: DocumentSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def documents(self, request, pk=None):
        """Attach a document (multipart ``kind`` and ``file``) to an open application."""
        data = _valid(DocumentRequest, request.data)
        document = applications.add_document(self.get_object(), acting_user=request.user, kind=data["kind"],
                                             file=data["file"])
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DecisionRequest, responses={200: ApplicationSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def review(self, request, pk=None):
        """Approve, return or reject at your level (village → township → county); a reason for return or reject."""
        data = _valid(DecisionRequest, request.data)
        return self._show(applications.review(self.get_object(), decision=data["decision"], reason=data["reason"],
                                              acting_user=request.user))

    @extend_schema(request=None, responses={200: ApplicationSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def resubmit(self, request, pk=None):
        """Send a returned application back to the village stage."""
        return self._show(applications.resubmit(self.get_object(), acting_user=request.user))

    @extend_schema(request=WithdrawRequest, responses={200: ApplicationSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def withdraw(self, request, pk=None):
        data = _valid(WithdrawRequest, request.data)
        return self._show(applications.withdraw(self.get_object(), acting_user=request.user, reason=data["reason"]))
