"""Monthly settlement (月度结算) of a provider: which verified visits are paid, by whom, minus what.

One call settles one provider's month in one transaction: checked-out visits
nobody disputed within ``YIYANG_AUTO_CONFIRM_DAYS`` are confirmed by the platform,
then every confirmed, unsettled order whose visit ended on or before the month's
last day becomes a line and moves to "settled". A flagged visit that nobody
cleared on review is deducted in full (``rules.deduction_for``). The unique
(provider, month) and the one-to-one line → order make a second settlement of
the month, or a second payment of an order, impossible even for two officials
pressing the button at once. Layout of the statement file: docs/settlement.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiyang.benefits.rules import last_day
from yiyang.core import audit
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditAction
from yiyang.organizations.models import Organization

from . import rules, services
from .models import ServiceOrder, Settlement, SettlementLine
from .rules import Payer, Status

DEFAULT_AUTO_CONFIRM_DAYS = 7
FORMATS = ("csv", "xlsx")
FLAG_TEXT = {rules.FAR_CHECK_IN: "签到位置远离老人住址", rules.SHORT_VISIT: "服务时长不足",
             rules.NO_LOCATION: "签到无定位"}
PAYER_TEXT = {Payer.SELF: "个人自付", Payer.VOUCHER: "服务券", Payer.GOVERNMENT: "政府购买"}
PAYER_FIELD = {Payer.SELF: "self_pay_fen", Payer.VOUCHER: "voucher_fen", Payer.GOVERNMENT: "government_fen"}
FLAG_LABELS = {rules.FAR_CHECK_IN: gettext_lazy("check-in far from the elder's home"),
               rules.SHORT_VISIT: gettext_lazy("visit much shorter than the service"),
               rules.NO_LOCATION: gettext_lazy("check-in without a location")}
STATUS_TEXT = {Settlement.Status.ISSUED: "已出具", Settlement.Status.DISPUTED: "服务商有异议",
               Settlement.Status.ACCEPTED: "已确认"}


def auto_confirm_days() -> int:
    return int(getattr(settings, "YIYANG_AUTO_CONFIRM_DAYS", DEFAULT_AUTO_CONFIRM_DAYS))


def month_end(month: dt.date) -> dt.datetime:
    """The first instant after the month (local time): visits before it belong to the month or earlier."""
    return timezone.make_aware(dt.datetime.combine(last_day(month) + dt.timedelta(days=1), dt.time.min))


def providers_for(user):
    """Home-care providers whose settlements the user may see (their area, or their own organisation)."""
    return Organization.objects.for_user(user).filter(provider_profile__isnull=False).order_by("area_id", "name")


def _require_settler(user, provider) -> Organization:
    if not user.has_perm("homecare.add_settlement"):
        raise PermissionDenied(_("You may not settle providers' months."))
    found = providers_for(user).filter(pk=getattr(provider, "pk", provider)).first()
    if found is None:
        raise PermissionDenied(_("No such provider in your jurisdiction."))
    return found


def deduction_reason(flags: list[str]) -> str:
    labels = ", ".join(str(FLAG_LABELS.get(flag, flag)) for flag in flags)
    return _("flagged for review and not cleared: %(flags)s") % {"flags": labels}


def deduction_text(flags: list[str]) -> str:
    """The statement file's fixed Chinese wording of a deduction."""
    return "未复核的异常：" + "、".join(FLAG_TEXT.get(flag, flag) for flag in flags)


# --- settling a month ---------------------------------------------------------------------------


def settle_month(provider, month: dt.date, *, acting_user, today: dt.date | None = None) -> Settlement:
    """Issue the provider's statement for ``month``; refuses the current or a future month and a second run."""
    provider = _require_settler(acting_user, provider)
    today = today or timezone.localdate()
    month = month.replace(day=1)
    if month >= today.replace(day=1):
        raise ValidationError({"month": [_("Only a month that has ended can be settled.")]})
    if Settlement.objects.filter(provider=provider, month=month).exists():
        raise ValidationError({"month": [_("%(provider)s's %(month)s is already settled.")
                                         % {"provider": provider.name, "month": f"{month:%Y-%m}"}]})
    later = Settlement.objects.filter(provider=provider, month__gt=month).order_by("-month").first()
    if later is not None:
        raise ValidationError({"month": [_("%(month)s is already settled: earlier months can no longer be.")
                                         % {"month": f"{later.month:%Y-%m}"}]})
    try:
        with transaction.atomic():
            return _settle(provider, month, acting_user=acting_user, today=today)
    except IntegrityError:  # another official settled this month (or one of its orders) a moment ago
        raise ValidationError({"month": [_("%(provider)s's %(month)s is already settled.")
                                         % {"provider": provider.name, "month": f"{month:%Y-%m}"}]}) from None


