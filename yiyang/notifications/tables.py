"""The notification list: to whom (masked), by which channel, about what, and how it went."""

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Notification, State

STATE_BADGE = {State.QUEUED: "secondary", State.SENDING: "info", State.SENT: "primary",
               State.DELIVERED: "success", State.FAILED: "danger"}


def state_badge(record) -> str:
    return format_html('<span class="badge text-bg-{}">{}</span>', STATE_BADGE.get(record.state, "secondary"),
                       record.get_state_display())


class NotificationTable(tables.Table):
    # A page of its own: not boosted into the results area (the list's sorting and paging links are).
    created_at = tables.DateTimeColumn(format="Y-m-d H:i:s", linkify=("notifications:detail", [tables.A("pk")]),
                                       attrs={"a": {"hx-boost": "false"}})
    channel = tables.Column()
    recipient_label = tables.Column()
    address_hint = tables.Column(attrs={"td": {"class": "yy-mono"}}, orderable=False)
    subject = tables.Column(attrs={"td": {"class": "yy-mono"}})
    text = tables.Column(orderable=False)
    state = tables.Column()
    attempts = tables.Column(attrs={"td": {"class": "text-end"}})
    error = tables.Column(orderable=False)
    result_at = tables.DateTimeColumn(format="Y-m-d H:i:s")

    class Meta:
        model = Notification
        fields = ["created_at", "channel", "recipient_label", "address_hint", "subject", "text", "state",
                  "attempts", "error", "result_at"]
        attrs = {"class": "table table-sm table-hover table-striped align-middle", "id": "notification-table"}
        empty_text = _("No notifications match these filters.")

    def render_state(self, record):
        return state_badge(record)

    def render_text(self, value):
        return value if len(value) <= 60 else value[:59] + "…"
