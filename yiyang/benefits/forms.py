"""Forms of the payroll pages. They shape input; the rules and the saving are the services'."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from yiyang.areas import navigation
from yiyang.core.forms import BootstrapForm, FilterForm

from . import rules
from .models import Programme


class RunForm(BootstrapForm):
    """Compute (or recompute) a month within an area of the user's jurisdiction."""

    use_required_attribute = False

    month = forms.CharField(label=_("month"), max_length=7,
                            widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-11",
                                                          "pattern": r"\d{4}-\d{2}"}))
    area = forms.ChoiceField(label=_("area"), required=False)

    def __init__(self, *args, user, programme: Programme, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.programme = user, programme
        prefix = programme.area_id
        self.fields["area"].choices = [
            (code, label) for code, label in navigation.area_choices(user)
            if not code or code.startswith(prefix)]

    def clean_month(self):
        try:
            return rules.parse_month(self.cleaned_data["month"].strip())
        except rules.RuleError as exc:
            raise ValidationError(str(exc)) from exc

    def area_code(self) -> str | None:
        """The chosen area; "all of my jurisdiction" is the narrower of my scope and the programme's area."""
        chosen = self.cleaned_data.get("area")
        if chosen:
            return chosen
        scope = "" if self.user.is_superuser else self.user.scope_code
        programme_area = self.programme.area_id
        return programme_area if not scope or programme_area.startswith(scope) else scope


class LineFilterForm(FilterForm):
    """Narrow the month's payment lines to a village and/or a tier."""

    village = forms.ChoiceField(label=_("village"), required=False)
    tier = forms.ChoiceField(label=_("tier"), required=False)

    def __init__(self, *args, villages: list[tuple[str, str]], tiers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].choices = [("", _("All")), *villages]
        self.fields["tier"].choices = [("", _("All")), *((t, t) for t in tiers)]
