"""Forms of the plans, beds, follow-up, complaint and settlement pages.

They only shape input: every rule is in ``plans``, ``beds``, ``feedback`` and
``settlement``, whose ValidationErrors land on these forms' fields.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiyang.benefits import rules as month_rules
from yiyang.core.forms import BootstrapForm, DateInput
from yiyang.core.scoping import area_prefix_q
from yiyang.organizations.models import Organization, OrganizationKind

from .models import FamilyCareBed, ServicePlan, ServiceType
from .rules import Payer

WEEKDAY_CHOICES = [(1, _("Mon")), (2, _("Tue")), (3, _("Wed")), (4, _("Thu")), (5, _("Fri")), (6, _("Sat")),
                   (7, _("Sun"))]
YES_NO = [("yes", _("yes")), ("no", _("no"))]
SCORES = [("", "—")] + [(str(n), str(n)) for n in range(1, 6)]


def _label(model, name):
    return model._meta.get_field(name).verbose_name


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")


class PlanForm(BootstrapForm):
    """A recurring service for one elder; providers offered are those serving the elder's village."""

    use_required_attribute = False

    service = forms.ChoiceField(label=_label(ServicePlan, "service_type"))
    provider = forms.ChoiceField(label=_label(ServicePlan, "provider"))
    weekdays = forms.MultipleChoiceField(label=_label(ServicePlan, "weekdays"), choices=WEEKDAY_CHOICES,
                                         widget=forms.CheckboxSelectMultiple, required=False)
    window_start = forms.TimeField(label=_("time from"), widget=TimeInput())
    window_end = forms.TimeField(label=_("time until"), widget=TimeInput())
    first_day = forms.DateField(label=_label(ServicePlan, "first_day"), widget=DateInput())
    last_day = forms.DateField(label=_label(ServicePlan, "last_day"), widget=DateInput(), required=False)
    payer = forms.ChoiceField(label=_label(ServicePlan, "payer"), choices=Payer.choices)
    bed = forms.ChoiceField(label=_label(ServicePlan, "bed"), required=False)

    def __init__(self, *args, elder, **kwargs):
        kwargs.setdefault("initial", {"first_day": timezone.localdate() + dt.timedelta(days=1),
                                      "window_start": dt.time(11), "window_end": dt.time(12)})
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = [(s.code, s.name) for s in ServiceType.objects.filter(is_active=True)]
        providers = (Organization.objects.filter(is_active=True, provider_profile__isnull=False)
                     .select_related("provider_profile").order_by("name"))
        self.fields["provider"].choices = [(p.pk, p.name) for p in providers
                                           if p.provider_profile.serves(elder.area_id)]
        beds = FamilyCareBed.objects.filter(elder=elder, status=FamilyCareBed.Status.ACTIVE)
        self.fields["bed"].choices = [("", _("none"))] + [(b.pk, b.contract_no) for b in beds]
        self.fields["weekdays"].widget.attrs["class"] = "form-check-input"

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {"service_code": data["service"], "provider_id": data["provider"], "weekdays": data["weekdays"],
                "window_start": data["window_start"], "window_end": data["window_end"],
                "first_day": data["first_day"], "last_day": data["last_day"], "payer": data["payer"],
                "bed_id": data["bed"] or None}


class EndForm(BootstrapForm):
    """End a plan or a family care bed on a day, with the reason."""

    use_required_attribute = False
    required_marks = ("reason",)

    last_day = forms.DateField(label=_("last day"), widget=DateInput())
    reason = forms.CharField(label=_("reason"), required=False, max_length=300)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"last_day": timezone.localdate()})
        super().__init__(*args, **kwargs)


class BedForm(BootstrapForm):
    """Open a family care bed: the institutions offered are those of the elder's county."""

    use_required_attribute = False
    required_marks = ("contract_no", "care_plan")

    institution = forms.ChoiceField(label=_label(FamilyCareBed, "institution"))
    contract_no = forms.CharField(label=_label(FamilyCareBed, "contract_no"), required=False, max_length=64)
    first_day = forms.DateField(label=_label(FamilyCareBed, "first_day"), widget=DateInput())
    last_day = forms.DateField(label=_label(FamilyCareBed, "last_day"), widget=DateInput(), required=False)
    min_visits_per_week = forms.IntegerField(label=_label(FamilyCareBed, "min_visits_per_week"), initial=2)
    care_plan = forms.CharField(label=_label(FamilyCareBed, "care_plan"), required=False,
                                widget=forms.Textarea(attrs={"rows": 3}))
    remote_monitoring = forms.BooleanField(label=_label(FamilyCareBed, "remote_monitoring"), required=False)

    def __init__(self, *args, elder, **kwargs):
        kwargs.setdefault("initial", {"first_day": timezone.localdate(), "min_visits_per_week": 2})
        super().__init__(*args, **kwargs)
        institutions = Organization.objects.filter(area_prefix_q("area", elder.area_id[:6]), is_active=True,
                                                   kind=OrganizationKind.INSTITUTION).order_by("name")
        self.fields["institution"].choices = [(o.pk, o.name) for o in institutions]

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["institution_id"] = data.pop("institution")
        return data


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class FollowUpForm(BootstrapForm):
    """One follow-up call: reached? did the service take place? how satisfied?"""

    use_required_attribute = False

    reached = forms.ChoiceField(label=_("reached the elder"), choices=YES_NO, widget=forms.RadioSelect)
    service_confirmed = forms.ChoiceField(label=_("the service took place"), choices=YES_NO, required=False,
                                          widget=forms.RadioSelect)
    satisfaction = forms.ChoiceField(label=_("satisfaction (1–5)"), choices=SCORES, required=False)
    note = forms.CharField(label=_("note"), required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("reached", "service_confirmed"):
            self.fields[name].widget.attrs["class"] = "form-check-input"

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {"reached": data["reached"] == "yes", "service_confirmed": _yes_no(data["service_confirmed"]),
                "satisfaction": int(data["satisfaction"]) if data["satisfaction"] else None, "note": data["note"]}


class ComplaintForm(BootstrapForm):
    use_required_attribute = False
    required_marks = ("resolution",)

    resolution = forms.CharField(label=_("resolution"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


def parse_month(text: str) -> dt.date:
    try:
        return month_rules.parse_month((text or "").strip())
    except month_rules.RuleError as exc:
        raise forms.ValidationError(str(exc)) from exc


class SettleForm(BootstrapForm):
    """Which provider's which month; the service decides whether it may be settled."""

    provider = forms.ChoiceField(label=_("provider"))
    month = forms.CharField(label=_("month"), max_length=7)

    def __init__(self, *args, providers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = [(p.pk, p.name) for p in providers]

    def clean_month(self):
        return parse_month(self.cleaned_data["month"])


class SettlementDisputeForm(BootstrapForm):
    use_required_attribute = False
    required_marks = ("text",)

    text = forms.CharField(label=_("what is wrong with the statement"), required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))


class SettlementAcceptForm(BootstrapForm):
    use_required_attribute = False

    note = forms.CharField(label=_("note (how a dispute was resolved)"), required=False, max_length=500)
