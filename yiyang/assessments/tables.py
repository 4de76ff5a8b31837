"""The assessment list table (no answers, only the workflow and the result)."""

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .instruments import INSTRUMENTS
from .models import Assessment
from .rules import Status

NO_BOOST = {"a": {"hx-boost": "false"}}  # links that leave the list load a whole page

STATUS_BADGES = {
    Status.REQUESTED: "text-bg-light border", Status.ASSIGNED: "text-bg-info", Status.IN_PROGRESS: "text-bg-primary",
    Status.SUBMITTED: "text-bg-warning", Status.APPROVED: "text-bg-success", Status.RETURNED: "text-bg-danger",
    Status.CANCELLED: "text-bg-secondary",
}


def status_badge(assessment: Assessment):
    return format_html('<span class="badge {}">{}</span>', STATUS_BADGES.get(assessment.status, "text-bg-light"),
                       assessment.get_status_display())


class AssessmentTable(tables.Table):
    id = tables.Column(verbose_name="#", linkify=("assessments:detail", [tables.A("pk")]), attrs=NO_BOOST)
    elder = tables.Column(verbose_name=_("elder"), accessor="elder__name", order_by=("elder__name", "id"))
    village = tables.Column(verbose_name=_("Village"), accessor="elder__area__name", order_by=("elder__area_id", "id"))
    status = tables.Column()
    reason = tables.Column()
    requested_at = tables.DateTimeColumn(format="Y-m-d")
    assessors = tables.Column(verbose_name=_("assessors"), accessor="pk", orderable=False, empty_values=())
    grade = tables.Column(verbose_name=_("grade"), empty_values=(None,))
    valid_until = tables.DateColumn(format="Y-m-d")
    detail = tables.LinkColumn("assessments:detail", args=[tables.A("pk")], text=_("Details"), verbose_name="",
                               orderable=False, accessor="pk", attrs=NO_BOOST)

    class Meta:
        model = Assessment
        fields = ["id", "elder", "village", "status", "reason", "requested_at", "assessors", "grade", "valid_until",
                  "detail"]
        attrs = {"class": "table table-sm table-hover table-striped align-middle", "id": "assessment-table"}
        empty_text = _("No assessments match these filters.")

    def render_status(self, record):
        return status_badge(record)

    def render_assessors(self, record):
        return "、".join(str(a.assessor) for a in record.assignments.all()) or "—"

    def render_grade(self, value, record):
        name = INSTRUMENTS[record.instrument].grade_names[value]
        return f"{name}（{record.total}）" if record.total is not None else name