def _auto_confirm(provider, today: dt.date) -> int:
    days = auto_confirm_days()
    cutoff = timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time.min))
    overdue = ServiceOrder.objects.filter(provider=provider, status=Status.CHECKED_OUT, checked_out_at__lt=cutoff)
    note = _("Confirmed by the platform: nobody disputed the visit within %(days)s days.") % {"days": days}
    count = 0
    for order in overdue.order_by("pk"):
        services.transition(order, Status.CONFIRMED, acting_user=None, note=note)
        count += 1
    return count


def _settle(provider, month: dt.date, *, acting_user, today: dt.date) -> Settlement:
    settlement = Settlement.objects.create(provider=provider, month=month, issued_by=acting_user)
    confirmed = _auto_confirm(provider, today)
    orders = list(ServiceOrder.objects.filter(provider=provider, status=Status.CONFIRMED, settlement_line__isnull=True,
                                              checked_out_at__lt=month_end(month)).order_by("checked_out_at", "pk"))
    totals = {name: 0 for name in PAYER_FIELD.values()}
    deductions = 0
    for order in orders:
        amount = order.price_fen
        deduction = rules.deduction_for(order.flags, amount, cleared=order.review_cleared_by_id is not None)
        SettlementLine.objects.create(settlement=settlement, order=order, payer=order.payer, amount_fen=amount,
                                      deduction_fen=deduction,
                                      deduction_reason=deduction_reason(order.flags)[:200] if deduction else "")
        services.transition(order, Status.SETTLED, acting_user=None)
        totals[PAYER_FIELD[order.payer]] += amount
        deductions += deduction
    Settlement.objects.filter(pk=settlement.pk).update(order_count=len(orders), deduction_fen=deductions, **totals)
    settlement.refresh_from_db()
    audit.record(AuditAction.CREATE, actor=acting_user, obj=settlement, area_code=provider.area_id,
                 after={"month": f"{month:%Y-%m}", "order_count": len(orders), "auto_confirmed": confirmed,
                        "deduction_fen": deductions, **totals})
    return settlement


# --- after issue: dispute and acceptance --------------------------------------------------------


@transaction.atomic
def dispute_settlement(settlement: Settlement, *, acting_user, text: str) -> Settlement:
    """The provider objects to an issued statement (its own organisation's only)."""
    if not acting_user.has_perm("homecare.change_settlement") or acting_user.organization_id is None \
            or acting_user.organization_id != settlement.provider_id:
        raise PermissionDenied(_("Only the provider may dispute its own statement."))
    found = Settlement.objects.for_user(acting_user).select_for_update().filter(pk=settlement.pk).first()
    if found is None:
        raise PermissionDenied(_("No such settlement in your jurisdiction."))
    if found.status != Settlement.Status.ISSUED:
        raise ValidationError(_("Only an issued statement can be disputed; this one is “%(status)s”.")
                              % {"status": found.get_status_display()})
    if not (text or "").strip():
        raise ValidationError({"text": [_("Say what is wrong with the statement.")]})
    found.status, found.dispute = Settlement.Status.DISPUTED, text.strip()
    found.save(update_fields=["status", "dispute"])
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=found, area_code=found.provider.area_id,
                 before={"status": Settlement.Status.ISSUED}, after={"status": found.status}, note=text.strip()[:500])
    return found


@transaction.atomic
def accept_settlement(settlement: Settlement, *, acting_user, note: str = "") -> Settlement:
    """An official of the provider's area accepts the statement; a disputed one needs a note on the outcome."""
    _require_settler(acting_user, settlement.provider_id)
    found = Settlement.objects.for_user(acting_user).select_for_update().filter(pk=settlement.pk).first()
    if found is None:
        raise PermissionDenied(_("No such settlement in your jurisdiction."))
    if found.status == Settlement.Status.ACCEPTED:
        raise ValidationError(_("This statement has already been accepted."))
    if found.status == Settlement.Status.DISPUTED and not (note or "").strip():
        raise ValidationError({"note": [_("Say how the provider's dispute was resolved.")]})
    before = found.status
    found.status = Settlement.Status.ACCEPTED
    found.save(update_fields=["status"])
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=found, area_code=found.provider.area_id,
                 before={"status": before}, after={"status": found.status}, note=(note or "").strip()[:500])
    return found


