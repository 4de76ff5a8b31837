"""Forms of the hotline console. They only shape input; ``hotline`` and ``services`` decide,
and their errors land on these forms (service field names mapped to the form's)."""

from __future__ import annotations

import datetime as dt

import django_filters as filters
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiyang.benefits.tables import yuan
from yiyang.core.filters import PageFilterMixin
from yiyang.core.forms import BootstrapForm, DateInput, FilterForm

from .models import CallRecord
from .rules import Payer

VOUCHER_PREFIX = "voucher:"
DEFAULT_WINDOW_HOURS = 2


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")


class ServiceErrorsMixin:
    """Service errors name the service's arguments; show them next to this form's fields."""

    field_of_error: dict[str, str] = {}

    def add_service_errors(self, error) -> None:
        if hasattr(error, "error_dict"):
            for name, errors in error.error_dict.items():
                name = self.field_of_error.get(name, name)
                self.add_error(name if name in self.fields else None, errors)
        else:
            self.add_error(None, error)


class NumberForm(BootstrapForm):
    """The caller's number: typed by the agent or filled in by the telephony system."""

    use_required_attribute = False

    number = forms.CharField(
        label=_("Caller's number"), max_length=32,
        error_messages={"required": _("Enter the caller's number.")},
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off", "autofocus": True,
                                      "placeholder": "138 0000 0000", "data-hotline-number": ""}))


class PickForm(forms.Form):
    """Start a call (or attach an elder to the open call): the number, the elder picked, the call."""

    number = forms.CharField(required=False, max_length=500)  # sealed (see hotline.seal_number)
    elder = forms.IntegerField(required=False, min_value=1)
    call = forms.IntegerField(required=False, min_value=1)


