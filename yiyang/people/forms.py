"""Forms of the registry pages. They shape input; validation and saving are the services'."""

from __future__ import annotations

from django import forms
from django.core.validators import FileExtensionValidator
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from yiyang.areas import navigation
from yiyang.areas.models import Area, Level
from yiyang.core.filters import PageFilterMixin
from yiyang.core.forms import BootstrapForm, DateInput, FilterForm

from .filters import ElderFilter
from .models import (
    Contact,
    Elder,
    ElderStatus,
    HardshipCategory,
    HardshipSource,
    HardshipStatus,
    LivingArrangement,
    ResidenceMove,
)

VILLAGE_SELECT_LIMIT = 1000  # above this a village is entered by its code


def _label(model, name):
    return model._meta.get_field(name).verbose_name


class ElderListFilter(PageFilterMixin, ElderFilter):
    """The registry filter with a select of areas in the user's scope and small controls."""

    class Meta(ElderFilter.Meta):
        form = FilterForm

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        selected = (self.data.get("area") or "").strip()
        self.filters["area"].label = _("area")
        self.filters["area"].extra["widget"] = forms.Select(choices=navigation.area_choices(request.user, selected))
        self.filters["q"].extra["widget"] = forms.TextInput(
            attrs={"type": "search", "placeholder": _("Name, last 4 ID digits or phone")})


def village_widget(user) -> forms.Widget:
    """A select of the villages in scope, grouped by township; a code input for large scopes."""
    villages = Area.objects.for_user(user).filter(level=Level.VILLAGE)
    if not user.is_superuser:
        villages = villages.within(user.scope_code)
    if villages.count() > VILLAGE_SELECT_LIMIT:
        return forms.TextInput(attrs={"inputmode": "numeric", "maxlength": 12, "placeholder": "510703001001"})
    groups: dict[str, list] = {}
    for code, name in villages.order_by("code").values_list("code", "name"):
        groups.setdefault(code[:9], []).append((code, f"{name}（{code}）"))
    townships = dict(Area.objects.for_user(user).filter(code__in=groups).values_list("code", "name"))
    return forms.Select(choices=[("", _("Choose the village")),
                                 *((townships.get(code, code), items) for code, items in groups.items())])


def programme_city(user, elder: Elder) -> str:
    """The city a move may go to: the user's (first 4 digits of the scope), the elder's for administrators."""
    scope = "" if user.is_superuser else user.scope_code
    return scope[:4] if len(scope) >= 4 else elder.area_id[:4]


def city_counties(city_code: str) -> list[tuple[str, str]]:
    """The counties of the city, for the first step of choosing a move's destination."""
    counties = Area.objects.filter(level=Level.COUNTY).within(city_code).order_by("code")
    return [(code, f"{name}（{code}）") for code, name in counties.values_list("code", "name")]


def city_village_widget(county_code: str, *, exclude: str = "") -> forms.Widget:
    """``village_widget`` for a move's destination, which may lie outside the user's jurisdiction.

    Divisions are reference data, so any village of the programme city may be chosen;
    the page lists one county at a time (the county select reloads this list), a code
    input for very large counties as in ``village_widget``.
    """
    villages = Area.objects.filter(level=Level.VILLAGE).within(county_code).exclude(code=exclude)
    if len(county_code) != 6 or villages.count() > VILLAGE_SELECT_LIMIT:
        return forms.TextInput(attrs={"inputmode": "numeric", "maxlength": 12, "placeholder": "510704001001"})
    groups: dict[str, list] = {}
    for code, name in villages.order_by("code").values_list("code", "name"):
        groups.setdefault(code[:9], []).append((code, f"{name}（{code}）"))
    townships = dict(Area.objects.filter(code__in=groups).values_list("code", "name"))
    return forms.Select(choices=[("", _("Choose the village")),
                                 *((townships.get(code, code), items) for code, items in groups.items())])


