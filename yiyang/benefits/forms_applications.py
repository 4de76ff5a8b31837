"""Forms of the application pages. They shape input; eligibility, documents and saving are the services'.

A file input gets its own message for a wrong type or size (``applications_rules.check_document``,
the rule the service applies again), because the service's error does not say which file it was.
"""

from __future__ import annotations

import django_filters as filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiyang.core.filters import PageFilterMixin
from yiyang.core.forms import BootstrapForm, FilterForm
from yiyang.people.filters import ElderFilter
from yiyang.people.models import Elder

from . import applications, rules
from . import applications_rules as app_rules
from .applications_rules import Status
from .models import Application, DocumentKind, Programme

# Service error keys that belong to the documents part of the form, not to one field.
DOCUMENT_ERROR_KEYS = ("documents", "file", "kind")
ACCEPT = "application/pdf,image/jpeg,image/png"


def application_programmes(user):
    """Programmes the user may file an application for: active, enrolling by application, visible to them."""
    return (Programme.objects.for_user(user).filter(enrolment=Programme.Enrolment.APPLICATION, is_active=True)
            .order_by("name", "code"))


def awaiting_status(user) -> str | None:
    """The status that waits for the user's review level (None for those who do not review)."""
    level = applications.reviewer_level(user)
    if level is None or not user.has_perm(applications.PERM_REVIEW):
        return None
    return next((status for status, (stage, _next) in app_rules.STAGES.items() if stage == level), None)


def checked_upload(upload) -> None:
    """The service's type and size rule, applied to one file so the message lands next to it."""
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    try:
        app_rules.check_document(size=upload.size, head=head, max_bytes=applications.document_max_bytes())
    except ValidationError as exc:
        raise ValidationError(exc.messages) from exc


class ApplicationListFilter(PageFilterMixin, filters.FilterSet):
    """Programme, status, "awaiting my decision" and a search of the elder (name or last four ID digits)."""

    programme = filters.ChoiceFilter(label=_("programme"), field_name="programme__code")
    status = filters.ChoiceFilter(label=_("status"), choices=Status.choices)
    awaiting = filters.BooleanFilter(label=_("Awaiting my decision"), method="filter_awaiting",
                                     widget=forms.CheckboxInput)
    q = filters.CharFilter(label=_("search"), method="filter_search")

    class Meta:
        model = Application
        fields = ["programme", "status", "awaiting", "q"]
        form = FilterForm

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        user = request.user
        self.waiting_for = awaiting_status(user)
        self.filters["programme"].extra["choices"] = list(
            Programme.objects.for_user(user).filter(enrolment=Programme.Enrolment.APPLICATION)
            .order_by("name").values_list("code", "name"))
        self.filters["q"].extra["widget"] = forms.TextInput(
            attrs={"type": "search", "placeholder": _("Name or last 4 ID digits")})
        if self.waiting_for is None:
            del self.filters["awaiting"]

    def filter_awaiting(self, queryset, name, value):
        return queryset.filter(status=self.waiting_for) if value else queryset

    def filter_search(self, queryset, name, value):
        """The registry's own search (blind indexes, names by prefix) over the elders in reach."""
        elders = ElderFilter().filter_search(Elder.objects.for_user(self.request.user), "q", value)
        return queryset.filter(elder__in=elders.values("pk"))


class ApplicationForm(BootstrapForm):
    """Programme, month asked from and one file per required document kind (plus an optional "other")."""

    use_required_attribute = False

    programme = forms.ChoiceField(label=_("programme"))
    requested_start_month = forms.CharField(
        label=_("payment asked from (month)"), max_length=7,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-11", "pattern": r"\d{4}-\d{2}"}))

    def __init__(self, *args, programmes, programme: Programme | None, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("requested_start_month", f"{timezone.localdate():%Y-%m}")
        super().__init__(*args, **kwargs)
        self.document_errors: list[str] = []
        self.fields["programme"].choices = [("", _("Choose the programme")),
                                            *((p.code, p.name) for p in programmes)]
        if programme is not None:
            self.fields["programme"].initial = programme.code
        required = [k for k in (programme.required_documents if programme else []) if k in DocumentKind.values]
        self.document_fields = []
        for kind in [*required, *([] if DocumentKind.OTHER in required else [DocumentKind.OTHER])]:
            name = f"doc_{kind}"
            self.fields[name] = forms.FileField(label=DocumentKind(kind).label, required=False,
                                                widget=forms.FileInput(attrs={"accept": ACCEPT}))
            self.style(self.fields[name])
            if kind in required:
                self.fields[name].widget.attrs["aria-required"] = "true"
            self.document_fields.append(name)
        self.required_marks = tuple(f"doc_{kind}" for kind in required)

    def add_service_errors(self, error: ValidationError) -> None:
        """Document errors of the service go above the file inputs; the others as BootstrapForm places them."""
        if hasattr(error, "error_dict"):
            rest = {}
            for key, errors in error.error_dict.items():
                if key in DOCUMENT_ERROR_KEYS:
                    self.document_errors.extend(message for each in errors for message in each.messages)
                else:
                    rest[key] = errors
            if not rest:
                return
            error = ValidationError(rest)
        super().add_service_errors(error)

    def clean_requested_start_month(self):
        try:
            return rules.parse_month(self.cleaned_data["requested_start_month"].strip())
        except rules.RuleError as exc:
            raise ValidationError(str(exc)) from exc

    def clean(self):
        for name in self.document_fields:
            upload = self.cleaned_data.get(name)
            if upload:
                try:
                    checked_upload(upload)
                except ValidationError as exc:
                    self.add_error(name, exc)
        return self.cleaned_data

    def documents(self) -> list[tuple[str, object]]:
        """(kind, file) for the service, in the order shown."""
        return [(name.removeprefix("doc_"), self.cleaned_data[name]) for name in self.document_fields
                if self.cleaned_data.get(name)]

    def document_bound_fields(self):
        return [self[name] for name in self.document_fields]


class DecisionForm(BootstrapForm):
    """A reviewer's reason; the decision is the button pressed, and the service requires the reason for a
    return or a rejection."""

    use_required_attribute = False

    reason = forms.CharField(label=_("reason"), max_length=500, required=False,
                             help_text=_("Required to return or reject: the applicant sees it."),
                             widget=forms.Textarea(attrs={"rows": 2}))


class ResubmitForm(BootstrapForm):
    """No input: it carries the service's refusal (e.g. a document still missing) back to the page."""


class WithdrawForm(BootstrapForm):
    use_required_attribute = False

    reason = forms.CharField(label=_("reason"), max_length=500, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))


class DocumentForm(BootstrapForm):
    """One more document for an open application (e.g. what a return asked for)."""

    use_required_attribute = False

    kind = forms.ChoiceField(label=_("kind"), choices=DocumentKind.choices)
    file = forms.FileField(label=_("file"), widget=forms.FileInput(attrs={"accept": ACCEPT}))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        checked_upload(upload)
        return upload
