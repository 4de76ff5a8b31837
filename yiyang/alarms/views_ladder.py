"""The escalation ladder page: everyone who handles alarms reads it; city officials change it."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from yiyang.core.forms import BootstrapForm, run_service

from . import ladder
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


def _page(request, bound: dict | None = None, status: int = 200):
    bound = bound or {}
    editable = request.user.has_perm(ladder.PERMISSION)
    types = []
    for alarm_type, label, steps in ladder.ladders():
        rows = [(step, bound.get(step.pk) or (StepForm(initial={f: getattr(step, f) for f in ladder.FIELDS},
                                                       prefix=f"s{step.pk}") if editable else None))
                for step in steps]
        adding = bound.get(alarm_type) or (StepForm(prefix=f"new-{alarm_type}") if editable else None)
        types.append({"code": alarm_type, "label": label, "rows": rows, "add_form": adding})
    return render(request, "alarms/ladder.html", {"types": types, "editable": editable}, status=status)


@login_required
@viewer_required
def ladder_page(request):
    return _page(request)


@login_required
@editor_required
@require_POST
def change_step(request, step_id: int):
    step = get_object_or_404(EscalationStep, pk=step_id)
    form = StepForm(request.POST, prefix=f"s{step.pk}")
    if form.is_valid() and run_service(form, lambda data: ladder.change_step(step.pk, acting_user=request.user,
                                                                             data=data)):
        messages.success(request, _("Step saved: it applies to alarms raised from now on."))
        return redirect(f"{reverse('alarms:ladder')}#type-{step.alarm_type}")
    return _page(request, {step.pk: form}, status=400)


@login_required
@editor_required
@require_POST
def add_step(request, alarm_type: str):
    if alarm_type not in AlarmType.values:
        return redirect("alarms:ladder")
    form = StepForm(request.POST, prefix=f"new-{alarm_type}")
    if form.is_valid() and run_service(form, lambda data: ladder.add_step(alarm_type, acting_user=request.user,
                                                                          data=data)):
        messages.success(request, _("Step added: it applies to alarms raised from now on."))
        return redirect(f"{reverse('alarms:ladder')}#type-{alarm_type}")
    return _page(request, {alarm_type: form}, status=400)
