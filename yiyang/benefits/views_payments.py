"""Payment pages: an elder's money page (payee account, 生存认证, suspensions, voucher balances,
payments), bank files, bank returns.

Reads go through ``for_user`` (the elder through ``access_elder_by_id``, so another
jurisdiction's elder is a 404). Writes go through ``payees``, ``survival``,
``suspensions`` and ``bankfile``; their ValidationError, RuleError and PermissionDenied
messages are shown on the forms or as messages, never re-decided here.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from yiyang.areas.models import Area
from yiyang.core.forms import run_service
from yiyang.people.services import access_elder_by_id

from . import bankfile, payees, survival, suspensions
from .forms_payments import (
    BankReturnsForm,
    PayeeAccountForm,
    ResumeForm,
    SurvivalCertificationForm,
    SuspensionForm,
)
from .models import (
    BankBatch,
    BankStatus,
    Entitlement,
    PayeeAccount,
    PaymentLine,
    PayrollRun,
    SurvivalCertification,
    Suspension,
    VoucherAccount,
    VoucherEntry,
)
from .rules import RuleError
from .tables import yuan
from .tables_payments import ElderPaymentTable, UnpaidLineTable

PER_PAGE = 50
VOUCHER_ENTRIES_SHOWN = 20
ROW_ERRORS_SHOWN = 100
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

lines_required = permission_required("benefits.view_paymentline", raise_exception=True)


# --- one elder's money page -------------------------------------------------------------------


def _account(user, elder) -> PayeeAccount | None:
    if not user.has_perm("benefits.view_payeeaccount"):
        return None
    return (PayeeAccount.objects.for_user(user).filter(elder=elder, is_active=True)
            .select_related("created_by").first())


def _suspensions(user, elder):
    if not (user.has_perm("benefits.view_suspension") or user.has_perm("benefits.add_suspension")):
        return None
    return (Suspension.objects.for_user(user).filter(elder=elder).select_related("programme", "created_by")
            .order_by("-from_month", "-id"))


def _signed_yuan(fen: int) -> str:
    return ("+" if fen > 0 else "") + yuan(fen)


def _vouchers(user, elder) -> dict | None:
    """The elder's voucher balances and their latest movements, in yuan."""
    if not user.has_perm("benefits.view_voucheraccount"):
        return None
    accounts = VoucherAccount.objects.for_user(user).filter(elder=elder).select_related("programme").order_by("programme__code")
    entries = (VoucherEntry.objects.for_user(user).filter(account__elder=elder)
               .select_related("account__programme", "payment_line").order_by("-created_at", "-id")[:VOUCHER_ENTRIES_SHOWN])
    return {
        "accounts": [{"programme": a.programme, "balance": yuan(a.balance_fen)} for a in accounts],
        "entries": [{"entry": e, "programme": e.account.programme, "amount": _signed_yuan(e.amount_fen),
                     "credit_month": e.payment_line.month if e.payment_line_id else None} for e in entries],
        "limit": VOUCHER_ENTRIES_SHOWN,
    }


def _page_context(request, elder, **forms) -> dict:
    user = request.user
    lines = PaymentLine.objects.for_user(user).filter(elder=elder).select_related("programme")
    table = ElderPaymentTable(lines)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    entitlements = (Entitlement.objects.for_user(user).filter(elder=elder, status=Entitlement.Status.ACTIVE)
                    .select_related("programme") if user.has_perm("benefits.view_entitlement") else None)
    certifications = (SurvivalCertification.objects.for_user(user).filter(elder=elder).select_related("recorded_by")
                      if user.has_perm("benefits.view_survivalcertification") else None)
    return {
        "elder": elder, "table": table, "entitlements": entitlements, "certifications": certifications,
        "account": _account(user, elder),
        "account_form": PayeeAccountForm(initial={"holder_name": elder.name, "holder_relation": "self"}),
        "survival_form": SurvivalCertificationForm(),
        "suspensions": _suspensions(user, elder),
        "suspension_form": SuspensionForm(user=user, elder=elder),
        "resume_form": None,
        "resume_target": None,
        "vouchers": _vouchers(user, elder),
        **forms,
    }


