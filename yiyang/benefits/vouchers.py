"""Voucher balances (服务补贴 as services): credited on release, drawn by service orders.

A voucher programme's monthly lines are its entitlement record like any other
(unique per elder and month), but on release they credit the elder's balance
instead of going to the bank, so one entitlement is never paid both ways. A draw
is idempotent on its reference (the service order) and can never take the balance
below zero: the database refuses it.
"""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.core import audit
from yiyang.core.errors import PermissionDenied
from yiyang.core.models import AuditAction
from yiyang.people.models import Elder

from .models import BankStatus, PaymentLine, PayrollRun, Programme, VoucherAccount, VoucherEntry
from .rules import RuleError


def credit_released_run(run: PayrollRun) -> int:
    """Credit every positive pending line of a released voucher run to its elder's balance; returns the lines."""
    lines = PaymentLine._meta.db_table
    accounts = VoucherAccount._meta.db_table
    entries = VoucherEntry._meta.db_table
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(f"""INSERT INTO {accounts} (programme_id, elder_id, balance_fen, updated_at)
            SELECT DISTINCT pl.programme_id, pl.elder_id, 0, %s FROM {lines} pl
            WHERE pl.run_id = %s AND pl.amount_fen > 0 AND pl.bank_status = 'pending'
            ON CONFLICT (programme_id, elder_id) DO NOTHING""", [now, run.pk])
        cursor.execute(f"""INSERT INTO {entries} (account_id, amount_fen, payment_line_id, reference, created_at)
            SELECT va.id, pl.amount_fen, pl.id, '', %s FROM {lines} pl
            JOIN {accounts} va ON va.programme_id = pl.programme_id AND va.elder_id = pl.elder_id
            WHERE pl.run_id = %s AND pl.amount_fen > 0 AND pl.bank_status = 'pending'""", [now, run.pk])
        cursor.execute(f"""UPDATE {accounts} SET updated_at = %s, balance_fen = balance_fen + (
                SELECT SUM(pl.amount_fen) FROM {lines} pl WHERE pl.run_id = %s AND pl.elder_id = {accounts}.elder_id
                  AND pl.amount_fen > 0 AND pl.bank_status = 'pending')
            WHERE programme_id = %s AND elder_id IN (SELECT pl.elder_id FROM {lines} pl WHERE pl.run_id = %s
                  AND pl.amount_fen > 0 AND pl.bank_status = 'pending')""", [now, run.pk, run.programme_id, run.pk])
    return (PaymentLine.objects.filter(run=run, amount_fen__gt=0, bank_status=BankStatus.PENDING)
            .update(bank_status=BankStatus.VOUCHER))


def balance(elder: Elder, programme: Programme) -> int:
    account = VoucherAccount.objects.filter(elder=elder, programme=programme).first()
    return account.balance_fen if account else 0


def draw(elder: Elder, *, programme_code: str, amount_fen: int, reference: str, acting_user) -> VoucherEntry:
    """Pay ``amount_fen`` of a service from the elder's voucher balance, once per ``reference``.

    Refused when the balance is short; a repeated call with the same reference
    returns the first draw (a retried request never pays twice).
    """
    if not acting_user.has_perm("benefits.add_voucherentry"):
        raise PermissionDenied(_("You may not draw on voucher balances."))
    if not reference.strip():
        raise RuleError(_("a draw needs the reference of the service it pays for"))
    if amount_fen <= 0:
        raise RuleError(_("a draw must be more than 0 fen"))
    if not Elder.objects.for_user(acting_user).filter(pk=elder.pk).exists():
        raise PermissionDenied(_("This elder is outside your jurisdiction."))
    return draw_for_service(elder, programme_code=programme_code, amount_fen=amount_fen, reference=reference,
                            actor=acting_user)


def draw_for_service(elder: Elder, *, programme_code: str, amount_fen: int, reference: str, actor) -> VoucherEntry:
    """The draw itself, for services that made their own permission checks (a home-care order)."""
    if amount_fen <= 0 or not reference.strip():
        raise RuleError(_("a draw needs a positive amount and the reference of the service it pays for"))
    with transaction.atomic():
        account = (VoucherAccount.objects.select_for_update()
                   .filter(elder=elder, programme__code=programme_code).first())
        if account is None:
            raise RuleError(_("the elder has no voucher balance in programme %(code)s") % {"code": programme_code})
        earlier = account.entries.filter(reference=reference.strip()).first()
        if earlier is not None:
            return earlier
        if account.balance_fen < amount_fen:
            raise RuleError(_("the voucher balance (%(balance)s fen) does not cover %(amount)s fen")
                            % {"balance": account.balance_fen, "amount": amount_fen})
        try:
            with transaction.atomic():
                VoucherAccount.objects.filter(pk=account.pk).update(balance_fen=F("balance_fen") - amount_fen,
                                                                    updated_at=timezone.now())
                entry = VoucherEntry.objects.create(account=account, amount_fen=-amount_fen,
                                                    reference=reference.strip()[:64], created_by=_user(actor))
        except IntegrityError:  # the balance check constraint: never below zero
            raise RuleError(_("the voucher balance does not cover this amount")) from None
        audit.record(AuditAction.CREATE, actor=actor, obj=entry, area_code=elder.area_id,
                     after={"programme": programme_code, "amount_fen": -amount_fen, "reference": entry.reference})
    return entry


def refund(reference: str, *, actor) -> VoucherEntry | None:
    """Give back a draw whose service did not happen (cancelled, no-show); once, and only if there was one."""
    with transaction.atomic():
        drawn = VoucherEntry.objects.select_related("account").filter(reference=reference, amount_fen__lt=0).first()
        if drawn is None:
            return None
        account = VoucherAccount.objects.select_for_update().get(pk=drawn.account_id)
        back_reference = f"refund:{reference}"[:64]
        earlier = account.entries.filter(reference=back_reference).first()
        if earlier is not None:
            return earlier
        VoucherAccount.objects.filter(pk=account.pk).update(balance_fen=F("balance_fen") - drawn.amount_fen,
                                                            updated_at=timezone.now())
        entry = VoucherEntry.objects.create(account=account, amount_fen=-drawn.amount_fen, reference=back_reference,
                                            created_by=_user(actor))
        audit.record(AuditAction.CREATE, actor=actor, obj=entry, area_code=account.elder.area_id,
                     after={"amount_fen": entry.amount_fen, "reference": back_reference})
    return entry


def _user(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None
