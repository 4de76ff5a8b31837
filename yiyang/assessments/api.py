"""Assessment API: ``POST /api/v1/assessments/score`` (score without saving) and the workflow
under ``/api/v1/assessments/``, scoped through ``for_user``, writing through the services."""

from dataclasses import asdict

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from yiyang.api.scoping import ScopedViewSetMixin
from yiyang.people.models import Contact
from yiyang.people.services import access_elder_by_id

from . import rules, services
from .filters import AssessmentFilter
from .instruments import GB_T_42195_2022, INSTRUMENTS
from .models import (
    EVENT_REASONS,
    Assessment,
    Assessor,
    Assignment,
    Reason,
    RequesterKind,
    Signature,
    SignerRole,
)
from .rules import Action


class ScoreRequest(serializers.Serializer):
    instrument = serializers.ChoiceField(choices=sorted(INSTRUMENTS), default=GB_T_42195_2022.code)
    items = serializers.DictField(child=serializers.JSONField(), allow_empty=False)
    coma = serializers.BooleanField(default=False)
    dementia = serializers.BooleanField(default=False)
    risk_events_30d = serializers.IntegerField(min_value=0, default=0)


ScoreResponse = inline_serializer("ScoreResponse", {
    "total": serializers.IntegerField(allow_null=True, help_text="null for MZ/T 039-2013 (graded by a matrix)"),
    "dimensions": serializers.DictField(child=serializers.IntegerField()),
    "preliminary_grade": serializers.IntegerField(min_value=0, max_value=4),
    "grade": serializers.IntegerField(min_value=0, max_value=4),
    "grade_name": serializers.CharField(),
    "reasons": serializers.ListField(child=serializers.CharField()),
})


class ScoreView(APIView):
    """Score a GB/T 42195-2022 form (all 26 items keyed B.1.1 … B.4.5); nothing is saved.

    A historic MZ/T 039-2013 form gives its four dimension grades (``adl``, ``mental``,
    ``perception``, ``social``, each 0–3); its total is null.

    Errors name the item: ``{"items": {"B.2.4": "out of range: ..."}}``.
    """

    @extend_schema(request=ScoreRequest, responses={200: ScoreResponse})
    def post(self, request):
        form = ScoreRequest(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            result = rules.score(data["items"], instrument=data["instrument"], coma=data["coma"],
                                 dementia=data["dementia"], risk_events_30d=data["risk_events_30d"])
        except rules.ScoringError as exc:
            return Response({"items": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
        return Response({
            "total": result.total, "dimensions": result.dimensions, "preliminary_grade": result.preliminary_grade,
            "grade": result.grade, "grade_name": INSTRUMENTS[data["instrument"]].grade_names[result.grade], "reasons": list(result.reasons),
        })


# --- the assessment workflow: /api/v1/assessments/ ----------------------------------------------


class AssignmentSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="assessor_id")
    name = serializers.CharField(source="assessor.__str__")

    class Meta:
        model = Assignment
        fields = ["id", "name", "assigned_at"]


class SignatureSerializer(serializers.ModelSerializer):
    signed_as = serializers.ChoiceField(source="role", choices=SignerRole.choices)

    class Meta:
        model = Signature
        fields = ["signed_as", "name", "signed_at"]


class AssessmentSerializer(serializers.ModelSerializer):
    elder_name = serializers.CharField(source="elder.name")
    area_code = serializers.CharField(source="elder.area_id")
    requested_by = serializers.StringRelatedField()
    reviewed_by = serializers.StringRelatedField()
    assessors = AssignmentSerializer(source="assignments", many=True)
    signatures = SignatureSerializer(many=True)
    grade_name = serializers.SerializerMethodField()

    class Meta:
        model = Assessment
        fields = ["id", "elder", "elder_name", "area_code", "instrument", "reason", "requester_kind", "requested_by",
                  "requested_at", "note", "status", "review_of", "assessors_required", "assessors", "signatures",
                  "submitted_at", "total", "dimension_scores", "preliminary_grade", "grade", "grade_name",
                  "reviewed_by", "reviewed_at", "return_reason", "cancel_reason", "valid_from", "valid_until",
                  "review_request_until"]
        read_only_fields = fields

    def get_grade_name(self, obj) -> str | None:
        return None if obj.grade is None else INSTRUMENTS[obj.instrument].grade_names[obj.grade]


_REQUESTABLE = [(r.value, r.label) for r in (Reason.FIRST, Reason.PERIODIC, *EVENT_REASONS)]
_ON_BEHALF = [(k.value, k.label) for k in (RequesterKind.ELDER, RequesterKind.FAMILY, RequesterKind.OFFICIAL,
                                           RequesterKind.INSTITUTION)]


class RequestSerializer(serializers.Serializer):
    elder = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=_REQUESTABLE, default=Reason.FIRST)
    on_behalf_of = serializers.ChoiceField(choices=_ON_BEHALF, required=False,
                                           help_text="officials: who asks; portal accounts are the elder or family")
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class AssignSerializer(serializers.Serializer):
    assessors = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)