@login_required
@lines_required
def elder_benefits(request, elder_id: int):
    elder = access_elder_by_id(request.user, elder_id)
    return render(request, "benefits/payments/elder_benefits.html", _page_context(request, elder))


def _save(form, call) -> bool:
    return run_service(form, call, RuleError)


def _section(request, elder, template: str, anchor: str, saved: bool, notice: str, **forms):
    """After a change: the section for htmx, else a redirect (saved) or the page with the errors."""
    if request.htmx:
        return render(request, template, {**_page_context(request, elder, **forms), "notice": notice if saved else ""})
    if saved:
        messages.success(request, notice)
        return redirect(reverse("benefits:elder_benefits", args=[elder.pk]) + f"#{anchor}")
    return render(request, "benefits/payments/elder_benefits.html", _page_context(request, elder, **forms))


@login_required
@permission_required(("benefits.view_paymentline", "benefits.add_payeeaccount"), raise_exception=True)
@require_POST
def set_account(request, elder_id: int):
    elder = access_elder_by_id(request.user, elder_id)
    form = PayeeAccountForm(request.POST)
    saved = form.is_valid() and _save(
        form, lambda data: payees.set_payee_account(elder, acting_user=request.user, **data))
    forms = {} if saved else {"account_form": form}
    return _section(request, elder, "benefits/payments/_account.html", "account", saved,
                    _("The payee account is set."), **forms)


@login_required
@permission_required(("benefits.view_payeeaccount", "people.reveal_personal_data"), raise_exception=True)
@require_POST
def reveal_account(request, elder_id: int):
    elder = access_elder_by_id(request.user, elder_id)
    account = get_object_or_404(PayeeAccount.objects.for_user(request.user).select_related("elder"),
                                elder=elder, is_active=True)
    value = payees.reveal_account_number(account, acting_user=request.user)
    return render(request, "benefits/payments/_account_revealed.html", {"value": value})


@login_required
@permission_required(("benefits.view_paymentline", "benefits.add_survivalcertification"), raise_exception=True)
@require_POST
def add_survival(request, elder_id: int):
    elder = access_elder_by_id(request.user, elder_id)
    form = SurvivalCertificationForm(request.POST)
    saved = form.is_valid() and _save(
        form, lambda data: survival.record_survival_certification(elder, acting_user=request.user, **data))
    forms = {"survival_form": SurvivalCertificationForm()} if saved else {"survival_form": form}
    return _section(request, elder, "benefits/payments/_survival.html", "survival", saved,
                    _("The survival certification is recorded."), **forms)


@login_required
@permission_required(("benefits.view_paymentline", "benefits.add_suspension"), raise_exception=True)
@require_POST
def suspend(request, elder_id: int):
    elder = access_elder_by_id(request.user, elder_id)
    form = SuspensionForm(request.POST, user=request.user, elder=elder)
    saved = form.is_valid() and _save(
        form, lambda data: suspensions.suspend(elder, acting_user=request.user, **data))
    forms, notice = {"suspension_form": form}, ""
    if saved:
        forms = {}
        notice = _("Payments of %(programme)s are suspended from %(month)s.") % {
            "programme": dict(form.fields["programme"].choices).get(form.cleaned_data["programme"]),
            "month": f"{form.cleaned_data['from_month']:%Y-%m}"}
    return _section(request, elder, "benefits/payments/_suspensions.html", "suspensions", saved, notice, **forms)


