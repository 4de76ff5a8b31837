"""The elder list table (masked personal data only)."""

import datetime as dt

import django_tables2 as tables
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .idnumber import age_on
from .models import Elder

NO_BOOST = {"a": {"hx-boost": "false"}}  # links that leave the list load a whole page


class ElderTable(tables.Table):
    name = tables.Column(linkify=("people:detail", [tables.A("pk")]), attrs=NO_BOOST)
    id_number = tables.Column(verbose_name=_("ID number"), accessor="id_number_masked", orderable=False,
                              attrs={"td": {"class": "yy-mono"}})
    sex = tables.Column()
    age = tables.Column(verbose_name=_("Age"), accessor="birth_date", order_by=("-birth_date",))
    village = tables.Column(verbose_name=_("Village"), accessor="area__name", order_by=("area_id", "name"))
    status = tables.Column()
    hardships = tables.Column(verbose_name=_("Hardship"), accessor="pk", orderable=False, empty_values=())
    detail = tables.LinkColumn("people:detail", args=[tables.A("pk")], text=_("Details"), verbose_name="",
                               orderable=False, accessor="pk", attrs=NO_BOOST)

    class Meta:
        model = Elder
        fields = ["name", "id_number", "sex", "age", "village", "status", "hardships", "detail"]
        attrs = {"class": "table table-sm table-hover table-striped align-middle", "id": "elder-table"}
        empty_text = _("No elders match these filters.")

    def render_age(self, value):
        return age_on(value, dt.date.today())

    def render_village(self, value, record):
        return format_html('<span title="{}">{}</span>', record.area_id, value)

    def render_hardships(self, record):
        return format_html_join(" ", '<span class="badge text-bg-warning">{}</span>',
                                ((status.get_category_display(),) for status in record.open_hardships))
