"""Forms of the payment pages. They only shape input: the rules and the saving are in
``payees``, ``survival`` and ``bankfile``, whose ValidationError lands on these forms."""

from __future__ import annotations

from django import forms
from django.core.validators import FileExtensionValidator
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiyang.core.forms import BootstrapForm, DateInput

from .models import PayeeAccount, SurvivalCertification

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