@login_required
@permission_required(("benefits.view_paymentline", "benefits.change_suspension"), raise_exception=True)
@require_POST
def resume(request, elder_id: int, suspension_id: int):
    elder = access_elder_by_id(request.user, elder_id)
    suspension = get_object_or_404(Suspension.objects.for_user(request.user).select_related("elder", "programme"),
                                   pk=suspension_id, elder=elder)
    form = ResumeForm(request.POST)
    saved = form.is_valid() and _save(
        form, lambda data: suspensions.resume(suspension, acting_user=request.user, **data))
    forms, notice = {"resume_form": form, "resume_target": suspension.pk}, ""
    if saved:
        forms = {}
        notice = _("Payments of %(programme)s resume from %(month)s.") % {
            "programme": suspension.programme.name, "month": f"{form.cleaned_data['from_month']:%Y-%m}"}
    return _section(request, elder, "benefits/payments/_suspensions.html", "suspensions", saved, notice, **forms)


# --- bank files of a released run -------------------------------------------------------------


def may_send_to_bank(user, run: PayrollRun) -> bool:
    """Whether the bank-file buttons show: the service's own check, asked without side effects."""
    try:
        bankfile.require_bank_rights(user, run.area_code)
    except PermissionDenied:
        return False
    return True


def bank_panel(user, run: PayrollRun) -> dict | None:
    """The bank block of a released run on the payroll month page, or None when there is nothing to show."""
    if run.status != PayrollRun.Status.RELEASED:
        return None
    can_download = may_send_to_bank(user, run)
    batches = (list(BankBatch.objects.for_user(user).filter(run=run).select_related("created_by"))
               if user.has_perm("benefits.view_bankbatch") else [])
    if not (can_download or batches):
        return None
    labels = dict(BankStatus.choices)
    counts = (PaymentLine.objects.for_user(user).filter(run=run).order_by()
              .values_list("bank_status").annotate(n=Count("id")))
    return {
        "can_download": can_download,
        "batches": [{"batch": b, "total": yuan(b.total_fen)} for b in batches],
        "statuses": [{"status": s, "label": labels.get(s, s), "count": n} for s, n in sorted(counts)],
    }


@login_required
@permission_required("benefits.view_payrollrun", raise_exception=True)
@require_POST
def bank_file(request, run_id: int):
    run = get_object_or_404(PayrollRun.objects.for_user(request.user).select_related("programme"), pk=run_id)
    fmt = request.POST.get("format", "csv")
    try:
        name, content = bankfile.bank_file(run, acting_user=request.user, fmt=fmt)
    except (RuleError, PermissionDenied) as exc:
        messages.error(request, str(exc))
        return redirect(reverse("benefits:month", args=[run.programme.code, f"{run.month:%Y-%m}"]) + "#runs")
    response = HttpResponse(content, content_type=MEDIA[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"  # clear ID and account numbers
    return response


# --- bank returns -----------------------------------------------------------------------------


def _unpaid_table(request):
    lines = (PaymentLine.objects.for_user(request.user)
             .filter(bank_status__in=[BankStatus.RETURNED, BankStatus.HELD])
             .select_related("elder", "programme").order_by("area_code", "elder__name", "month", "id"))
    codes = set(lines.values_list("area_code", flat=True).distinct())
    names = dict(Area.objects.for_user(request.user).filter(code__in=codes).values_list("code", "name"))
    table = UnpaidLineTable(lines, area_names=names)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return table


@login_required
@lines_required
def bank_returns(request):
    form = BankReturnsForm(request.POST or None, request.FILES or None)
    row_errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            result = bankfile.import_bank_returns(form.cleaned_data["file"], acting_user=request.user)
        except ValidationError as exc:
            row_errors = exc.messages
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Bank returns imported: %(rows)s rows, %(paid)s paid, %(returned)s returned.")
                             % result)
            return redirect("benefits:bank_returns")
    return render(request, "benefits/payments/bank_returns.html", {
        "form": form, "row_errors": row_errors[:ROW_ERRORS_SHOWN], "row_error_count": len(row_errors),
        "error_limit": ROW_ERRORS_SHOWN, "table": _unpaid_table(request),
    })
