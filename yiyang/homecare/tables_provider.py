"""The provider's worker list: skills with certificate expiry, today's shift and leave (phones masked)."""

from __future__ import annotations

import datetime as dt

import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from yiyang.core.masking import mask_phone

from .models import Worker

EXPIRING_DAYS = 30


def certificate_state(valid_until: dt.date | None, today: dt.date) -> str:
    """'expired', 'expiring' (within 30 days) or '' for a certificate's expiry date."""
    if valid_until is None:
        return ""
    if valid_until < today:
        return "expired"
    if valid_until <= today + dt.timedelta(days=EXPIRING_DAYS):
        return "expiring"
    return ""


CERTIFICATE_BADGES = {"expired": "text-bg-danger", "expiring": "text-bg-warning", "": "text-bg-light border"}
CERTIFICATE_NOTES = {"expired": _("expired"), "expiring": _("expires soon"), "": ""}


class WorkerTable(tables.Table):
    name = tables.Column(linkify=("homecare:provider_worker", [tables.A("pk")]))
    phone = tables.Column(verbose_name=_("phone"), orderable=False, attrs={"td": {"class": "yy-mono"}})
    skills = tables.Column(verbose_name=_("skills and certificates"), accessor="pk", orderable=False, empty_values=())
    shift = tables.Column(verbose_name=_("today's shift"), accessor="pk", orderable=False, empty_values=())
    leave = tables.Column(verbose_name=_("leave"), accessor="pk", orderable=False, empty_values=())
    login = tables.Column(verbose_name=_("phone pages"), accessor="user", orderable=False, empty_values=())
    is_active = tables.BooleanColumn(verbose_name=_("active"))

    class Meta:
        model = Worker
        fields = ["name", "phone", "skills", "shift", "leave", "login", "is_active"]
        attrs = {"class": "table table-sm table-hover align-middle", "id": "workers-table"}
        row_attrs = {"data-testid": lambda record: f"worker-{record.pk}"}
        empty_text = _("No workers yet: add the first below.")

    def __init__(self, *args, today: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()

    def render_phone(self, value):
        return mask_phone(value) if value else "—"

    def render_skills(self, record):
        rows = []
        for held in record.worker_skills.all():
            state = certificate_state(held.valid_until, self.today)
            until = f" {held.valid_until:%Y-%m-%d}" if held.valid_until else ""
            rows.append((CERTIFICATE_BADGES[state], state, held.skill.name, until,
                         f" · {CERTIFICATE_NOTES[state]}" if state else ""))
        return format_html_join(" ", '<span class="badge {}" data-certificate="{}">{}{}{}</span>', rows) or "—"

    def render_shift(self, record):
        shift = next((s for s in record.shifts.all() if s.day == self.today), None)
        if shift is None:
            return "—"
        return format_html("{}–{}", f"{shift.start:%H:%M}", f"{shift.end:%H:%M}")

    def render_leave(self, record):
        leave = next((leave for leave in record.leaves.all() if leave.last_day >= self.today), None)
        if leave is None:
            return "—"
        on_leave = leave.first_day <= self.today
        return format_html('<span class="badge {}">{} – {}</span>', "text-bg-warning" if on_leave else "text-bg-light border",
                           f"{leave.first_day:%m-%d}", f"{leave.last_day:%m-%d}")

    def render_login(self, value):
        return value.username if value else format_html('<span class="text-body-secondary">{}</span>', _("not linked"))
