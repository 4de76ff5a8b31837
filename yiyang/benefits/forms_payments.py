"""Forms of the payment pages. They only shape input: the rules and the saving are in
``payees``, ``survival``, ``suspensions`` and ``bankfile``, whose errors land on these forms."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.validators import FileExtensionValidator
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiyang.core.forms import BootstrapForm, DateInput

from . import rules
from .models import PayeeAccount, Programme, SurvivalCertification, Suspension

RETURNS_MAX_BYTES = 10 * 1024 * 1024  # a county's month of returns is far smaller


def _label(model, name):
    return model._meta.get_field(name).verbose_name


class PayeeAccountForm(BootstrapForm):
    """Set or replace the elder's payee account; the number is checked by the service, not here."""

    use_required_attribute = False
    required_marks = ("holder_name", "account_number")

    kind = forms.ChoiceField(label=_label(PayeeAccount, "kind"), choices=PayeeAccount.Kind.choices)
    account_number = forms.CharField(
        label=_label(PayeeAccount, "account_number"), required=False, max_length=40,
        help_text=_("12 to 25 digits; spaces are ignored."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    holder_name = forms.CharField(label=_label(PayeeAccount, "holder_name"), required=False, max_length=200)
    holder_relation = forms.ChoiceField(label=_label(PayeeAccount, "holder_relation"),
                                        choices=PayeeAccount._meta.get_field("holder_relation").choices)
    bank_name = forms.CharField(label=_label(PayeeAccount, "bank_name"), required=False, max_length=200)


class SurvivalCertificationForm(BootstrapForm):
    """Record a 生存认证; the service refuses future days, deceased elders and so on."""

    use_required_attribute = False

    certified_on = forms.DateField(label=_label(SurvivalCertification, "certified_on"), widget=DateInput(),
                                   error_messages={"required": _("Enter the day of the certification.")})
    method = forms.ChoiceField(label=_label(SurvivalCertification, "method"),
                               choices=SurvivalCertification.Method.choices)
    source_reference = forms.CharField(label=_label(SurvivalCertification, "source_reference"), required=False,
                                       max_length=200)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"certified_on": timezone.localdate(),
                                      "method": SurvivalCertification.Method.VILLAGE_VISIT})
        super().__init__(*args, **kwargs)


def _month_field(label, **kwargs) -> forms.CharField:
    return forms.CharField(label=label, max_length=7, widget=forms.TextInput(
        attrs={"type": "month", "placeholder": "2026-11", "pattern": r"\d{4}-\d{2}"}), **kwargs)


class MonthMixin:
    """A YYYY-MM field read by the payroll's own month parser."""

    def clean_from_month(self):
        try:
            return rules.parse_month(self.cleaned_data["from_month"].strip())
        except rules.RuleError as exc:
            raise forms.ValidationError(str(exc)) from exc


class SuspensionForm(MonthMixin, BootstrapForm):
    """停发: pause one programme's payments to the elder from a month; the service checks the rest."""

    use_required_attribute = False
    required_marks = ("reason",)

    programme = forms.ChoiceField(label=_label(Suspension, "programme"))
    from_month = _month_field(_label(Suspension, "from_month"),
                              error_messages={"required": _("Enter the first month not paid (YYYY-MM).")})
    reason = forms.CharField(label=_label(Suspension, "reason"), required=False, max_length=300)

    def __init__(self, *args, user, elder, **kwargs):
        kwargs.setdefault("initial", {"from_month": f"{timezone.localdate():%Y-%m}"})
        super().__init__(*args, **kwargs)
        programmes = Programme.objects.for_user(user).filter(is_active=True).order_by("code")
        self.fields["programme"].choices = [
            (p.code, p.name) for p in programmes if elder.area_id.startswith(p.area_id)]

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {"programme_code": data["programme"], "from_month": data["from_month"], "reason": data["reason"]}


class ResumeForm(MonthMixin, BootstrapForm):
    """恢复发放: pay again from a month; the suspension ends with the month before."""

    use_required_attribute = False

    from_month = _month_field(_("resume from (month)"),
                              error_messages={"required": _("Enter the first month paid again (YYYY-MM).")})

    def __init__(self, *args, **kwargs):
        next_month = (timezone.localdate().replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        kwargs.setdefault("initial", {"from_month": f"{next_month:%Y-%m}"})
        super().__init__(*args, **kwargs)

    def service_data(self) -> dict:
        return {"from_month": self.cleaned_data["from_month"]}


class BankReturnsForm(BootstrapForm):
    file = forms.FileField(
        label=_("Bank returns file"),
        help_text=_("CSV or XLSX from the bank: 行号, 结果 (成功 or 失败), 原因, optionally 金额(元)."),
        validators=[FileExtensionValidator(["csv", "xlsx"])],
        widget=forms.FileInput(attrs={"accept": ".csv,.xlsx"}))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > RETURNS_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than %(size)s.")
                                        % {"size": filesizeformat(RETURNS_MAX_BYTES)})
        return upload
