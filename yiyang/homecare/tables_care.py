"""Read-only tables of the care pages: an elder's plans, settlements, a statement's lines (amounts in yuan)."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .forms_care import WEEKDAY_CHOICES
from .models import ServicePlan, Settlement, SettlementLine
from .settlement import yuan

AMOUNT = {"td": {"class": "text-end yy-mono"}, "th": {"class": "text-end"}}
TABLE = "table table-sm table-hover table-striped align-middle"
STATUS_BADGE = {Settlement.Status.ISSUED: "text-bg-info", Settlement.Status.DISPUTED: "text-bg-warning",
                Settlement.Status.ACCEPTED: "text-bg-success"}
WEEKDAY_NAMES = dict(WEEKDAY_CHOICES)


def settlement_badge(settlement: Settlement):
    return format_html('<span class="badge {}">{}</span>', STATUS_BADGE.get(settlement.status, ""),
                       settlement.get_status_display())


class PlanTable(tables.Table):
    service = tables.Column(verbose_name=_("service"), accessor="service_type__name", orderable=False)
    provider = tables.Column(verbose_name=_("provider"), accessor="provider__name", orderable=False)
    weekdays = tables.Column(verbose_name=_("weekdays"), orderable=False)
    window = tables.Column(verbose_name=_("time"), accessor="window_start", orderable=False)
    first_day = tables.DateColumn(format="Y-m-d", orderable=False)
    last_day = tables.DateColumn(format="Y-m-d", orderable=False, default="—")
    payer = tables.Column(orderable=False)
    bed = tables.Column(verbose_name=_("family care bed"), accessor="bed__contract_no", default="—", orderable=False)
    is_active = tables.BooleanColumn(verbose_name=_("active"), orderable=False)

    class Meta:
        model = ServicePlan
        fields = ["service", "provider", "weekdays", "window", "first_day", "last_day", "payer", "bed", "is_active"]
        attrs = {"class": TABLE, "id": "plan-table"}
        row_attrs = {"data-testid": lambda record: f"plan-{record.pk}"}
        empty_text = _("No recurring service planned for this elder.")

    def render_weekdays(self, value):
        return " ".join(str(WEEKDAY_NAMES.get(day, day)) for day in value)

    def render_window(self, value, record):
        return f"{value:%H:%M}–{record.window_end:%H:%M}"


class SettlementTable(tables.Table):
    month = tables.Column(verbose_name=_("month"))
    provider = tables.Column(verbose_name=_("provider"), accessor="provider__name", order_by=("provider__name",))
    status = tables.Column()
    order_count = tables.Column(attrs=AMOUNT)
    payable = tables.Column(verbose_name=_("payable (yuan)"), accessor="pk", orderable=False, attrs=AMOUNT)
    deduction_fen = tables.Column(verbose_name=_("deductions (yuan)"), attrs=AMOUNT)

    class Meta:
        model = Settlement
        fields = ["month", "provider", "status", "order_count", "payable", "deduction_fen"]
        attrs = {"class": TABLE, "id": "settlement-table"}
        empty_text = _("No statement has been issued in your jurisdiction.")

    def render_month(self, value, record):
        url = reverse("homecare:care_settlement", args=[record.pk])
        return format_html('<a href="{}">{}</a>', url, f"{value:%Y-%m}")

    def render_status(self, record):
        return settlement_badge(record)

    def render_payable(self, record):
        return yuan(record.self_pay_fen + record.voucher_fen + record.government_fen - record.deduction_fen)

    def render_deduction_fen(self, value):
        return yuan(value)


class LineTable(tables.Table):
    order = tables.Column(verbose_name=_("order"), accessor="order_id")
    day = tables.Column(verbose_name=_("visit"), accessor="order__checked_out_at", order_by=("order__checked_out_at",))
    elder = tables.Column(verbose_name=_("elder"), accessor="order__elder__name")
    service = tables.Column(verbose_name=_("service"), accessor="order__service_type__name")
    worker = tables.Column(verbose_name=_("worker"), accessor="order__worker__name", default="—")
    payer = tables.Column()
    amount_fen = tables.Column(verbose_name=_("amount (yuan)"), attrs=AMOUNT)
    deduction_fen = tables.Column(verbose_name=_("deduction (yuan)"), attrs=AMOUNT)
    deduction_reason = tables.Column(default="")

    class Meta:
        model = SettlementLine
        fields = ["order", "day", "elder", "service", "worker", "payer", "amount_fen", "deduction_fen",
                  "deduction_reason"]
        attrs = {"class": TABLE, "id": "line-table"}
        row_attrs = {"data-testid": lambda record: f"line-{record.order_id}",
                     "class": lambda record: "table-warning" if record.deduction_fen else ""}
        empty_text = _("This statement has no lines: nothing was ready to be paid.")

    def render_day(self, value):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"

    def render_amount_fen(self, value):
        return yuan(value)

    def render_deduction_fen(self, value):
        return yuan(value)
