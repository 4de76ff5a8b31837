"""Filters for the assessment list (elder by id: a choice list would name elders of every county)."""

import django_filters as filters
from django.utils.translation import gettext_lazy as _

from .models import Assessment, Reason
from .rules import Status


class AssessmentFilter(filters.FilterSet):
    elder = filters.NumberFilter(label=_("elder id"), field_name="elder_id")
    status = filters.ChoiceFilter(label=_("status"), choices=Status.choices)
    reason = filters.ChoiceFilter(label=_("reason"), choices=Reason.choices)
    instrument = filters.CharFilter(label=_("instrument"))

    class Meta:
        model = Assessment
        fields = ["elder", "status", "reason", "instrument"]
