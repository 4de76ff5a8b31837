"""List filters on pages, and the audit log filter."""

import django_filters as filters
from django.apps import apps
from django.utils.translation import gettext_lazy as _

from .forms import DateInput, FilterForm
from .models import AuditAction, AuditEntry


class PageFilterMixin:
    """For filters shown on a page: small controls, and "All" as the empty choice."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for each in self.filters.values():
            if isinstance(each, filters.ChoiceFilter):
                each.extra["empty_label"] = _("All")


def object_type_choices():
    """Every model placed in the jurisdiction tree, by its verbose name."""
    models = [m for m in apps.get_models() if getattr(m, "scope", None) is not None]
    return sorted(((m._meta.label_lower, m._meta.verbose_name) for m in models), key=lambda c: str(c[1]))


class AuditFilter(PageFilterMixin, filters.FilterSet):
    action = filters.ChoiceFilter(label=_("action"), choices=AuditAction.choices)
    object_type = filters.ChoiceFilter(label=_("object type"), choices=object_type_choices)
    actor = filters.CharFilter(label=_("actor"), field_name="actor_name", lookup_expr="istartswith")
    since = filters.DateFilter(label=_("from"), field_name="created_at", lookup_expr="date__gte", widget=DateInput())
    until = filters.DateFilter(label=_("until"), field_name="created_at", lookup_expr="date__lte", widget=DateInput())

    class Meta:
        model = AuditEntry
        fields = ["action", "object_type", "actor", "since", "until"]
        form = FilterForm