def default_window(now: dt.datetime | None = None) -> tuple[dt.date, dt.time, dt.time]:
    """The next full hour for two hours; late in the evening, tomorrow morning."""
    now = timezone.localtime(now)
    start = (now + dt.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    if start.date() != now.date() or start.hour + DEFAULT_WINDOW_HOURS > 21:
        start = (now + dt.timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    return start.date(), start.time(), (start + dt.timedelta(hours=DEFAULT_WINDOW_HOURS)).time()


class OrderForm(ServiceErrorsMixin, BootstrapForm):
    """A service order in one form: what, from whom, when, and who pays."""

    use_required_attribute = False
    field_of_error = {"window_end": "end", "window_start": "start", "elder": "__all__"}

    service = forms.ChoiceField(label=_("service"), error_messages={"required": _("Choose a service.")})
    provider = forms.ChoiceField(label=_("provider"), error_messages={"required": _("Choose a provider.")})
    day = forms.DateField(label=_("day"), widget=DateInput(), error_messages={"required": _("Enter the day.")})
    start = forms.TimeField(label=_("wanted from"), widget=TimeInput(), error_messages={"required": _("Enter a time.")})
    end = forms.TimeField(label=_("wanted until"), widget=TimeInput(), error_messages={"required": _("Enter a time.")})
    payer = forms.ChoiceField(label=_("paid by"))
    note = forms.CharField(label=_("note for the provider"), required=False, max_length=500)

    def __init__(self, *args, profiles=(), services=(), voucher_accounts=(), **kwargs):
        kwargs.setdefault("auto_id", "order_%s")  # several forms share the console: unique ids
        day, start, end = default_window()
        kwargs.setdefault("initial", {"day": day, "start": start, "end": end, "payer": Payer.SELF})
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = [("", "—")] + [(s.code, f"{s.name} · {s.duration_minutes} min · "
                                                                  f"{yuan(s.unit_price_fen)}") for s in services]
        self.fields["provider"].choices = [(str(p.organization.pk), p.organization.name) for p in profiles]
        if len(profiles) != 1:
            self.fields["provider"].choices.insert(0, ("", "—"))
        self.fields["payer"].choices = [(Payer.SELF, Payer.SELF.label)] + [
            (VOUCHER_PREFIX + account.programme.code,
             _("voucher: %(programme)s (balance %(balance)s yuan)") % {
                 "programme": account.programme.name, "balance": yuan(account.balance_fen)})
            for account in voucher_accounts]
        self.fields["service"].widget.attrs["data-first"] = ""

    def service_data(self) -> dict:
        data = self.cleaned_data
        tz = timezone.get_current_timezone()
        payer, programme = data["payer"], ""
        if payer.startswith(VOUCHER_PREFIX):
            payer, programme = Payer.VOUCHER, payer[len(VOUCHER_PREFIX):]
        return {
            "service_code": data["service"], "provider_id": data["provider"],
            "window_start": timezone.make_aware(dt.datetime.combine(data["day"], data["start"]), tz),
            "window_end": timezone.make_aware(dt.datetime.combine(data["day"], data["end"]), tz),
            "payer": payer, "voucher_programme": programme, "note": data["note"],
        }


class EmergencyForm(ServiceErrorsMixin, BootstrapForm):
    """An emergency told by phone: raised as an alarm (escalated like a device's), a caregiver sent at once."""

    KINDS = ("call", "fall", "smoke", "gas")

    use_required_attribute = False
    field_of_error = {"elder": "__all__", "alarm": "__all__", "action": "__all__"}

    type = forms.ChoiceField(label=_("what is happening"))
    note = forms.CharField(label=_("what happened"), required=False, max_length=500)
    send_caregiver = forms.BooleanField(label=_("send the nearest available caregiver now"), required=False,
                                        initial=True)

    def __init__(self, *args, can_send=True, **kwargs):
        from yiyang.alarms.catalogue import AlarmType

        kwargs.setdefault("auto_id", "emergency_%s")
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = [(kind, AlarmType(kind).label) for kind in self.KINDS]
        self.fields["type"].widget.attrs["data-first"] = ""
        if not can_send:
            self.fields["send_caregiver"].initial = False
            self.fields["send_caregiver"].disabled = True
            self.fields["send_caregiver"].help_text = _(
                "No provider offers emergency help in the elder's village: the supervisor will be alerted.")

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {"type": data["type"], "note": data["note"], "send_caregiver": bool(data["send_caregiver"])}


class ComplaintForm(ServiceErrorsMixin, BootstrapForm):
    """A complaint about a provider or one of the elder's orders."""

    use_required_attribute = False
    required_marks = ("text",)
    field_of_error = {"elder": "__all__", "call": "__all__"}

    text = forms.CharField(label=_("complaint"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 3, "data-first": ""}))
    order = forms.ChoiceField(label=_("about the order"), required=False)
    provider = forms.ChoiceField(label=_("about the provider"), required=False)

    def __init__(self, *args, orders=(), providers=(), **kwargs):
        kwargs.setdefault("auto_id", "complaint_%s")
        super().__init__(*args, **kwargs)
        self.fields["order"].choices = [("", "—")] + [
            (str(o.pk), f"#{o.pk} {o.service_type.name} {timezone.localtime(o.window_start):%m-%d %H:%M} · "
                        f"{o.provider.name}") for o in orders]
        self.fields["provider"].choices = [("", "—")] + [(str(p.pk), p.name) for p in providers]

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {"text": data["text"], "order_id": data["order"] or None, "provider_id": data["provider"] or None}


class EndCallForm(ServiceErrorsMixin, BootstrapForm):
    """End the call: what came of it, and what was said."""

    use_required_attribute = False
    field_of_error = {"call": "__all__", "order": "__all__", "complaint": "__all__"}

    outcome = forms.ChoiceField(label=_("outcome"), choices=CallRecord.Outcome.choices)
    summary = forms.CharField(label=_("summary"), required=False, max_length=1000,
                              widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, first: str = "outcome", **kwargs):
        kwargs.setdefault("auto_id", "end_%s")
        super().__init__(*args, **kwargs)
        self.fields[first].widget.attrs["data-first"] = ""


def consultation_form(*args, **kwargs) -> EndCallForm:
    """A consultation note: the end-call form with the outcome set and the summary first."""
    form = EndCallForm(*args, first="summary", auto_id="note_%s",
                       initial={"outcome": CallRecord.Outcome.CONSULTATION}, **kwargs)
    form.fields["outcome"].widget = forms.HiddenInput()
    form.fields["summary"].label = _("what was asked and answered")
    return form


class CallFilter(PageFilterMixin, filters.FilterSet):
    """The call list: mine only, by outcome, by day, still open."""

    mine = filters.BooleanFilter(label=_("only my calls"), method="filter_mine", widget=forms.CheckboxInput())
    outcome = filters.ChoiceFilter(label=_("outcome"), choices=CallRecord.Outcome.choices)
    since = filters.DateFilter(label=_("from"), field_name="started_at", lookup_expr="date__gte", widget=DateInput())
    until = filters.DateFilter(label=_("until"), field_name="started_at", lookup_expr="date__lte", widget=DateInput())
    open = filters.BooleanFilter(label=_("still open"), method="filter_open", widget=forms.CheckboxInput())

    class Meta:
        model = CallRecord
        fields = ["mine", "outcome", "since", "until", "open"]
        form = FilterForm

    def filter_mine(self, queryset, name, value):
        return queryset.filter(agent=self.request.user) if value else queryset

    def filter_open(self, queryset, name, value):
        return queryset.filter(ended_at__isnull=True) if value else queryset

