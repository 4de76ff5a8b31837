"""Forms of the assessment pages. They shape input; the services validate and save."""

from __future__ import annotations

from dataclasses import dataclass, field

from django import forms
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from yiyang.core.filters import PageFilterMixin
from yiyang.core.forms import BootstrapForm, FilterForm

from .filters import AssessmentFilter
from .instruments import Instrument
from .models import EVENT_REASONS, Reason, RequesterKind

REQUESTABLE = [(r.value, r.label) for r in (Reason.FIRST, Reason.PERIODIC, *EVENT_REASONS)]
ON_BEHALF = [(k.value, k.label) for k in (RequesterKind.OFFICIAL, RequesterKind.ELDER, RequesterKind.FAMILY,
                                          RequesterKind.INSTITUTION)]
MAX_RISK_EVENTS = 99


class AssessmentListFilter(PageFilterMixin, AssessmentFilter):
    """Status and reason as small selects; the elder and instrument filters stay for links only."""

    class Meta(AssessmentFilter.Meta):
        form = FilterForm

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.filters["instrument"]
        self.filters["elder"].extra["widget"] = forms.HiddenInput()


class RequestForm(BootstrapForm):
    use_required_attribute = False

    reason = forms.ChoiceField(label=_("reason"), choices=REQUESTABLE)
    requester_kind = forms.ChoiceField(label=_("requested by (kind)"), choices=ON_BEHALF, required=False,
                                       help_text=_("On whose behalf you ask."))
    note = forms.CharField(label=_("note"), max_length=300, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, portal: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if portal:  # the elder or family: the service knows who they are
            del self.fields["requester_kind"]


class AssignForm(BootstrapForm):
    use_required_attribute = False

    assessors = forms.MultipleChoiceField(label=_("assessors"), widget=forms.SelectMultiple(attrs={"size": 5}))

    def __init__(self, *args, eligible, required: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.eligible = {str(a.pk): a for a in eligible}
        self.fields["assessors"].choices = [
            (str(a.pk), f"{a}（{a.organization.name}，{a.certificate_no}）") for a in eligible]
        self.fields["assessors"].help_text = _("Choose %(n)d. Hold Ctrl (or tap on a tablet) to choose several.") % {
            "n": required}

    def chosen(self):
        return [self.eligible[pk] for pk in self.cleaned_data["assessors"]]


class ReviewForm(BootstrapForm):
    use_required_attribute = False

    reason = forms.CharField(label=_("reason for return"), max_length=300, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))


class CancelForm(BootstrapForm):
    use_required_attribute = False

    reason = forms.CharField(label=_("reason for cancelling"), max_length=300, required=False)


class ReviewRequestForm(BootstrapForm):
    use_required_attribute = False

    note = forms.CharField(label=_("note"), max_length=300, required=False)
    requester_kind = forms.ChoiceField(label=_("requested by (kind)"), choices=ON_BEHALF, required=False)


@dataclass
class Recording:
    """The recording form as posted: the answered items, the change-rule inputs, and what could not be read."""

    items: dict[str, int] = field(default_factory=dict)
    coma: bool = False
    dementia: bool = False
    risk_events_30d: int = 0
    errors: dict[str, str] = field(default_factory=dict)

    def as_form(self) -> dict:
        return {"items": dict(self.items), "coma": self.coma, "dementia": self.dementia,
                "risk_events_30d": self.risk_events_30d}


def read_recording(instrument: Instrument, data) -> Recording:
    """Read the posted form: each item's radio is named by its code; an unanswered item is absent."""
    recording = Recording(coma=data.get("coma") == "on", dementia=data.get("dementia") == "on")
    for code, item in instrument.items.items():
        text = (data.get(code) or "").strip()
        if not text:
            continue
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value not in item.scores:
            recording.errors[code] = _t("Choose one of the options.")
        else:
            recording.items[code] = value
    text = (data.get("risk_events_30d") or "0").strip() or "0"
    if text.isdigit() and int(text) <= MAX_RISK_EVENTS:
        recording.risk_events_30d = int(text)
    else:
        recording.errors["risk_events_30d"] = _t("Enter a whole number from 0 to %(n)d.") % {"n": MAX_RISK_EVENTS}
    return recording
