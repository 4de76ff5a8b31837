"""Payroll tables; amounts are integer fen, shown in yuan with two decimals."""

from __future__ import annotations

from decimal import Decimal

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import PaymentLine, PayrollRun

NO_BOOST = {"a": {"hx-boost": "false"}}  # links that leave the list load a whole page


def yuan(fen: int | None) -> str:
    """12345 fen → "123.45" (thousands separated, exact: no float)."""
    return f"{Decimal(fen or 0) / 100:,.2f}"


class PaymentLineTable(tables.Table):
    elder = tables.Column(verbose_name=_("elder"), accessor="elder__name", order_by=("elder__name", "elder_id"),
                          linkify=("people:detail", [tables.A("elder_id")]), attrs=NO_BOOST)
    village = tables.Column(verbose_name=_("village"), accessor="area_code", order_by=("area_code", "elder_id"))
    tier = tables.Column(verbose_name=_("tier"), order_by=("tier", "elder_id"))
    kind = tables.Column(verbose_name=_("kind"))
    amount = tables.Column(verbose_name=_("Amount (yuan)"), accessor="amount_fen", order_by=("amount_fen", "elder_id"),
                           attrs={"td": {"class": "text-end yy-mono"}, "th": {"class": "text-end"}})

    class Meta:
        model = PaymentLine
        fields = ["elder", "village", "tier", "kind", "amount"]
        attrs = {"class": "table table-sm table-hover table-striped align-middle", "id": "line-table"}
        empty_text = _("No payment lines match these filters.")

    def __init__(self, *args, area_names: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.area_names = area_names

    def render_village(self, value):
        return format_html('<span title="{}">{}</span>', value, self.area_names.get(value, value))

    def render_amount(self, value):
        return yuan(value)


class RunTable(tables.Table):
    """A programme's runs; the figures are the part inside the user's jurisdiction."""

    month = tables.Column(verbose_name=_("month"), order_by=("month", "area_code"))
    area = tables.Column(verbose_name=_("area"), accessor="area_code")
    status = tables.Column(verbose_name=_("status"))
    lines = tables.Column(verbose_name=_("Elders paid (my jurisdiction)"), accessor="my_lines", default=0,
                          attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}})
    total = tables.Column(verbose_name=_("Total in yuan (my jurisdiction)"), accessor="my_total_fen", default="0.00",
                          attrs={"td": {"class": "text-end yy-mono"}, "th": {"class": "text-end"}})
    computed_at = tables.DateTimeColumn(verbose_name=_("computed at"), format="Y-m-d H:i")
    computed_by = tables.Column(verbose_name=_("Computed by"), orderable=False)

    class Meta:
        model = PayrollRun
        fields = ["month", "area", "status", "lines", "total", "computed_at", "computed_by"]
        attrs = {"class": "table table-sm table-hover table-striped align-middle", "id": "run-table"}
        empty_text = _("No payroll has been run for this programme in your jurisdiction.")

    def __init__(self, *args, programme, area_names: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.programme, self.area_names = programme, area_names

    def render_month(self, value):
        text = f"{value:%Y-%m}"
        return format_html('<a href="{}">{}</a>', reverse("benefits:month", args=[self.programme.code, text]), text)

    def render_area(self, value):
        return format_html('<span title="{}">{}</span>', value, self.area_names.get(value, value))

    def render_status(self, value, record):
        css = "text-bg-success" if record.status == PayrollRun.Status.RELEASED else "text-bg-warning"
        return format_html('<span class="badge {}">{}</span>', css, value)

    def render_total(self, value):
        return yuan(value)
