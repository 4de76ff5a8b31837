"""The call list: who called (masked), about whom, how long, what came of it."""

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .hotline import mask_number
from .models import CallRecord

NO_BOOST = {"a": {"hx-boost": "false"}}


def duration_text(seconds: int | None) -> str:
    """1:05, or 1:02:05 for an hour or more; "" while the call is open."""
    if seconds is None:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class CallTable(tables.Table):
    started_at = tables.DateTimeColumn(format="Y-m-d H:i")
    agent = tables.Column(accessor="agent__username", verbose_name=_("agent"))
    direction = tables.Column()
    caller = tables.Column(verbose_name=_("caller"), accessor="caller_number", orderable=False,
                           attrs={"td": {"class": "yy-mono"}})
    elder = tables.Column(linkify=("people:detail", [tables.A("elder_id")]), attrs=NO_BOOST)
    area_code = tables.Column(attrs={"td": {"class": "yy-mono"}})
    duration = tables.Column(verbose_name=_("duration"), accessor="pk", orderable=False, empty_values=(),
                             attrs={"td": {"class": "yy-mono text-end"}})
    outcome = tables.Column()
    summary = tables.Column(orderable=False)
    order = tables.Column(accessor="order_id", verbose_name=_("order"))
    console = tables.LinkColumn("homecare:hotline_call", args=[tables.A("pk")], text=_("Open in the console"),
                                verbose_name="", orderable=False, accessor="pk", attrs=NO_BOOST)

    class Meta:
        model = CallRecord
        fields = ["started_at", "agent", "direction", "caller", "elder", "area_code", "duration", "outcome",
                  "summary", "order", "console"]
        attrs = {"class": "table table-sm table-hover table-striped align-middle", "id": "call-table"}
        empty_text = _("No calls match these filters.")

    def render_caller(self, value):
        return mask_number(value)

    def render_duration(self, record):
        if record.ended_at is None:
            return format_html('<span class="badge text-bg-warning">{}</span>', _("call in progress"))
        return duration_text(record.duration_seconds)

    def render_summary(self, value):
        return value if len(value) <= 80 else value[:79] + "…"

    def render_order(self, value):
        return f"#{value}"