class MoveForm(BootstrapForm):
    """A move to another village of the city (费随人走); the service checks the village and the date."""

    use_required_attribute = False
    required_marks = ("to_area_code", "moved_on")

    county = forms.ChoiceField(label=_("county moved to"), required=False)
    to_area_code = forms.CharField(label=_("village (community) moved to"), required=False, max_length=12)
    moved_on = forms.CharField(label=_label(ResidenceMove, "moved_on"), required=False, widget=DateInput())
    address = forms.CharField(label=_("new address"), required=False, max_length=200,
                              help_text=_("Leave blank to keep the current address."))

    def __init__(self, *args, user, elder: Elder, county: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        counties = city_counties(programme_city(user, elder))
        self.fields["county"].choices = counties
        known = {code for code, _label in counties}
        wanted = county or (self.data.get("county") if self.is_bound else "") or ""
        self.chosen_county = wanted if wanted in known else elder.area_id[:6]
        self.fields["county"].initial = self.chosen_county
        self.fields["to_area_code"].widget = city_village_widget(self.chosen_county, exclude=elder.area_id)
        self.style(self.fields["to_area_code"])
        self.fields["to_area_code"].widget.attrs["aria-required"] = "true"
        # Choosing a county reloads the village list (people/_move_village.html).
        self.fields["county"].widget.attrs.update({
            "hx-get": reverse("people:move_villages", args=[elder.pk]), "hx-trigger": "change",
            "hx-target": "#move-village", "hx-swap": "outerHTML"})

    def clean(self):
        cleaned = super().clean()
        village = (cleaned.get("to_area_code") or "").strip()
        if village and cleaned.get("county") and not village.startswith(cleaned["county"]):
            # Without scripts the village list still shows the previous county: ask again.
            self.add_error("to_area_code", _("Choose a village of the chosen county."))
        return cleaned

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {"to_area_code": data["to_area_code"].strip(), "moved_on": data["moved_on"],
                "address": data["address"].strip()}


class ElderForm(BootstrapForm):
    """Registering an elder; the registry's own validation runs in the service."""

    use_required_attribute = False  # the server's messages, not the browser's
    # Empty required fields are the registry's errors, so they show together with the others.
    required_marks = ("name", "id_number", "area_code")

    name = forms.CharField(label=_label(Elder, "name"), max_length=64, required=False)
    id_number = forms.CharField(label=_label(Elder, "id_number"), max_length=30, required=False,
                                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    area_code = forms.CharField(label=_label(Elder, "area"), required=False)
    phone = forms.CharField(label=_label(Elder, "phone"), required=False, max_length=20,
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}))
    address = forms.CharField(label=_label(Elder, "address"), required=False, max_length=200)
    hukou_area_code = forms.CharField(label=_label(Elder, "hukou_area_code"), required=False, max_length=12)
    living_arrangement = forms.ChoiceField(label=_label(Elder, "living_arrangement"), required=False,
                                           choices=[("", "—"), *LivingArrangement.choices])
    family_doctor = forms.CharField(label=_label(Elder, "family_doctor"), required=False, max_length=100)
    family_doctor_signed_on = forms.CharField(label=_label(Elder, "family_doctor_signed_on"), required=False,
                                              widget=DateInput())
    chronic_conditions = forms.CharField(label=_label(Elder, "chronic_conditions"), required=False,
                                         widget=forms.Textarea(attrs={"rows": 2}))
    latitude = forms.CharField(label=_label(Elder, "latitude"), required=False, max_length=20)
    longitude = forms.CharField(label=_label(Elder, "longitude"), required=False, max_length=20)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area_code"].widget = village_widget(user)
        self.style(self.fields["area_code"])
        if user.scope_code and len(user.scope_code) == 12:
            self.fields["area_code"].initial = user.scope_code
        # Checked on leaving the field: the error, or the birth date and sex the number gives.
        self.fields["id_number"].widget.attrs.update({
            "hx-post": reverse("people:check_id"), "hx-trigger": "blur",
            "hx-target": "#id_id_number-feedback", "hx-swap": "innerHTML",
        })


