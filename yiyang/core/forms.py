"""Form helpers shared by the back-office pages: Bootstrap styling and service errors."""

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _


class BootstrapFormMixin:
    """Compact Bootstrap widgets, one field template, and errors from services mapped onto fields."""

    field_template = "core/forms/field.html"
    # Fields marked as required although the service, not the form, says so when they are empty.
    required_marks: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            self.style(field)
        for name in self.required_marks:
            self.fields[name].widget.attrs["aria-required"] = "true"

    def style(self, field: forms.Field) -> None:
        """Call again after replacing a field's widget."""
        field.template_name = self.field_template
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select form-select-sm"
        else:
            css = "form-control form-control-sm"
        widget.attrs["class"] = f"{css} {widget.attrs.get('class', '')}".strip()

    def service_data(self) -> dict:
        """The keyword arguments for the service this form feeds."""
        return dict(self.cleaned_data)

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a service's ValidationError next to the fields it names; the rest above the form."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, errors in error.error_dict.items():
            self.add_error(name if name in self.fields else None, errors)


class BootstrapForm(BootstrapFormMixin, forms.Form):
    pass


class FilterForm(BootstrapForm):
    """The form of a list filter: one line of small controls."""

    field_template = "core/forms/filter_field.html"


class DateInput(forms.DateInput):
    """A native date picker; the value is sent as YYYY-MM-DD."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


def run_service(form, call, *refusals: type[Exception]) -> bool:
    """Run a service with the form's data; True when it succeeded.

    Its ValidationError lands next to the fields it names; a PermissionDenied or
    any of ``refusals`` (a domain's rule errors) is shown above the form.
    """
    try:
        call(form.service_data())
    except ValidationError as exc:
        form.add_service_errors(exc)
        return False
    except (PermissionDenied, *refusals) as exc:
        form.add_error(None, str(exc) or _("You do not have permission to do this."))
        return False
    return True
