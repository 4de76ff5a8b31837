"""The escalation ladder page: everyone who handles alarms reads it; city officials change the city's, a county's
officials their county's own."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.forms import BootstrapForm, run_service

from . import escalation, ladder
from .catalogue import AlarmType
from .models import EscalationAction, EscalationStep, NotifyChannel, StepCondition

viewer_required = permission_required("alarms.view_alarm", raise_exception=True)
editor_required = permission_required(ladder.PERMISSION, raise_exception=True)


class StepForm(BootstrapForm):
    use_required_attribute = False

    after_seconds = forms.CharField(label=gettext_lazy("seconds after the alarm"), required=False)
    action = forms.ChoiceField(label=gettext_lazy("action"), choices=EscalationAction.choices)
    condition = forms.ChoiceField(label=gettext_lazy("condition"), choices=StepCondition.choices)
    channel = forms.ChoiceField(label=gettext_lazy("channel"), required=False,
                                choices=[("", "—"), *NotifyChannel.choices])
    emergency_number = forms.CharField(label=gettext_lazy("emergency number"), required=False, max_length=3)
    is_active = forms.BooleanField(label=gettext_lazy("active"), required=False, initial=True)


def _county_asked(request) -> str | None:
    """The county whose ladder is shown: asked for (if readable), else the user's own; None for the city's."""
    readable = {area.code: area for area in ladder.counties_for(request.user)}
    asked = request.GET.get("county") or request.POST.get("county")
    if asked:
        if asked not in readable:
            raise Http404
        return asked
    own = escalation.county_of(request.user.scope_code)
    return own if own in readable else None


def _back(alarm_type: str, county: str | None) -> str:
    query = f"?{urlencode({'county': county})}" if county else ""
    return f"{reverse('alarms:ladder')}{query}#type-{alarm_type}"


def _page(request, county: str | None, bound: dict | None = None, status: int = 200):
    bound = bound or {}
    counties = ladder.counties_for(request.user)
    editable = ladder.may_edit(request.user, county)
    types = []
    for type_ladder in ladder.ladders(county):
        own_or_city = type_ladder.own or county is None
        rows = [(step, bound.get(step.pk) or (StepForm(initial={f: getattr(step, f) for f in ladder.FIELDS},
                                                       prefix=f"s{step.pk}") if editable and own_or_city else None))
                for step in type_ladder.steps]
        adding = bound.get(type_ladder.code) or (StepForm(prefix=f"new-{type_ladder.code}")
                                                 if editable and own_or_city else None)
        types.append({"code": type_ladder.code, "label": type_ladder.label, "rows": rows, "add_form": adding,
                      "own": type_ladder.own, "error": bound.get(f"error-{type_ladder.code}", "")})
    return render(request, "alarms/ladder.html", {
        "types": types, "editable": editable, "county": county,
        "county_name": next((a.name for a in counties if a.code == county), ""),
        "counties": counties, "city_choice": len(request.user.scope_code) < 6}, status=status)


@login_required
@viewer_required
def ladder_page(request):
    return _page(request, _county_asked(request))


@login_required
@editor_required
@require_POST
def change_step(request, step_id: int):
    step = get_object_or_404(EscalationStep.objects.filter(retired=False), pk=step_id)
    if step.county_id and step.county_id not in {a.code for a in ladder.counties_for(request.user)}:
        raise Http404
    form = StepForm(request.POST, prefix=f"s{step.pk}")
    if form.is_valid() and run_service(form, lambda data: ladder.change_step(step.pk, acting_user=request.user,
                                                                             data=data)):
        messages.success(request, _("Step saved: it applies to alarms raised from now on."))
        return redirect(_back(step.alarm_type, step.county_id))
    return _page(request, step.county_id, {step.pk: form}, status=400)


def _alarm_type(alarm_type: str) -> str:
    if alarm_type not in AlarmType.values:
        raise Http404
    return alarm_type


@login_required
@editor_required
@require_POST
def add_step(request, alarm_type: str):
    alarm_type, county = _alarm_type(alarm_type), _county_asked(request)
    form = StepForm(request.POST, prefix=f"new-{alarm_type}")
    if form.is_valid() and run_service(form, lambda data: ladder.add_step(alarm_type, acting_user=request.user,
                                                                          data=data, county=county)):
        messages.success(request, _("Step added: it applies to alarms raised from now on."))
        return redirect(_back(alarm_type, county))
    return _page(request, county, {alarm_type: form}, status=400)


def _whole_ladder(request, alarm_type: str, change, done: str):
    """Give the county its own ladder for a type, or send it back to the city's."""
    alarm_type, county = _alarm_type(alarm_type), _county_asked(request)
    if county is None:
        raise Http404
    try:
        change(alarm_type, county, acting_user=request.user)
    except (ValidationError, PermissionDenied) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        return _page(request, county, {f"error-{alarm_type}": text}, status=403 if isinstance(exc, PermissionDenied)
                     else 400)
    messages.success(request, done)
    return redirect(_back(alarm_type, county))


@login_required
@editor_required
@require_POST
def give_own(request, alarm_type: str):
    return _whole_ladder(request, alarm_type, ladder.give_county_its_own,
                         _("The county now has its own ladder for this kind of alarm, copied from the city's: "
                           "change it below."))


@login_required
@editor_required
@require_POST
def back_to_city(request, alarm_type: str):
    return _whole_ladder(request, alarm_type, ladder.back_to_city_ladder,
                         _("The county follows the city ladder again for this kind of alarm."))
