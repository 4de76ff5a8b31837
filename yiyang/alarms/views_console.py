"""The hotline's live alarm console: the queue of open alarms and, beside it, the one being handled.

One page updated in place. The queue learns of changes from the WebSocket (ids
only, ``live.py``) or by polling ``updates?since=<cursor>`` every 2 s; either way
the lines themselves come from here, rendered through ``for_user`` like any page.
The selected alarm is an htmx partial; its live part (status, ladder, messages,
timeline) refreshes on its own, so a half-filled close form is never wiped. Every
action is a plain form post that also works without JavaScript; refusals from
the services are shown on the form.
"""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from yiyang.assessments.services import current_result
from yiyang.core.forms import BootstrapForm
from yiyang.homecare import hotline
from yiyang.homecare.models import FamilyCareBed
from yiyang.notifications import services as notifications
from yiyang.notifications.models import Notification
from yiyang.people.idnumber import age_on

from . import console, escalation, live, response, services
from .models import Alarm, AlarmEvent, EscalationAction, NotifyChannel, Outcome

viewer_required = permission_required("alarms.view_alarm", raise_exception=True)
ALERTS_SHOWN = 10


class CloseForm(BootstrapForm):
    """Close the alarm: what it turned out to be, and a note (needed for hospital and death)."""

    use_required_attribute = False

    outcome = forms.ChoiceField(label=gettext_lazy("outcome"),
                                choices=[("", gettext_lazy("— choose —")), *Outcome.choices], required=False)
    note = forms.CharField(label=gettext_lazy("note"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=gettext_lazy("For “taken to hospital” name the hospital; for a death say what "
                                                  "happened and who was told."))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "close_%s")
        super().__init__(*args, **kwargs)
        self.fields["outcome"].widget.attrs["data-first"] = ""


class NotifyForm(BootstrapForm):
    """Do a step of the ladder now: the family (by voice call or text) or the supervisor."""

    use_required_attribute = False

    action = forms.ChoiceField(choices=[(EscalationAction.NOTIFY_CONTACTS, ""), (EscalationAction.ALERT_SUPERVISOR, "")])
    channel = forms.ChoiceField(label=gettext_lazy("channel"), required=False,
                                choices=[(NotifyChannel.VOICE, NotifyChannel.VOICE.label),
                                         (NotifyChannel.SMS, NotifyChannel.SMS.label)])

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "notify_%s")
        super().__init__(*args, **kwargs)


# --- reading -------------------------------------------------------------------------------------


def _alarm_or_404(user, alarm_id) -> Alarm:
    try:
        return console.visible(user, alarm_id)
    except Alarm.DoesNotExist:
        raise Http404(_("No such alarm in your jurisdiction.")) from None


def _live_settings() -> dict:
    """Where the page opens its WebSocket: YIYANG_LIVE_URL, else LIVE_PORT on the page's host; none without a layer."""
    return {"live_enabled": live.enabled(), "live_url": settings.LIVE_URL, "live_port": settings.LIVE_PORT}


def _status(request) -> dict:
    """The banners above the queue: a silent escalation worker, and alerts sent to this user."""
    alerts = []
    for item in notifications.unread_push_for(request.user)[:ALERTS_SHOWN]:
        about = item.subject.removeprefix("alarm:")
        alerts.append({"notification": item, "alarm_id": int(about) if about.isdigit() else None})
    return {"worker_silent": console.worker_silent(), "alerts": alerts}


def _live_context(user, alarm: Alarm) -> dict:
    """The parts of an alarm that change on their own: status, ladder, messages sent, timeline."""
    ladder = escalation.ladder_of(alarm)
    return {
        "alarm": alarm,
        "ladder": ladder,
        "advice": console.advice(alarm, ladder),
        "sent": (Notification.objects.for_user(user).filter(subject=f"alarm:{alarm.pk}")
                 .order_by("created_at", "id")),
        "events": [(event, console.event_label(event.status)) for event in
                   AlarmEvent.objects.for_user(user).filter(alarm=alarm).select_related("actor").order_by("at", "id")],
        "is_open": alarm.status in console.OPEN,
    }


def _profile(user, alarm: Alarm) -> dict | None:
    elder = alarm.elder
    if elder is None:
        return None
    grade = current_result(elder)
    today = timezone.localdate()
    return {"age": age_on(elder.birth_date, today), "grade": grade,
            "risks": hotline.risk_flags(elder, user=user, grade=grade, on=today),
            "bed": (FamilyCareBed.objects.for_user(user).filter(elder=elder, status=FamilyCareBed.Status.ACTIVE)
                    .select_related("institution").first())}


