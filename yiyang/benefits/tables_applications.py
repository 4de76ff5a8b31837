"""The application list table: the elder's ID number only masked, the status as a badge."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .applications_rules import Status
from .models import Application

NO_BOOST = {"a": {"hx-boost": "false"}}  # links that leave the list load a whole page

STATUS_BADGES = {
    Status.SUBMITTED: "text-bg-warning", Status.VILLAGE_APPROVED: "text-bg-info",
    Status.TOWNSHIP_APPROVED: "text-bg-primary", Status.APPROVED: "text-bg-success",
    Status.RETURNED: "text-bg-danger", Status.REJECTED: "text-bg-dark", Status.WITHDRAWN: "text-bg-secondary",
}


def status_badge(application: Application):
    return format_html('<span class="badge {}" data-status="{}">{}</span>',
                       STATUS_BADGES.get(application.status, "text-bg-light"), application.status,
                       application.get_status_display())


class ApplicationTable(tables.Table):
    id = tables.Column(verbose_name="#", linkify=("benefits:application_detail", [tables.A("pk")]), attrs=NO_BOOST)
    elder = tables.Column(verbose_name=_("elder"), accessor="elder__name", order_by=("elder__name", "id"))
    id_number = tables.Column(verbose_name=_("ID number"), accessor="elder__id_number_masked", orderable=False,
                              attrs={"td": {"class": "yy-mono"}})
    village = tables.Column(verbose_name=_("Village"), accessor="elder__area__name", order_by=("elder__area_id", "id"))
    programme = tables.Column(verbose_name=_("programme"), accessor="programme__name", order_by=("programme__name", "id"))
    status = tables.Column()
    requested_start_month = tables.DateColumn(format="Y-m")
    submitted_at = tables.DateTimeColumn(format="Y-m-d")
    detail = tables.LinkColumn("benefits:application_detail", args=[tables.A("pk")], text=_("Details"),
                               verbose_name="", orderable=False, accessor="pk", attrs=NO_BOOST)

    class Meta:
        model = Application
        fields = ["id", "elder", "id_number", "village", "programme", "status", "requested_start_month",
                  "submitted_at", "detail"]
        attrs = {"class": "table table-sm table-hover table-striped align-middle", "id": "application-table"}
        empty_text = _("No applications match these filters.")

    def render_village(self, value, record):
        return format_html('<span title="{}">{}</span>', record.elder.area_id, value)

    def render_status(self, record):
        return status_badge(record)
