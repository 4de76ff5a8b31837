"""Tables of the payment pages: one elder's payment history, and the lines the bank did not pay."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import BankStatus, PaymentLine
from .tables import yuan

STATUS_BADGE = {
    BankStatus.PAID: "text-bg-success", BankStatus.SENT: "text-bg-info", BankStatus.PENDING: "text-bg-light",
    BankStatus.RETURNED: "text-bg-danger", BankStatus.HELD: "text-bg-warning",
}
AMOUNT = {"td": {"class": "text-end yy-mono"}, "th": {"class": "text-end"}}
TABLE = "table table-sm table-hover table-striped align-middle"


def _status(value, record):
    return format_html('<span class="badge {}">{}</span>', STATUS_BADGE.get(record.bank_status, ""), value)


class ElderPaymentTable(tables.Table):
    """Every payment line of one elder that the user may see, newest month first."""

    month = tables.Column(verbose_name=_("month paid for"), order_by=("month", "id"))
    programme = tables.Column(verbose_name=_("programme"), accessor="programme__name")
    kind = tables.Column(verbose_name=_("kind"))
    tier = tables.Column(verbose_name=_("tier"))
    amount = tables.Column(verbose_name=_("Amount (yuan)"), accessor="amount_fen", attrs=AMOUNT)
    bank_status = tables.Column(verbose_name=_("bank status"))
    bank_note = tables.Column(verbose_name=_("bank note"), default="")

    class Meta:
        model = PaymentLine
        fields = ["month", "programme", "kind", "tier", "amount", "bank_status", "bank_note"]
        attrs = {"class": TABLE, "id": "payment-table"}
        order_by = ("-month",)
        empty_text = _("No payment has been computed for this elder in your jurisdiction.")

    def render_month(self, value):
        return f"{value:%Y-%m}"

    def render_amount(self, value):
        return yuan(value)

    def render_bank_status(self, value, record):
        return _status(value, record)


class UnpaidLineTable(tables.Table):
    """Returned and held lines: each links to the elder's payments page, where the account is fixed."""

    elder = tables.Column(verbose_name=_("elder"), accessor="elder__name", order_by=("elder__name", "elder_id"))
    village = tables.Column(verbose_name=_("village"), accessor="area_code", order_by=("area_code", "elder_id"))
    programme = tables.Column(verbose_name=_("programme"), accessor="programme__name")
    month = tables.Column(verbose_name=_("month paid for"), order_by=("month", "id"))
    amount = tables.Column(verbose_name=_("Amount (yuan)"), accessor="amount_fen", attrs=AMOUNT)
    bank_status = tables.Column(verbose_name=_("bank status"))
    bank_note = tables.Column(verbose_name=_("bank note"), default="")

    class Meta:
        model = PaymentLine
        fields = ["elder", "village", "programme", "month", "amount", "bank_status", "bank_note"]
        attrs = {"class": TABLE, "id": "unpaid-table"}
        empty_text = _("No returned or held payment in your jurisdiction.")

    def __init__(self, *args, area_names: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.area_names = area_names

    def render_elder(self, value, record):
        url = reverse("benefits:elder_benefits", args=[record.elder_id])
        return format_html('<a href="{}" data-testid="fix-{}">{}</a>', url, record.pk, value)

    def render_village(self, value):
        return format_html('<span title="{}">{}</span>', value, self.area_names.get(value, value))

    def render_month(self, value):
        return f"{value:%Y-%m}"

    def render_amount(self, value):
        return yuan(value)

    def render_bank_status(self, value, record):
        return _status(value, record)