def _detail_context(request, alarm: Alarm, *, notice: str = "", error: str = "", close_form=None,
                    notify_form=None, dispatch_error: str = "", open_close: bool = False) -> dict:
    user = request.user
    now = timezone.now()
    location = response.alarm_location(alarm, now=now)
    candidates = response.nearby_caregivers(alarm, now=now) if alarm.status in console.OPEN else []
    profile = _profile(user, alarm)
    organizations = [o for o in (alarm.organization, profile and profile["bed"] and profile["bed"].institution) if o]
    organizations = list({o.pk: o for o in organizations}.values())
    return {
        "alarm": alarm, "profile": profile, "location": location,
        "location_label": response.LocationSource(location[2]).label,
        "contacts": console.contacts(user, alarm), "organizations": organizations,
        "candidate_rows": [(c, console.distance_text(c.distance_m)) for c in candidates],
        "map": console.alarm_map(alarm, location, candidates, organizations),
        "close_form": close_form or CloseForm(), "notify_form": notify_form or NotifyForm(),
        "notice": notice, "error": error, "dispatch_error": dispatch_error, "open_close": open_close,
        "can_handle": user.has_perm("alarms.handle_alarm"),
        **_live_context(user, alarm),
    }


def _queue_context(request) -> dict:
    rows, total = console.queue(request.user)
    return {"rows": rows, "total": total, "shown": len(rows)}


def _page(request, selected: Alarm | None = None, **detail) -> dict:
    """The whole console; the selected alarm's parts sit beside the queue's (their names do not collide)."""
    return {
        **_queue_context(request), **_status(request),
        "cursor": str(console.head(request.user)), **_live_settings(),
        **(_detail_context(request, selected, **detail) if selected else {}),
    }


@login_required
@viewer_required
def console_page(request):
    """The console; ``?alarm=<id>`` opens that alarm (a reload, a link from an alert)."""
    selected = None
    if request.GET.get("alarm", "").isdigit():
        selected = _alarm_or_404(request.user, int(request.GET["alarm"]))
    return render(request, "alarms/console.html", _page(request, selected))


def _rows_payload(request, rows: list[console.QueueRow]) -> list[dict]:
    return [{"id": row.alarm.pk, "open": row.is_open, "priority": row.alarm.priority,
             "status": row.alarm.status,
             "html": render_to_string("alarms/_queue_row.html", {"row": row}, request=request) if row.is_open else ""}
            for row in rows]


def _status_payload(request) -> str:
    return render_to_string("alarms/_status.html", _status(request), request=request)


@login_required
@viewer_required
@require_GET
def updates(request):
    """What changed since ``?since=<cursor>``: the lines to add, replace or drop, and the banners."""
    user = request.user
    since = console.Cursor.parse(request.GET.get("since"))
    if since is None:
        return JsonResponse({"error": _("Reload the page.")}, status=400)
    rows, cursor, more = console.changes(user, since)
    return JsonResponse({"cursor": str(cursor), "rows": _rows_payload(request, rows), "more": more,
                         "open_count": console.open_count(user), "status_html": _status_payload(request)})


@login_required
@viewer_required
@require_GET
def rows(request):
    """The lines of ``?ids=1,2,3`` (the alarms a WebSocket message named), as the user may see them."""
    ids = [int(part) for part in request.GET.get("ids", "").split(",") if part.strip().isdigit()]
    return JsonResponse({"rows": _rows_payload(request, console.rows_for(request.user, ids)),
                         "open_count": console.open_count(request.user)})


@login_required
@viewer_required
@require_GET
def queue_part(request):
    """The whole queue again (a console that fell behind, or came back from a lost connection)."""
    context = {**_queue_context(request), "cursor": str(console.head(request.user))}
    return render(request, "alarms/_queue.html", context)


@login_required
@viewer_required
@require_GET
def detail(request, alarm_id: int):
    alarm = _alarm_or_404(request.user, alarm_id)
    if not request.htmx:
        return redirect(f"{reverse('alarms:console')}?alarm={alarm.pk}")
    return render(request, "alarms/_detail.html", _detail_context(request, alarm))


@login_required
@viewer_required
@require_GET
def live_part(request, alarm_id: int):
    alarm = _alarm_or_404(request.user, alarm_id)
    return render(request, "alarms/_live.html", _live_context(request.user, alarm))


# --- acting --------------------------------------------------------------------------------------