# --- the statement file -------------------------------------------------------------------------


def yuan(fen: int) -> str:
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


LINE_COLUMNS = ["序号", "订单号", "服务日期", "老人姓名", "村(社区)代码", "服务项目", "服务人员", "签到时间", "签退时间",
                "支付方式", "金额(元)", "扣减(元)", "应付(元)", "扣减原因"]
SUMMARY_COLUMNS = ["支付方式", "订单数", "金额(元)", "扣减(元)", "应付(元)"]
SUMMARY_TITLE = "汇总"


@dataclass(frozen=True)
class Statement:
    header: list[list[str]]
    lines: list[list[str]]
    summary: list[list[str]]


def _local(value: dt.datetime | None) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if value else ""


def statement(settlement: Settlement) -> Statement:
    """The statement's rows: header, one row per line, and totals per payer."""
    lines = list(settlement.lines.select_related("order__elder", "order__service_type", "order__worker")
                 .order_by("order__checked_out_at", "order_id"))
    header = [["结算单", f"{settlement.provider.name}"], ["结算月份", f"{settlement.month:%Y-%m}"],
              ["状态", STATUS_TEXT.get(settlement.status, settlement.status)],
              ["出具时间", _local(settlement.issued_at)]]
    rows = []
    for n, line in enumerate(lines, start=1):
        order = line.order
        rows.append([str(n), str(order.pk), f"{timezone.localtime(order.checked_out_at):%Y-%m-%d}", order.elder.name,
                     order.elder.area_id, order.service_type.name, order.worker.name if order.worker else "",
                     _local(order.checked_in_at), _local(order.checked_out_at), PAYER_TEXT[line.payer],
                     yuan(line.amount_fen), yuan(line.deduction_fen), yuan(line.amount_fen - line.deduction_fen),
                     deduction_text(order.flags) if line.deduction_fen else ""])
    summary = []
    for payer in Payer.values:
        mine = [line for line in lines if line.payer == payer]
        amount, deduction = sum(x.amount_fen for x in mine), sum(x.deduction_fen for x in mine)
        summary.append([PAYER_TEXT[payer], str(len(mine)), yuan(amount), yuan(deduction), yuan(amount - deduction)])
    amount, deduction = sum(x.amount_fen for x in lines), sum(x.deduction_fen for x in lines)
    summary.append(["合计", str(len(lines)), yuan(amount), yuan(deduction), yuan(amount - deduction)])
    return Statement(header, rows, summary)


def statement_file(settlement: Settlement, fmt: str, *, acting_user=None) -> tuple[str, bytes]:
    """(filename, content) of the statement as CSV or XLSX; an export by a user is audited."""
    if fmt not in FORMATS:
        raise ValidationError(_("The statement is downloaded as csv or xlsx."))
    data = statement(settlement)
    name = f"settlement-{settlement.provider_id}-{settlement.month:%Y-%m}.{fmt}"
    content = _csv(data) if fmt == "csv" else _xlsx(data)
    if acting_user is not None:
        audit.record(AuditAction.EXPORT, actor=acting_user, obj=settlement, area_code=settlement.provider.area_id,
                     after={"format": fmt, "lines": len(data.lines)})
    return name, content


def _csv(data: Statement) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(data.header)
    writer.writerow([])
    writer.writerow(LINE_COLUMNS)
    writer.writerows(data.lines)
    writer.writerow([])
    writer.writerow([SUMMARY_TITLE])
    writer.writerow(SUMMARY_COLUMNS)
    writer.writerows(data.summary)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _xlsx(data: Statement) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "结算明细"
    for row in data.header:
        sheet.append(row)
    sheet.append([])
    sheet.append(LINE_COLUMNS)
    for row in data.lines:
        sheet.append(row)
    totals = book.create_sheet(SUMMARY_TITLE)
    totals.append(SUMMARY_COLUMNS)
    for row in data.summary:
        totals.append(row)
    for ws in (sheet, totals):
        for row in ws.iter_rows():
            for cell in row:
                cell.number_format = "@"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
