"""Forms of the provider's pages (dispatcher) and the worker's phone pages.

They only shape input: who may do what, and whether an order may move, is decided by
``services`` and ``workforce``, whose messages land on these forms. The one rule kept
here is the photo check (a JPEG or PNG by its content, at most 5 MB), because it is
about the upload, not the order.
"""

from __future__ import annotations

import io

from django import forms
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiyang.core.forms import BootstrapForm, DateInput, FilterForm

from .models import Leave, ServiceOrder, Shift, Skill, Worker
from .rules import Status

PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_SIGNATURES = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG"}


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")


def _label(model, name):
    return model._meta.get_field(name).verbose_name


def worker_choices(workers, empty=None) -> list[tuple[str, str]]:
    return ([("", empty)] if empty else []) + [(str(w.pk), w.name) for w in workers]


# --- the dispatcher's board -------------------------------------------------------------------


class BoardFilterForm(FilterForm):
    """Which day of the board, and optionally one status or one worker (or the unassigned)."""

    UNASSIGNED = "none"

    day = forms.DateField(label=_("date"), required=False, widget=DateInput())
    status = forms.ChoiceField(label=_("status"), required=False,
                               choices=[("", _("all statuses")), *Status.choices])
    worker = forms.ChoiceField(label=_("worker"), required=False)

    def __init__(self, *args, workers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["worker"].choices = [("", _("all workers")), (self.UNASSIGNED, _("not assigned")),
                                         *worker_choices(workers)]

    def filters(self) -> tuple:
        """(day, status, worker) with today for a missing or invalid day."""
        data = self.cleaned_data if self.is_valid() else {}
        return data.get("day") or timezone.localdate(), data.get("status") or "", data.get("worker") or ""


class AssignForm(BootstrapForm):
    """A worker, and the worker the dispatcher saw on the order (empty: none), for the race guard."""

    worker = forms.IntegerField(min_value=1, error_messages={"required": _("Choose a worker.")})
    expected_worker_id = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ReasonForm(BootstrapForm):
    """A reason (cancelling, nobody at home); the service says when it is missing."""

    reason = forms.CharField(label=_("reason"), required=False, max_length=500)


class NoteForm(BootstrapForm):
    note = forms.CharField(label=_("note"), required=False, max_length=500)


# --- workers, skills, shifts and leave ----------------------------------------------------------


class SkillFieldsMixin:
    """One row per catalogue skill: held?, certificate number, valid until."""

    def add_skill_fields(self, held: dict | None = None) -> None:
        self.skill_rows = []
        for skill in Skill.objects.order_by("code"):
            have = (held or {}).get(skill.pk)
            names = (f"skill_{skill.code}", f"cert_{skill.code}", f"until_{skill.code}")
            self.fields[names[0]] = forms.BooleanField(label=skill.name, required=False, initial=have is not None)
            self.fields[names[1]] = forms.CharField(label=_("certificate number"), required=False, max_length=64,
                                                    initial=have.certificate_no if have else "")
            self.fields[names[2]] = forms.DateField(label=_("certificate valid until"), required=False,
                                                    widget=DateInput(), initial=have.valid_until if have else None)
            for name in names:
                self.style(self.fields[name])
            self.skill_rows.append((skill, *names))

    def skill_data(self) -> list[dict]:
        data = self.cleaned_data
        return [{"skill": skill.code, "certificate_no": data.get(cert) or "", "valid_until": data.get(until)}
                for skill, held, cert, until in self.skill_rows if data.get(held)]

    def bound_skill_rows(self):
        return [(skill, self[held], self[cert], self[until]) for skill, held, cert, until in self.skill_rows]


class WorkerForm(SkillFieldsMixin, BootstrapForm):
    use_required_attribute = False
    required_marks = ("name", "base_latitude", "base_longitude")

    name = forms.CharField(label=_label(Worker, "name"), required=False, max_length=64)
    phone = forms.CharField(label=_label(Worker, "phone"), required=False, max_length=20,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}))
    base_latitude = forms.FloatField(label=_label(Worker, "base_latitude"), required=False,
                                     widget=forms.NumberInput(attrs={"step": "any", "placeholder": "31.4679"}))
    base_longitude = forms.FloatField(label=_label(Worker, "base_longitude"), required=False,
                                      widget=forms.NumberInput(attrs={"step": "any", "placeholder": "104.6796"}))
    user = forms.ChoiceField(label=_("login for the phone pages"), required=False,
                             help_text=_("A caregiver account of your organisation; leave empty to link one later."))

    def __init__(self, *args, logins=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [("", _("no login")), *((str(u.pk), f"{u.full_name or u.username} ({u.username})")
                                                             for u in logins)]
        self.add_skill_fields()

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {"name": data["name"], "phone": data["phone"], "base_latitude": data["base_latitude"],
                "base_longitude": data["base_longitude"], "user_id": data["user"] or None, "skills": self.skill_data()}


class SkillsForm(SkillFieldsMixin, BootstrapForm):
    use_required_attribute = False

    def __init__(self, *args, worker: Worker, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_skill_fields({ws.skill_id: ws for ws in worker.worker_skills.all()})

    def service_data(self) -> dict:
        return {"skills": self.skill_data()}


class ShiftForm(BootstrapForm):
    use_required_attribute = False
    required_marks = ("worker", "day", "start", "end")

    worker = forms.ChoiceField(label=_("worker"), error_messages={"required": _("Choose a worker.")})
    day = forms.DateField(label=_("date"), required=False, widget=DateInput())
    until = forms.DateField(label=_("same hours every day until"), required=False, widget=DateInput(),
                            help_text=_("Optional; a day's earlier shift is replaced."))
    start = forms.TimeField(label=_label(Shift, "start"), required=False, widget=TimeInput())
    end = forms.TimeField(label=_label(Shift, "end"), required=False, widget=TimeInput())
    break_start = forms.TimeField(label=_label(Shift, "break_start"), required=False, widget=TimeInput())
    break_minutes = forms.IntegerField(label=_label(Shift, "break_minutes"), required=False, min_value=0, max_value=600)

    def __init__(self, *args, workers, **kwargs):
        kwargs.setdefault("initial", {"day": timezone.localdate(), "start": "08:00", "end": "17:00",
                                      "break_start": "12:00", "break_minutes": 60})
        super().__init__(*args, **kwargs)
        self.fields["worker"].choices = worker_choices(workers, _("Choose the worker"))

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {"day": data["day"], "until": data["until"], "start": data["start"], "end": data["end"],
                "break_start": data["break_start"], "break_minutes": data["break_minutes"] or 0}


class LeaveForm(BootstrapForm):
    use_required_attribute = False
    required_marks = ("worker", "first_day", "last_day")

    worker = forms.ChoiceField(label=_("worker"), error_messages={"required": _("Choose a worker.")})
    first_day = forms.DateField(label=_label(Leave, "first_day"), required=False, widget=DateInput())
    last_day = forms.DateField(label=_label(Leave, "last_day"), required=False, widget=DateInput())
    reason = forms.CharField(label=_label(Leave, "reason"), required=False, max_length=100)

    def __init__(self, *args, workers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["worker"].choices = worker_choices(workers, _("Choose the worker"))

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {"first_day": data["first_day"], "last_day": data["last_day"], "reason": data["reason"]}


# --- the worker's phone -------------------------------------------------------------------------


class LocationForm(BootstrapForm):
    """Where the phone was; both empty when the browser gave no position (the visit is then flagged)."""

    latitude = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    longitude = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)

    def location(self) -> dict:
        data = self.cleaned_data
        if data.get("latitude") is None or data.get("longitude") is None:
            return {"latitude": None, "longitude": None}
        return {"latitude": data["latitude"], "longitude": data["longitude"]}


class CheckOutForm(LocationForm):
    use_required_attribute = False

    notes = forms.CharField(label=_label(ServiceOrder, "service_notes"), required=False, max_length=1000,
                            widget=forms.Textarea(attrs={"rows": 3}))
    photo = forms.FileField(label=_("photo (optional)"), required=False, widget=forms.FileInput(
        attrs={"accept": "image/*", "capture": "environment"}))

    def clean_photo(self):
        """A JPEG or PNG by its content (not its name), at most 5 MB, that an image library can read."""
        upload = self.cleaned_data.get("photo")
        if not upload:
            return None
        if upload.size > PHOTO_MAX_BYTES:
            raise forms.ValidationError(_("The photo is larger than %(size)s.") % {"size": filesizeformat(PHOTO_MAX_BYTES)})
        upload.seek(0)
        head = upload.read(8)
        kind = next((name for signature, name in PHOTO_SIGNATURES.items() if head.startswith(signature)), None)
        if kind is None or not _image_opens(upload, kind):
            raise forms.ValidationError(_("The photo must be a JPEG or PNG image."))
        upload.seek(0)
        return upload

    def service_data(self) -> dict:
        return {**self.location(), "notes": self.cleaned_data["notes"], "photo": self.cleaned_data["photo"]}


def _image_opens(upload, kind: str) -> bool:
    from PIL import Image

    upload.seek(0)
    try:
        with Image.open(io.BytesIO(upload.read())) as image:
            image.verify()
            return image.format == kind
    except Exception:  # noqa: BLE001 - any decoding failure means "not an image we accept"
        return False


class NoShowForm(LocationForm):
    use_required_attribute = False
    required_marks = ("reason",)

    reason = forms.CharField(label=_("reason"), required=False, max_length=500,
                             widget=forms.TextInput(attrs={"placeholder": _("e.g. nobody opened, neighbour says in hospital")}))

    def service_data(self) -> dict:
        return {**self.location(), "reason": self.cleaned_data["reason"]}
