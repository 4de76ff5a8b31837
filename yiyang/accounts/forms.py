from django import forms
from django.utils.translation import gettext_lazy as _

from yiyang.areas import navigation
from yiyang.core.forms import BootstrapForm
from yiyang.organizations.models import Organization

from .models import User
from .services import grantable_roles


def _label(name):
    return User._meta.get_field(name).verbose_name


class AccountForm(BootstrapForm):
    """A new account; which roles and places are allowed is the service's decision."""

    use_required_attribute = False

    username = forms.CharField(label=_label("username"), max_length=150)
    full_name = forms.CharField(label=_label("full_name"), max_length=64, required=False)
    role = forms.ChoiceField(label=_label("role"))
    scope_area = forms.CharField(
        label=_label("scope_area"), required=False, max_length=12,
        help_text=_("Area code: county 6, township 9, village 12 digits. For roles that work in an area."),
        widget=forms.TextInput(attrs={"list": "scope-areas", "inputmode": "numeric", "autocomplete": "off"}))
    organization = forms.ModelChoiceField(
        label=_label("organization"), queryset=Organization.objects.none(), required=False, empty_label="—",
        help_text=_("For staff of a provider, an institution or a volunteer team."))
    password = forms.CharField(label=_("initial password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               help_text=_("At least 10 characters; tell it to the person in person."))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", "—"), *((role.value, role.label) for role in grantable_roles(user))]
        self.fields["organization"].queryset = Organization.objects.for_user(user).filter(is_active=True)
        own = [(user.scope_code, user.scope_area.name)] if user.scope_kind == "area" and user.scope_area_id else []
        self.area_options = own + navigation.area_choices(user)[1:]

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        organization = data.pop("organization")
        data["scope_area_code"] = data.pop("scope_area")
        data["organization_id"] = organization.pk if organization else None
        return data
