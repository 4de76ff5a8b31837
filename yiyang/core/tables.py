"""The audit log as a table, for the audit page and an elder's history."""

import django_tables2 as tables
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import AuditEntry

LINKED = {"people.elder": "people:detail"}  # object types with a page of their own


def describe_changes(model, before, after) -> str:
    """One line per field, by its verbose name: ``old → new`` for a change, the value for a creation."""
    before, after = before or {}, after or {}
    lines = []
    for key in dict.fromkeys([*before, *after]):
        if key in before and key in after:
            value = f"{before[key]} → {after[key]}"
        else:
            value = after.get(key, before.get(key))
            if value in (None, ""):
                continue
        lines.append(f"{_field_label(model, key)}: {value}")
    return "\n".join(lines)


def _model(label: str):
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def _field_label(model, name: str) -> str:
    """The field's verbose name; keys that are not fields (counts, relations) read as written."""
    try:
        field = model._meta.get_field(name) if model else None
    except FieldDoesNotExist:
        return name
    return str(getattr(field, "verbose_name", name)) if field else name


class AuditTable(tables.Table):
    created_at = tables.DateTimeColumn(format="Y-m-d H:i:s")
    object_type = tables.Column()
    object_label = tables.Column()
    changes = tables.Column(verbose_name=_("Changes"), accessor="pk", orderable=False, empty_values=(),
                            attrs={"td": {"class": "yy-changes"}})

    class Meta:
        model = AuditEntry
        fields = ["created_at", "actor_name", "action", "object_type", "object_label", "area_code", "changes",
                  "note", "client_address"]
        attrs = {"class": "table table-sm table-hover align-top", "id": "audit-table"}
        empty_text = _("No audit entries.")

    def render_object_type(self, value):
        model = _model(value)
        return model._meta.verbose_name if model else value

    def render_object_label(self, value, record):
        if record.object_type in LINKED and record.object_id:
            url = reverse(LINKED[record.object_type], args=[record.object_id])
            return format_html('<a href="{}" hx-boost="false">{}</a>', url, value)
        return value

    def render_changes(self, record):
        return describe_changes(_model(record.object_type), record.before, record.after)