def _answer(request, alarm_id: int, *, saved: bool, notice: str = "", **detail):
    """After an action: the alarm again (htmx) with the notice or the errors; else a redirect or the page."""
    alarm = _alarm_or_404(request.user, alarm_id)
    if request.htmx:
        response_ = render(request, "alarms/_detail.html",
                           _detail_context(request, alarm, notice=notice if saved else "", **detail))
        response_["HX-Trigger"] = json.dumps({"alarmChanged": {"id": alarm.pk}})
        return response_
    if saved:
        messages.success(request, notice)
        return redirect(f"{reverse('alarms:console')}?alarm={alarm.pk}")
    return render(request, "alarms/console.html", _page(request, alarm, **detail))


def _refusal(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or _("You do not have permission to do this.")


@login_required
@viewer_required
@require_POST
def acknowledge(request, alarm_id: int):
    try:
        services.acknowledge_alarm(alarm_id, acting_user=request.user)
    except Alarm.DoesNotExist:
        raise Http404 from None
    except (ValidationError, PermissionDenied, services.AlarmTransitionError) as exc:
        return _answer(request, alarm_id, saved=False, error=_refusal(exc))
    return _answer(request, alarm_id, saved=True, notice=_("Acknowledged: the steps waiting for an "
                                                            "acknowledgement will not run."))


@login_required
@viewer_required
@require_POST
def close(request, alarm_id: int):
    form = CloseForm(request.POST)
    saved = False
    if form.is_valid():
        try:
            services.close_alarm(alarm_id, acting_user=request.user, outcome=form.cleaned_data["outcome"],
                                 note=form.cleaned_data["note"])
            saved = True
        except Alarm.DoesNotExist:
            raise Http404 from None
        except ValidationError as exc:
            form.add_service_errors(exc)
        except (PermissionDenied, services.AlarmTransitionError) as exc:
            form.add_error(None, _refusal(exc))
    if saved:
        outcome = Outcome(form.cleaned_data["outcome"]).label
        return _answer(request, alarm_id, saved=True, notice=_("Closed: %(outcome)s.") % {"outcome": outcome})
    return _answer(request, alarm_id, saved=False, close_form=form, open_close=True)


@login_required
@viewer_required
@require_POST
def run_step(request, alarm_id: int):
    """"Notify the family now" / "alert the supervisor now": the worker does the step at once."""
    form = NotifyForm(request.POST)
    if not form.is_valid():
        return _answer(request, alarm_id, saved=False, error=_("Choose a step."))
    action = form.cleaned_data["action"]
    channel = form.cleaned_data["channel"] if action == EscalationAction.NOTIFY_CONTACTS else ""
    try:
        escalation.run_now(alarm_id, action, acting_user=request.user, channel=channel)
    except Alarm.DoesNotExist:
        raise Http404 from None
    except (ValidationError, PermissionDenied) as exc:
        return _answer(request, alarm_id, saved=False, error=_refusal(exc))
    live.announce_on_commit([alarm_id])
    notice = (_("The family will be called in call order now.") if action == EscalationAction.NOTIFY_CONTACTS
              else _("The supervisor is being alerted now."))
    return _answer(request, alarm_id, saved=True, notice=notice)


@login_required
@viewer_required
@require_POST
def dispatch(request, alarm_id: int):
    """"Send this one": an urgent order for the caregiver the agent picked."""
    worker = request.POST.get("worker", "")
    if not worker.isdigit():
        return _answer(request, alarm_id, saved=False, dispatch_error=_("Pick a caregiver."))
    try:
        alarm = console.visible(request.user, alarm_id)
        order = response.dispatch_nearest(alarm, acting_user=request.user, worker=int(worker))
    except Alarm.DoesNotExist:
        raise Http404 from None
    except (ValidationError, PermissionDenied) as exc:
        return _answer(request, alarm_id, saved=False, dispatch_error=_refusal(exc))
    live.announce_on_commit([alarm_id])
    return _answer(request, alarm_id, saved=True, notice=_("Order #%(order)s: %(worker)s is on the way.") % {
        "order": order.pk, "worker": order.worker.name if order.worker else "—"})


@login_required
@viewer_required
@require_POST
def reveal_contact(request, alarm_id: int, contact_id: int):
    alarm = _alarm_or_404(request.user, alarm_id)
    try:
        value = console.reveal_contact_phone(request.user, alarm, contact_id)
    except console.Contact.DoesNotExist:
        raise Http404 from None
    return render(request, "alarms/_revealed.html", {"value": value})


@login_required
@viewer_required
@require_POST
def alerts_read(request):
    """Mark one of my alerts read (``id``), or all of them."""
    ids = [int(request.POST["id"])] if request.POST.get("id", "").isdigit() else None
    notifications.mark_read(request.user, ids)
    if request.htmx:
        return render(request, "alarms/_status.html", _status(request))
    return redirect("alarms:console")

