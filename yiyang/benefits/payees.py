"""Payee accounts: where an elder's cash benefits are paid (the elder's card or an agent's).

The account number is encrypted at rest with a blind index beside it; the audit
log and API responses show it masked (first 4 and last 4 digits). An elder has
at most one active account (partial unique constraint); setting a new one
retires the previous one.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.utils.translation import gettext as _

from yiyang.core import audit, crypto
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditAction
from yiyang.people.models import Elder, Relation
from yiyang.people.services import access_elder_by_id

from .models import PayeeAccount, mask_account

AUDITED = ["holder_name", "holder_relation", "kind", "bank_name", "account_number"]
HOLDER_RELATIONS = {"self", *Relation.values}


def normalize_account_number(value: str) -> str:
    """Digits only, spaces removed; 12 to 25 digits, else ValueError."""
    digits = re.sub(r"\s+", "", value or "")
    if not re.fullmatch(r"\d{12,25}", digits):
        raise ValueError(_("An account number has 12 to 25 digits."))
    return digits


def active_account(elder) -> PayeeAccount | None:
    return PayeeAccount.objects.filter(elder=elder, is_active=True).first()


def _snapshot(account: PayeeAccount | None) -> dict | None:
    if account is None:
        return None
    return audit.snapshot(account, AUDITED, masked={"account_number": mask_account})


@transaction.atomic
def set_payee_account(elder: Elder, *, acting_user, holder_name: str, account_number: str, kind: str,
                      bank_name: str = "", holder_relation: str = "self") -> PayeeAccount:
    """Make a new active payee account for ``elder``, retiring the previous one."""
    if not (acting_user.has_perm("people.change_elder") and acting_user.has_perm("benefits.add_payeeaccount")):
        raise PermissionDenied(_("You do not have permission to do this."))
    access_elder_by_id(acting_user, elder.pk)  # 404 outside the user's jurisdiction
    errors: dict[str, list[str]] = {}
    holder_name = (holder_name or "").strip()
    if not holder_name:
        errors["holder_name"] = [_("Enter the account holder's name.")]
    elif len(holder_name) > 64:
        errors["holder_name"] = [_("The name is longer than 64 characters.")]
    try:
        number = normalize_account_number(account_number)
    except ValueError as exc:
        errors["account_number"] = [str(exc)]
    if kind not in PayeeAccount.Kind.values:
        errors["kind"] = [_("Choose the account kind.")]
    if holder_relation not in HOLDER_RELATIONS:
        errors["holder_relation"] = [_("Choose the holder's relation.")]
    bank_name = (bank_name or "").strip()
    if len(bank_name) > 100:
        errors["bank_name"] = [_("The bank name is longer than 100 characters.")]
    if errors:
        raise ValidationError(errors)
    elder = Elder.objects.select_for_update().get(pk=elder.pk)  # serialise two officials on one elder
    previous = PayeeAccount.objects.select_for_update().filter(elder=elder, is_active=True).first()
    if previous is not None:
        previous.is_active = False
        previous.save(update_fields=["is_active", "updated_at"])
    account = PayeeAccount.objects.create(
        elder=elder, holder_name=holder_name, holder_relation=holder_relation, kind=kind, bank_name=bank_name,
        account_number=number, account_index=crypto.blind_index(number, "account"),
        created_by=acting_user if acting_user.is_authenticated else None)
    audit.record(AuditAction.UPDATE if previous else AuditAction.CREATE, actor=acting_user, obj=account,
                 area_code=elder.area_id, before=_snapshot(previous), after=_snapshot(account), note="payee account")
    return account


def reveal_account_number(account: PayeeAccount, *, acting_user) -> str:
    """The account number in clear, for those entitled, audited like ``people.services.reveal``."""
    if not (acting_user.has_perm("benefits.view_payeeaccount") and acting_user.has_perm("people.reveal_personal_data")):
        raise PermissionDenied(_("You do not have permission to do this."))
    access_elder_by_id(acting_user, account.elder_id)
    audit.record(AuditAction.REVEAL, actor=acting_user, obj=account, area_code=account.elder.area_id,
                 note="account_number")
    return account.account_number