class ElderEditForm(ElderForm):
    """Changing an elder, recording a death or a move included.

    Personal data is never put back into the page: a blank ID number, phone or
    health field keeps the stored value.
    """

    KEEP_IF_BLANK = ("id_number", "phone", "chronic_conditions")
    required_marks = ("name", "area_code")

    status = forms.ChoiceField(label=_label(Elder, "status"), choices=ElderStatus.choices)
    death_date = forms.CharField(label=_label(Elder, "death_date"), required=False, widget=DateInput())
    moved_away_date = forms.CharField(label=_label(Elder, "moved_away_date"), required=False, widget=DateInput())
    moved_to = forms.CharField(label=_label(Elder, "moved_to"), required=False, max_length=200)

    INITIAL_FIELDS = ("name", "address", "hukou_area_code", "living_arrangement", "family_doctor",
                      "family_doctor_signed_on", "latitude", "longitude", "status", "death_date",
                      "moved_away_date", "moved_to")

    def __init__(self, *args, user, elder: Elder, **kwargs):
        initial = {name: getattr(elder, name) for name in self.INITIAL_FIELDS}
        initial = {name: "" if value is None else value for name, value in initial.items()}
        kwargs["initial"] = {**initial, "area_code": elder.area_id}
        super().__init__(*args, user=user, **kwargs)
        masked = {"id_number": elder.id_number_masked, "phone": elder.phone_masked,
                  "chronic_conditions": "***" if elder.chronic_conditions else ""}
        for name in self.KEEP_IF_BLANK:
            self.fields[name].widget.attrs["placeholder"] = masked[name]
            self.fields[name].help_text = _("Leave blank to keep the current value.")

    def service_data(self) -> dict:
        data = super().service_data()
        return {name: value for name, value in data.items() if value or name not in self.KEEP_IF_BLANK}


class HardshipForm(BootstrapForm):
    use_required_attribute = False

    category = forms.ChoiceField(
        label=_label(HardshipStatus, "category"),
        choices=[(c.value, c.label) for c in HardshipCategory if c != HardshipCategory.ADVANCED_AGE])
    start_date = forms.CharField(label=_label(HardshipStatus, "start_date"), widget=DateInput())
    source = forms.ChoiceField(label=_label(HardshipStatus, "source"), choices=HardshipSource.choices)
    evidence = forms.CharField(label=_label(HardshipStatus, "evidence"), required=False, max_length=300)


class HardshipEndForm(BootstrapForm):
    use_required_attribute = False

    end_date = forms.CharField(label=_label(HardshipStatus, "end_date"), widget=DateInput())


class ContactForm(BootstrapForm):
    use_required_attribute = False

    name = forms.CharField(label=_label(Contact, "name"), max_length=64)
    relation = forms.ChoiceField(label=_label(Contact, "relation"), choices=Contact._meta.get_field("relation").choices)
    phone = forms.CharField(label=_label(Contact, "phone"), required=False, max_length=20,
                            widget=forms.TextInput(attrs={"type": "tel"}))
    priority = forms.IntegerField(label=_label(Contact, "priority"), min_value=1, max_value=99, initial=1)
    is_guardian = forms.BooleanField(label=_label(Contact, "is_guardian"), required=False)
    is_emergency = forms.BooleanField(label=_label(Contact, "is_emergency"), required=False, initial=True)
    lives_together = forms.BooleanField(label=_label(Contact, "lives_together"), required=False)


class ImportForm(BootstrapForm):
    file = forms.FileField(
        label=_("Roster file"), help_text=_("An .xlsx or .csv file laid out like the template."),
        validators=[FileExtensionValidator(["xlsx", "csv"])],
        widget=forms.FileInput(attrs={"accept": ".xlsx,.csv"}))
    dry_run = forms.BooleanField(
        label=_("Dry run: check the file without saving"), required=False, initial=True)
