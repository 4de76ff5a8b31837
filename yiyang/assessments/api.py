"""``POST /api/v1/assessments/score``: score a form without saving it."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from . import rules
from .instruments import GB_T_42195_2022, GRADE_NAMES, INSTRUMENTS


class ScoreRequest(serializers.Serializer):
    instrument = serializers.ChoiceField(choices=sorted(INSTRUMENTS), default=GB_T_42195_2022.code)
    items = serializers.DictField(child=serializers.JSONField(), allow_empty=False)
    coma = serializers.BooleanField(default=False)
    dementia = serializers.BooleanField(default=False)
    risk_events_30d = serializers.IntegerField(min_value=0, default=0)


ScoreResponse = inline_serializer("ScoreResponse", {
    "total": serializers.IntegerField(),
    "dimensions": serializers.DictField(child=serializers.IntegerField()),
    "preliminary_grade": serializers.IntegerField(min_value=0, max_value=4),
    "grade": serializers.IntegerField(min_value=0, max_value=4),
    "grade_name": serializers.CharField(),
    "reasons": serializers.ListField(child=serializers.CharField()),
})


class ScoreView(APIView):
    """Score a GB/T 42195-2022 form (all 26 items keyed B.1.1 … B.4.5); nothing is saved.

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
            "grade": result.grade, "grade_name": GRADE_NAMES[result.grade], "reasons": list(result.reasons),
        })