class DraftSerializer(serializers.Serializer):
    """Any subset of the form; an item set to null is cleared."""

    items = serializers.DictField(child=serializers.JSONField(allow_null=True), required=False)
    coma = serializers.BooleanField(required=False, allow_null=True, default=None)
    dementia = serializers.BooleanField(required=False, allow_null=True, default=None)
    risk_events_30d = serializers.IntegerField(required=False, allow_null=True, min_value=0, default=None)


class FormSerializer(serializers.Serializer):
    items = serializers.DictField(child=serializers.IntegerField())
    coma = serializers.BooleanField()
    dementia = serializers.BooleanField()
    risk_events_30d = serializers.IntegerField()


class SignSerializer(serializers.Serializer):
    signed_as = serializers.ChoiceField(choices=SignerRole.choices)
    contact = serializers.IntegerField(required=False, help_text="the guardian's contact id, when a guardian signs")
    image = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, default="",
                                  help_text="optional data URL of the handwritten signature")


class ReviewSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[(a.value, a.label) for a in (Action.APPROVE, Action.RETURN)])
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, default="")


class ReviewRequestSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    on_behalf_of = serializers.ChoiceField(choices=_ON_BEHALF, required=False)


class AssessorSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="user.__str__")
    organization = serializers.CharField(source="organization.name")

    class Meta:
        model = Assessor
        fields = ["id", "name", "organization", "certificate_no", "valid_until"]


_RESULT_FIELDS = {
    "assessment_id": serializers.IntegerField(), "instrument": serializers.CharField(),
    "grade": serializers.IntegerField(), "grade_name": serializers.CharField(),
    "total": serializers.IntegerField(allow_null=True, help_text="null for MZ/T 039-2013"),
    "valid_from": serializers.DateField(), "valid_until": serializers.DateField(),
}
HistorySerializer = inline_serializer("AssessmentHistory", {
    "elder": serializers.IntegerField(),
    "current": inline_serializer("AssessmentResult", _RESULT_FIELDS, allow_null=True),
    "results": inline_serializer("AssessmentHistoryEntry", {
        **_RESULT_FIELDS, "reason": serializers.CharField(),
        "grade_change": serializers.IntegerField(allow_null=True, help_text="positive is worse")}, many=True),
})
DueSerializer = inline_serializer("DueReassessment", {
    "elder_id": serializers.IntegerField(), "elder_name": serializers.CharField(), "area_code": serializers.CharField(),
    "assessment_id": serializers.IntegerField(), "grade": serializers.IntegerField(),
    "valid_until": serializers.DateField(), "days_left": serializers.IntegerField(),
}, many=True)


class DueQuerySerializer(serializers.Serializer):
    on = serializers.DateField(required=False)
    within_days = serializers.IntegerField(required=False, min_value=0)


def _valid(serializer_class, data) -> dict:
    form = serializer_class(data=data)
    form.is_valid(raise_exception=True)
    return form.validated_data


class AssessmentViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    """Ability assessments in the caller's jurisdiction (an assessor: those assigned to them).

    Each step is an action; the services check the caller's permission for it.
    Answers are never in these representations: ``GET form/`` reveals them (audited).
    Item errors name the item: ``{"items": {"B.4.5": "missing"}}``.
    """

    base_queryset = Assessment.objects.select_related("elder", "requested_by", "reviewed_by").prefetch_related(
        "assignments__assessor__user", "signatures")
    serializer_class = AssessmentSerializer
    filterset_class = AssessmentFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return super().get_queryset().order_by("-requested_at", "-id")

    def handle_exception(self, exc):
        if isinstance(exc, rules.ScoringError):
            return Response({"items": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
        return super().handle_exception(exc)

    def _show(self, assessment, code=status.HTTP_200_OK):
        fresh = self.get_queryset().filter(pk=assessment.pk).first() or assessment
        return Response(AssessmentSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    @extend_schema(request=RequestSerializer, responses={201: AssessmentSerializer})
    def create(self, request):
        """Ask for an assessment of an elder (GB/T 42195-2022)."""
        data = _valid(RequestSerializer, request.data)
        elder = access_elder_by_id(request.user, data["elder"])
        assessment = services.request_assessment(elder, acting_user=request.user, reason=data["reason"],
                                                 requester_kind=data.get("on_behalf_of"), note=data["note"])
        return self._show(assessment, status.HTTP_201_CREATED)

    @extend_schema(request=AssignSerializer, responses={200: AssessmentSerializer})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def assign(self, request, pk=None):
        """Assign the assessors (ids from ``candidates/``); calling again before recording replaces them."""
        assessment = self.get_object()
        ids = _valid(AssignSerializer, request.data)["assessors"]
        found = {a.pk: a for a in Assessor.objects.covering(assessment.elder.area_id).filter(pk__in=ids)}
        unknown = [i for i in dict.fromkeys(ids) if i not in found]
        if unknown:
            raise serializers.ValidationError({"assessors": [
                _("No assessor %(id)s works in the elder's area.") % {"id": i} for i in unknown]})
        assessment = services.assign_assessors(assessment, assessors=[found[i] for i in ids], acting_user=request.user)
        return self._show(assessment)

    @extend_schema(responses={200: AssessorSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def candidates(self, request, pk=None):
        """Assessors who could be assigned today: qualified, in the elder's area, without a conflict."""
        eligible = services.eligible_assessors(self.get_object(), user=request.user)
        return Response(AssessorSerializer(eligible, many=True).data)

    @extend_schema(responses={200: FormSerializer})
    @action(detail=True, methods=["get"])
    def form(self, request, pk=None):
        """The recorded answers, to resume a draft or to review (a reveal of health data: audited)."""
        return Response(services.reveal_form(self.get_object(), acting_user=request.user))

    @extend_schema(request=DraftSerializer, responses={200: AssessmentSerializer})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def save_draft(self, request, pk=None):
        """Save any part of the form; items given replace the stored ones."""
        data = _valid(DraftSerializer, request.data)
        assessment = services.save_draft(self.get_object(), acting_user=request.user, items=data.get("items"),
                                         coma=data["coma"], dementia=data["dementia"],
                                         risk_events_30d=data["risk_events_30d"])
        return self._show(assessment)

    @extend_schema(request=SignSerializer, responses={201: SignatureSerializer})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def sign(self, request, pk=None):
        """Sign the completed form: an assessor for themselves, or the elder or a guardian."""
        assessment = self.get_object()
        data = _valid(SignSerializer, request.data)
        contact = None
        if "contact" in data:
            contact = Contact.objects.for_user(request.user).filter(pk=data["contact"], elder=assessment.elder).first()
        signature = services.sign(assessment, acting_user=request.user, signed_as=data["signed_as"], contact=contact,
                                  image=data["image"])
        return Response(SignatureSerializer(signature).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: AssessmentSerializer})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def submit(self, request, pk=None):
        """Submit the complete, signed form for review."""
        return self._show(services.submit(self.get_object(), acting_user=request.user))

    @extend_schema(request=ReviewSerializer, responses={200: AssessmentSerializer})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def review(self, request, pk=None):
        """Approve the result or return it to the assessors with a reason."""
        data = _valid(ReviewSerializer, request.data)
        return self._show(services.review(self.get_object(), acting_user=request.user, decision=data["decision"],
                                          reason=data["reason"]))

    @extend_schema(request=ReviewRequestSerializer, responses={201: AssessmentSerializer})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def request_review(self, request, pk=None):
        """Ask for a re-assessment (复核) of this approved result; answers with the new assessment."""
        data = _valid(ReviewRequestSerializer, request.data)
        created = services.request_review(self.get_object(), acting_user=request.user, note=data["note"],
                                          requester_kind=data.get("on_behalf_of"))
        return self._show(created, status.HTTP_201_CREATED)

    @extend_schema(request=ReasonSerializer, responses={200: AssessmentSerializer})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def cancel(self, request, pk=None):
        """Withdraw an open assessment, with a reason."""
        data = _valid(ReasonSerializer, request.data)
        return self._show(services.cancel_assessment(self.get_object(), acting_user=request.user,
                                                     reason=data["reason"]))

    @extend_schema(request=ReasonSerializer, responses={204: None})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def declare_conflict(self, request, pk=None):
        """An assessor declares a conflict of interest with this elder; an official then reassigns."""
        data = _valid(ReasonSerializer, request.data)
        services.declare_conflict(self.get_object().elder, acting_user=request.user, reason=data["reason"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=[OpenApiParameter("elder", int, required=True)], responses={200: HistorySerializer})
    @action(detail=False, methods=["get"])
    def history(self, request):
        """An elder's approved results over time, and the one valid today."""
        elder_id = request.query_params.get("elder", "")
        if not elder_id.isdigit():
            raise serializers.ValidationError({"elder": [_("Give the elder's id, e.g. ?elder=12.")]})
        elder = access_elder_by_id(request.user, int(elder_id))
        visible = set(self.get_queryset().filter(elder=elder).values_list("pk", flat=True))
        current = services.current_result(elder)
        return Response({
            "elder": elder.pk,
            "current": asdict(current) if current and current.assessment_id in visible else None,
            "results": [asdict(entry) for entry in services.history(elder) if entry.assessment_id in visible],
        })

    @extend_schema(parameters=[OpenApiParameter("on", OpenApiTypes.DATE),
                               OpenApiParameter("within_days", int, description="default: each area's policy")],
                   responses={200: DueSerializer})
    @action(detail=False, methods=["get"])
    def due(self, request):
        """Elders whose result expires soon (or has expired) and who have no open assessment."""
        if not request.user.has_perm(services.PERM_REQUEST):
            raise PermissionDenied(_("You do not have permission to do this."))
        params = _valid(DueQuerySerializer, request.query_params)
        due = services.due_reassessments(params.get("on") or timezone.localdate(), params.get("within_days"),
                                         user=request.user)
        page = self.paginate_queryset(due)
        return self.get_paginated_response([asdict(entry) for entry in page])

