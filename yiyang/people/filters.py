"""One FilterSet for the elder list, used by the pages, the API and exports."""

import datetime as dt

import django_filters as filters
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from yiyang.core import crypto
from yiyang.core.scoping import area_prefix_q

from . import idnumber, rules
from .models import Elder, ElderStatus, HardshipCategory, HardshipStatus, Sex

AGE_BANDS = [
    ("60-69", _("60–69")),
    ("70-79", _("70–79")),
    ("80-89", _("80–89")),
    ("90-99", _("90–99")),
    ("100-", _("100 and over")),
]


def birth_range_for_age(low: int, high: int | None, today: dt.date) -> Q:
    """Elders whose completed age today lies in [low, high]."""
    def years_ago(n):
        try:
            return today.replace(year=today.year - n)
        except ValueError:  # 29 February
            return today.replace(year=today.year - n, day=28)
    q = Q(birth_date__lte=years_ago(low))
    if high is not None:
        q &= Q(birth_date__gt=years_ago(high + 1))
    return q


class ElderFilter(filters.FilterSet):
    area = filters.CharFilter(label=_("area code"), method="filter_area")
    status = filters.ChoiceFilter(label=_("status"), choices=ElderStatus.choices)
    sex = filters.ChoiceFilter(label=_("sex"), choices=Sex.choices)
    age_band = filters.ChoiceFilter(label=_("age"), choices=AGE_BANDS, method="filter_age_band")
    hardship = filters.ChoiceFilter(label=_("hardship category"), choices=HardshipCategory.choices, method="filter_hardship")
    q = filters.CharFilter(label=_("search"), method="filter_search",
                           help_text=_("Name, the last four ID digits, or a phone number."))

    class Meta:
        model = Elder
        fields = ["area", "status", "sex", "age_band", "hardship", "q"]

    def filter_area(self, queryset, name, value):
        value = value.strip()
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(area_prefix_q("area", value))

    def filter_age_band(self, queryset, name, value):
        low, _sep, high = value.partition("-")
        return queryset.filter(birth_range_for_age(int(low), int(high) if high else None, dt.date.today()))

    def filter_hardship(self, queryset, name, value):
        if value == HardshipCategory.ADVANCED_AGE:
            return queryset.filter(birth_range_for_age(rules.ADVANCED_AGE, None, dt.date.today()))
        open_status = HardshipStatus.objects.filter(
            elder=OuterRef("pk"), category=value, end_date__isnull=True
        )
        return queryset.filter(Exists(open_status))

    def filter_search(self, queryset, name, value):
        """Exact matches through blind indexes; names by prefix. No plaintext is ever searched."""
        text = idnumber.normalize(value)
        if not text:
            return queryset
        if len(text) == 4 and (text[:3].isdigit() and (text[3].isdigit() or text[3] == "X")):
            return queryset.filter(id_last4_index=crypto.blind_index(text, "id4"))
        if len(text) in (15, 18) and text[:15].isdigit():
            try:
                number = idnumber.parse(text).number
            except ValueError:
                return queryset.none()
            return queryset.filter(id_index=crypto.blind_index(number, "id"))
        try:
            phone = rules.normalize_phone(text)
        except ValueError:
            phone = ""
        if phone:
            return queryset.filter(phone_index=crypto.blind_index(phone, "phone"))
        return queryset.filter(name__startswith=value.strip())
