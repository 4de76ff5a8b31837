"""Bank files for released runs and the import of the bank's returns (layout: docs/bank-file.md).

A line moves pending → sent → paid | returned; a line whose elder has no active
payee account at file time becomes held. The next file for the run sends held
lines once the elder has an account, and returned lines once the elder has a
new account since the return; sent and paid lines are never sent again, so
generating a file twice never pays twice.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from yiyang.core import audit
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditAction
from yiyang.core.scoping import code_in_scope

from .models import BankBatch, BankStatus, PayeeAccount, PaymentLine, PayrollRun, Programme
from .rules import RuleError

COLUMNS = ["序号", "批次号", "行号", "户名", "证件号码", "账号", "开户行", "金额(元)", "项目", "所属月份", "村(社区)代码"]
HELD_COLUMNS = ["序号", "行号", "姓名", "村(社区)代码", "金额(元)", "原因"]
HELD_TITLE = "暂缓发放"
SUCCESS, FAILURE = "成功", "失败"
NO_ACCOUNT_NOTE = "no active payee account"
AWAITING_NOTE = "returned: awaiting a corrected account"


def yuan(fen: int) -> str:
    """Fen as yuan with two decimals (2500 → "25.00")."""
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def require_bank_rights(acting_user, area_code: str) -> None:
    """May the user make bank files and import returns for this area? Raises PermissionDenied if not."""
    if not acting_user.has_perm("benefits.approve_payroll"):
        raise PermissionDenied(_("You may not handle bank files."))
    if not (acting_user.is_superuser or code_in_scope(area_code, acting_user.scope_code)):
        raise PermissionDenied(_("Area %(code)s is outside your jurisdiction.") % {"code": area_code})


def bank_file(run: PayrollRun, *, acting_user, fmt: str = "csv") -> tuple[str, bytes]:
    """Record a BankBatch, move the lines it pays to 'sent', and return (filename, content)."""
    if fmt not in BankBatch.Format.values:
        raise RuleError(_("the bank file format is csv or xlsx"))
    require_bank_rights(acting_user, run.area_code)
    with transaction.atomic():
        run = PayrollRun.objects.select_for_update().select_related("programme").get(pk=run.pk)
        if run.status != PayrollRun.Status.RELEASED:
            raise RuleError(_("only a released run goes to the bank"))
        if run.programme.payment_mode == Programme.PaymentMode.VOUCHER:
            raise RuleError(_("a voucher programme is credited to voucher balances, never paid through the bank"))
        lines = list(run.lines.select_for_update(of=("self",)).select_related("elder")
                     .filter(bank_status__in=[BankStatus.PENDING, BankStatus.HELD, BankStatus.RETURNED])
                     .order_by("area_code", "elder__name", "id"))
        accounts = {a.elder_id: a for a in PayeeAccount.objects.filter(
            elder_id__in={line.elder_id for line in lines}, is_active=True)}
        send, held, waiting = [], [], []
        for line in lines:
            account = accounts.get(line.elder_id)
            if line.bank_status == BankStatus.RETURNED and (account is None or account.pk == line.payee_account_id):
                waiting.append(line)  # re-paid only to an account set after the return
            elif account is None:
                held.append(line)
            else:
                send.append((line, account))
        batch = BankBatch.objects.create(run=run, created_by=acting_user if acting_user.is_authenticated else None,
                                         line_count=len(send), total_fen=sum(line.amount_fen for line, _a in send),
                                         held_count=len(held) + len(waiting), file_format=fmt)
        for line, account in send:
            line.bank_status, line.bank_note, line.bank_batch, line.payee_account = BankStatus.SENT, "", batch, account
        for line in held:
            line.bank_status, line.bank_note = BankStatus.HELD, NO_ACCOUNT_NOTE
        PaymentLine.objects.bulk_update([line for line, _a in send], ["bank_status", "bank_note", "bank_batch",
                                                                      "payee_account"], batch_size=500)
        PaymentLine.objects.bulk_update(held, ["bank_status", "bank_note"], batch_size=500)
        rows = [[n, batch.batch_no, line.pk, account.holder_name, line.elder.id_number, account.account_number,
                 account.bank_name, yuan(line.amount_fen), run.programme.name, f"{line.month:%Y-%m}", line.area_code]
                for n, (line, account) in enumerate(send, start=1)]
        held_rows = [[n, line.pk, line.elder.name, line.area_code, yuan(line.amount_fen),
                      line.bank_note if line.bank_status == BankStatus.HELD else (line.bank_note or AWAITING_NOTE)]
                     for n, line in enumerate(held + waiting, start=1)]
        audit.record(AuditAction.EXPORT, actor=acting_user, obj=run, area_code=run.area_code,
                     after={"batch": batch.batch_no, "lines": batch.line_count, "total_fen": batch.total_fen,
                            "held": batch.held_count, "format": fmt},
                     note="bank file")
    content = _xlsx(rows, held_rows) if fmt == "xlsx" else _csv(rows, held_rows)
    filename = f"bank-{run.programme.code}-{run.month:%Y%m}-{run.area_code}-{batch.batch_no}.{fmt}"
    return filename, content


def _csv(rows, held_rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    writer.writerow([])
    writer.writerow([HELD_TITLE])
    writer.writerow(HELD_COLUMNS)
    writer.writerows(held_rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 correctly


def _xlsx(rows, held_rows) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    main = book.active
    main.title = "代发明细"
    for header, data, sheet in ((COLUMNS, rows, main), (HELD_COLUMNS, held_rows, book.create_sheet(HELD_TITLE))):
        sheet.append(header)
        for row in data:
            sheet.append([str(v) if i > 0 else v for i, v in enumerate(row)])  # text: long numbers stay exact
        for column in sheet.iter_cols(min_row=2, min_col=2):
            for cell in column:
                cell.number_format = "@"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- returns -------------------------------------------------------------------------------


def _read_rows(content: bytes, name: str) -> list[dict[str, str]]:
    """Rows of the first table as {header: text}; the held section of our own CSV is ignored."""
    if content[:4] == b"PK\x03\x04" or name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
        except Exception as exc:  # noqa: BLE001 - any unreadable workbook is the user's file
            raise ValidationError({"file": [_("The file cannot be read as XLSX.")]}) from exc
        table = [["" if v is None else str(v).strip() for v in row] for row in sheet.iter_rows(values_only=True)]
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = content.decode("gb18030", errors="replace")
        table = [[v.strip() for v in row] for row in csv.reader(io.StringIO(text))]
    if not table:
        raise ValidationError({"file": [_("The file is empty.")]})
    header, rows = table[0], []
    for row in table[1:]:
        if not any(row):
            break  # a blank row ends the table
        rows.append(dict(zip(header, row + [""] * (len(header) - len(row)), strict=False)))
    for needed in ("行号", "结果"):
        if needed not in header:
            raise ValidationError({"file": [_("The file has no column “%(column)s”.") % {"column": needed}]})
    return rows


def import_bank_returns(file, *, acting_user) -> dict[str, int]:
    """Apply the bank's results (行号, 结果 成功/失败, 原因, optional 金额(元)): all rows or none."""
    if not acting_user.has_perm("benefits.approve_payroll"):
        raise PermissionDenied(_("You may not handle bank files."))
    content = file.read() if hasattr(file, "read") else bytes(file)
    rows = _read_rows(content, getattr(file, "name", "") or "")
    wanted = {int(r["行号"]) for r in rows if r.get("行号", "").isdigit()}
    with transaction.atomic():
        lines = {line.pk: line for line in PaymentLine.objects.select_for_update(of=("self",)).select_related("run")
                 .filter(pk__in=wanted)
                 if acting_user.is_superuser or code_in_scope(line.run.area_code, acting_user.scope_code)}
        errors, seen, paid, returned = [], set(), [], []
        for number, row in enumerate(rows, start=2):
            line_id, result = row.get("行号", ""), row.get("结果", "")
            line = lines.get(int(line_id)) if line_id.isdigit() else None
            if line is None:
                errors.append(_("row %(row)s: unknown line “%(line)s”") % {"row": number, "line": line_id})
                continue
            if line.pk in seen:
                errors.append(_("row %(row)s: line %(line)s appears twice") % {"row": number, "line": line.pk})
                continue
            seen.add(line.pk)
            if line.bank_status != BankStatus.SENT:
                errors.append(_("row %(row)s: line %(line)s was not sent to the bank (%(status)s)")
                              % {"row": number, "line": line.pk, "status": line.bank_status})
                continue
            amount = row.get("金额(元)", row.get("金额", "")).replace(",", "")
            if amount:
                try:
                    mismatch = Decimal(amount) * 100 != line.amount_fen
                except ArithmeticError:
                    mismatch = True
                if mismatch:
                    errors.append(_("row %(row)s: amount %(amount)s does not match line %(line)s (%(expected)s)")
                                  % {"row": number, "amount": amount, "line": line.pk, "expected": yuan(line.amount_fen)})
                    continue
            if result == SUCCESS:
                paid.append(line.pk)
            elif result == FAILURE:
                returned.append((line.pk, (row.get("原因") or "returned by the bank")[:200]))
            else:
                errors.append(_("row %(row)s: result must be 成功 or 失败") % {"row": number})
        if errors:
            raise ValidationError({"file": errors})
        PaymentLine.objects.filter(pk__in=paid).update(bank_status=BankStatus.PAID, bank_note="")
        for pk, reason in returned:
            PaymentLine.objects.filter(pk=pk).update(bank_status=BankStatus.RETURNED, bank_note=reason)
        audit.record(AuditAction.IMPORT, actor=acting_user, object_type="benefits.paymentline", label="bank returns",
                     after={"rows": len(rows), "paid": len(paid), "returned": len(returned)}, note="bank returns")
    return {"rows": len(rows), "paid": len(paid), "returned": len(returned)}
