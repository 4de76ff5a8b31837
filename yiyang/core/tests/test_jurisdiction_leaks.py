"""The jurisdiction walker: no page or API endpoint shows one county's records to its sibling county.

Logged in as the official of county A (and then of sibling county B), the walker discovers every
registered URL pattern (nothing here names a page), fills each parameter with keys of objects of
BOTH counties (elders, areas, contacts, hardship statuses, users, organisations, audit entries and
any other model with a scope policy), adds the usual query parameters to lists, and requests it
with the page client (session, HTML) and the API client (token, JSON). It fails, naming the URL,
when a response

* carries a record of the other county: an elder's name, ID number (clear or masked) or phone, a
  contact's or official's name, an organisation, a township or village, or a code of the other
  county followed by more digits (``510704001``);
* answers 2xx for a key of the other county's object (detail URLs must be 404 or 403);
* shows a clear ID number or phone without writing an audited reveal or export;
* is a server error (the walker cannot vouch for what it did not see).

Unsafe methods are tried on every URL with the other county's keys and a payload aimed at the
other county (its village code, elder, organisation...): no row of the other county may be created,
changed or removed.

Codes, organisations and officials of the other county that the official of an unrelated county
(510705, no records) gets from the same URL too are not counted: they are static text (an example
row in a template) or public facts. Personal data always counts. A 2xx for the other county's key is
accepted only when anonymous visitors get the URL too (a public page).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import itertools
import json
import re
import zipfile
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus, urlencode

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import ForeignKey, Q
from django.db.models.signals import post_save
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve
from django.utils.regex_helper import normalize

from yiyang.accounts.roles import Role
from yiyang.alarms import ladder
from yiyang.areas.models import Area
from yiyang.conftest import TODAY, birth_for_age, make_id_number
from yiyang.core.masking import mask_id_number, mask_phone
from yiyang.core.models import AuditAction, AuditEntry
from yiyang.core.scoping import area_prefix_q
from yiyang.organizations.models import Organization, OrganizationKind
from yiyang.people import services
from yiyang.people.idnumber import check_char
from yiyang.people.models import Contact, Elder, ElderAccess, HardshipStatus

COUNTIES = ("510703", "510704")
CONTROL_COUNTY = "510705"  # an unrelated county with no records: what its official sees is not scoped data
LETTER = {"510703": "甲", "510704": "乙"}
OFFICIAL = {"510703": "county_a", "510704": "county_b"}
REQUIRED_API_LISTS = ("/api/v1/elders/", "/api/v1/areas/", "/api/v1/audit/", "/api/v1/users/", "/api/v1/organizations/")
SKIP_WORDS = ("logout", "setlang", "set_language", "static/", "media/")
UNSAFE = ("post", "put", "patch", "delete")
PER_MODEL_SAMPLE = 4  # objects per model and county for keys whose model is known
GENERIC_SAMPLE = 2  # ... and for keys of unknown meaning (function views)


# --- the two counties' data ----------------------------------------------------------------------

def _other(county: str) -> str:
    return COUNTIES[1 - COUNTIES.index(county)]


def _id_with_last_char_not_in(county: str, age: int, taken: set[str]) -> str:
    birth = birth_for_age(age)
    for seq in range(300, 999):
        first17 = f"{county}{birth:%Y%m%d}{seq:03d}"
        if check_char(first17) not in taken:
            return first17 + check_char(first17)
    raise AssertionError("no free check character")  # pragma: no cover


@pytest.fixture
def two_counties(city):
    """The shared personas plus, in each county, one of every kind of record with a unique marker."""
    User = get_user_model()
    for county in COUNTIES:
        letter, official = LETTER[county], city.user(OFFICIAL[county])
        elders = city.elders[county]
        org = Organization.objects.create(name=f"{letter}县专属照护中心", kind=OrganizationKind.INSTITUTION,
                                          area_id=f"{county}001002", phone=f"0816-{county[-1]}111111")
        User.objects.create(username=f"t-staff-{county}", full_name=f"{letter}县护理员", role=Role.CAREGIVER, organization=org)
        if county == "510704":
            township = User(username="t-township-b", full_name="乙街道干部", role=Role.TOWNSHIP_OFFICIAL,
                            scope_area_id="510704001")
            township.set_unusable_password()
            township.save()
        services.add_contact(elders[1], acting_user=official, name=f"{letter}家属专名", relation="daughter",
                             phone=f"137{county[-1]}123456{county[-1]}")
        services.add_hardship(elders[2], acting_user=official, category="dibao", start_date=TODAY - dt.timedelta(days=20),
                              source="civil_affairs", evidence=f"{letter}证据第{county}号")
        services.reveal(elders[0], "phone", acting_user=official, reason="回访")
        services.update_elder(elders[3], acting_user=official, data={"address": f"{letter}县更新地址"})
        other_last_chars = {e.id_number[-1] for e in Elder.objects.filter(area__code__startswith=_other(county))}
        unique = services.register_elder(acting_user=official, data={
            "name": f"{letter}独特老人", "id_number": _id_with_last_char_not_in(county, 77, other_last_chars),
            "area_code": f"{county}001002", "phone": f"135{county[-1]}7654321"})
        departed = services.register_elder(acting_user=official, data={
            "name": f"{letter}县逝者", "id_number": make_id_number(county, birth_for_age(95), 400, "F"),
            "area_code": f"{county}001001"})
        services.record_death(departed, acting_user=official, death_date=TODAY - dt.timedelta(days=3))
        elders.extend([unique, departed])
        family = User.objects.create(username=f"t-family-{county}", full_name=f"{letter}家属账号", role=Role.ELDER)
        ElderAccess.objects.create(user=family, elder=elders[1], relation="daughter")
        _alarm_records(county, letter, elders[1])
        ladder.give_county_its_own("fall", county, acting_user=official)  # a county's own escalation ladder
    return city


def _alarm_records(county: str, letter: str, elder: Elder) -> None:
    """A watch with a safe zone and a position, and an alarm escalated far enough to have texted the family."""
    from yiyang.alarms import escalation
    from yiyang.alarms import services as alarms
    from yiyang.alarms.models import Alarm, Geofence, Telemetry

    device, _secret = alarms.register_device(acting_user=None, device_id=f"t-leak-watch-{county}", kind="gps_watch",
                                             elder=elder, secret=f"leak-secret-{county}")
    Geofence.objects.create(elder=elder, name=f"{letter}县围栏专名", latitude=31.4, longitude=104.7, radius_m=300)
    Telemetry.objects.create(device=device, msg_id=f"leak-pos-{county}", type="location",
                             data={"lat": 31.41, "lon": 104.71})
    alarm = Alarm.objects.create(device=device, msg_id=f"leak-alarm-{county}", type="sos", elder=elder,
                                 area_code=elder.area_id, note=f"{letter}县告警专名")
    escalation.plan([alarm])
    escalation.run_due(alarm.received_at + dt.timedelta(seconds=200))


# --- what belongs to a county ---------------------------------------------------------------------

def scoped_models():
    return [m for m in apps.get_models() if getattr(m, "scope", None) is not None]


def in_county_q(model, county: str) -> Q | None:
    """Rows of ``model`` that belong to ``county``: by area path, or by the organisation's area."""
    policy = model.scope
    q = None
    if policy.area:
        q = area_prefix_q(policy.area, county)
    if policy.organization and policy.organization != "pk":
        try:
            relation = model._meta.get_field(policy.organization)
        except Exception:  # noqa: BLE001 - a path through relations: leave it to the area path
            relation = None
        if isinstance(relation, ForeignKey) and relation.related_model is Organization:
            by_org = area_prefix_q(f"{policy.organization}__area", county)
            q = by_org if q is None else q | by_org
    return q


def county_rows(model, county: str):
    q = in_county_q(model, county)
    return model._base_manager.none() if q is None else model._base_manager.filter(q).distinct()


def fingerprint(county: str) -> dict[str, list[str]]:
    """Every row of every scoped model in ``county``, as text: any create, change or delete shows."""
    return {model._meta.label: sorted(repr(row) for row in county_rows(model, county).order_by("pk").values_list())
            for model in scoped_models()}


def rows_written() -> int:
    """Rows inserted, updated or deleted so far by this connection (the walk's requests run on it).

    A cheap, exact counter on both databases: the walk takes the fingerprint again only when it moved.
    """
    sql = ("SELECT total_changes()" if connection.vendor == "sqlite" else
           "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables")
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def describe_change(before: dict, after: dict) -> str:
    changed = []
    for label in sorted(set(before) | set(after)):
        old, new = set(before.get(label, [])), set(after.get(label, []))
        if old != new:
            changed.append(f"{label}: +{len(new - old)} -{len(old - new)} rows")
    return "; ".join(changed)


@dataclass(frozen=True)
class Value:
    text: str
    county: str | None  # owner: one of COUNTIES, or None when shared (ancestor areas, tokens)
    what: str
    strict: bool = False  # a key whose object is known: a 2xx answer for the other county is a leak


@dataclass
class Markers:
    personal: dict[str, str] = field(default_factory=dict)  # never shown to the other county, public or not
    scoped: dict[str, str] = field(default_factory=dict)  # not shown to the other county except on public pages
    code: re.Pattern | None = None
    clear: dict[str, str] = field(default_factory=dict)  # clear personal data of the viewer's own county


def county_facts(county: str) -> dict[str, dict[str, str]]:
    """Texts that identify the county's records, by kind."""
    User = get_user_model()
    elders = list(Elder.objects.filter(area__code__startswith=county))
    contacts = list(Contact.objects.filter(elder__area__code__startswith=county))
    return {
        "name": {e.name: f"elder {e.pk} name" for e in elders} | {c.name: f"contact {c.pk} name" for c in contacts},
        "clear": {e.id_number: f"elder {e.pk} ID number" for e in elders}
        | {e.phone: f"elder {e.pk} phone" for e in elders if e.phone}
        | {c.phone: f"contact {c.pk} phone" for c in contacts if c.phone},
        "masked": {mask_id_number(e.id_number): f"elder {e.pk} masked ID" for e in elders}
        | {mask_phone(e.phone): f"elder {e.pk} masked phone" for e in elders if e.phone}
        | {mask_phone(c.phone): f"contact {c.pk} masked phone" for c in contacts if c.phone},
        "evidence": {h.evidence: f"hardship {h.pk} evidence" for h in HardshipStatus.objects.filter(elder__area__code__startswith=county)
                     if h.evidence},
        "account": {text: f"user {u.pk}" for u in User.objects.filter(
            Q(scope_area__code__startswith=county) | Q(organization__area__code__startswith=county)) for text in (u.username, u.full_name) if text},
        "organisation": {o.name: f"organisation {o.pk}" for o in Organization.objects.filter(area__code__startswith=county)},
        "area": {a.name: f"area {a.code}" for a in Area.objects.filter(code__startswith=county).exclude(code=county)},
    }


def markers_for(viewer_county: str) -> Markers:
    mine, theirs = county_facts(viewer_county), county_facts(_other(viewer_county))
    own_texts = set().union(*mine.values())
    markers = Markers(code=re.compile(rf"(?<![0-9A-Za-z]){_other(viewer_county)}\d+"), clear=dict(mine["clear"]))
    for kind, facts in theirs.items():
        for text, what in facts.items():
            if len(text) < 3 or text in own_texts:
                continue  # shared by both counties (e.g. the same contact phone): identifies nothing
            target = markers.personal if kind in ("name", "clear", "masked", "evidence") else markers.scoped
            target[text] = f"{what} of county {_other(viewer_county)}"
    return markers


def find_leaks(text: str, markers: Markers, *, public: bool) -> list[str]:
    found = [f"{what}: {marker!r}" for marker, what in markers.personal.items() if marker in text]
    if not public:
        found += [f"{what}: {marker!r}" for marker, what in markers.scoped.items() if marker in text]
        found += [f"code of the other county: {m.group(0)!r}" for m in itertools.islice(markers.code.finditer(text), 3)]
    return found


def find_clear_values(text: str, markers: Markers) -> list[str]:
    return [f"{what} in clear: {marker!r}" for marker, what in markers.clear.items() if marker in text]


# --- discovering URLs -----------------------------------------------------------------------------

@dataclass
class Route:
    template: str  # "api/v1/elders/%(pk)s/"
    params: list[str]
    callback: object
    name: str

    @property
    def view_class(self):
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)

    @property
    def drf_actions(self) -> dict | None:
        return getattr(self.callback, "actions", None)

    @property
    def model(self):
        cls = self.view_class
        for attr in ("base_queryset", "queryset"):
            qs = getattr(cls, attr, None)
            if qs is not None and hasattr(qs, "model"):
                return qs.model
        return getattr(cls, "model", None)

    def lookups(self) -> dict[str, str]:
        """URL parameter -> model attribute, for class-based views that declare one."""
        cls, found = self.view_class, {}
        if cls is None:
            return found
        if getattr(cls, "lookup_field", None):
            found[getattr(cls, "lookup_url_kwarg", None) or cls.lookup_field] = cls.lookup_field
        if getattr(cls, "pk_url_kwarg", None):
            found[cls.pk_url_kwarg] = "pk"
        if getattr(cls, "slug_url_kwarg", None):
            found[cls.slug_url_kwarg] = getattr(cls, "slug_field", "slug")
        return found

    @property
    def is_list_like(self) -> bool:
        if self.drf_actions is not None:
            return "list" in self.drf_actions.values()
        return self.view_class is None or not hasattr(self.view_class, "permission_classes")

    def unsafe_methods(self) -> list[str]:
        if self.drf_actions is not None:
            return [m for m in UNSAFE if m in self.drf_actions]
        if self.view_class is not None:
            return [m for m in UNSAFE if hasattr(self.view_class, m)]
        return ["post"]  # a function view: it may accept POST, try


def discover_routes() -> list[Route]:
    routes: list[Route] = []

    def walk(patterns, prefix: str, prefix_params: list[str]):
        for pattern in patterns:
            fmt, params = normalize(pattern.pattern.regex.pattern)[0]
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + fmt, prefix_params + list(params))
            elif isinstance(pattern, URLPattern):
                routes.append(Route(prefix + fmt, prefix_params + list(params), pattern.callback, pattern.name or ""))

    walk(get_resolver().url_patterns, "", [])
    return routes


def skipped(route: Route) -> bool:
    text = f"{route.template} {route.name} {getattr(route.callback, '__name__', '')} {route.view_class}".lower()
    return any(word in text for word in SKIP_WORDS)


# --- values for parameters ------------------------------------------------------------------------

class Pools:
    def __init__(self, viewer_county: str):
        self.viewer, self.other = viewer_county, _other(viewer_county)
        self.by_model: dict[type, list[tuple[object, str]]] = {}
        for model in scoped_models():
            for county in COUNTIES:
                rows = list(county_rows(model, county).order_by("pk"))
                sample = rows if len(rows) <= PER_MODEL_SAMPLE else rows[:PER_MODEL_SAMPLE // 2] + rows[-PER_MODEL_SAMPLE // 2:]
                self.by_model.setdefault(model, []).extend((obj, county) for obj in sample)
        self.areas = [Value(a.code, county, f"area {a.code}", strict=True)
                      for county in COUNTIES for a in Area.objects.filter(code__startswith=county)]
        self.areas += [Value(code, None, f"area {code} (above both)") for code in ("51", "5107")]
        ints: dict[str, Value] = {}
        for model, objs in self.by_model.items():  # keys of unknown meaning: a couple per model and county
            for county in COUNTIES:
                for obj in [o for o, c in objs if c == county][:GENERIC_SAMPLE]:
                    ints.setdefault(str(obj.pk), Value(str(obj.pk), county, f"{model._meta.label_lower} {obj.pk}"))
        self.ints = list(ints.values())
        User = get_user_model()
        self.words = [Value(u.username, county, f"user {u.username}")
                      for county in COUNTIES for u in User.objects.filter(scope_area__code__startswith=county)]
        self.words += [Value(text, None, "token") for text in (
            "id_number", "phone", f"{TODAY:%Y-%m}", TODAY.isoformat(), "gaoling", "json")]

    def model_values(self, model, attr: str) -> list[Value]:
        return [Value(str(getattr(obj, attr)), county, f"{model._meta.label_lower} {obj.pk}", strict=True)
                for obj, county in self.by_model.get(model, [])]

    def shared_values(self, model, attr: str) -> list[Value]:
        """A few objects of the model that belong to neither county (a city-wide programme, say)."""
        counted = [obj.pk for obj, _county in self.by_model.get(model, [])]
        return [Value(str(getattr(obj, attr)), None, f"{model._meta.label_lower} {obj.pk} (shared)")
                for obj in model._base_manager.exclude(pk__in=counted).order_by("pk")[:3]]

    def for_param(self, route: Route, param: str) -> list[Value]:
        if param == "format":
            return [Value("json", None, "format")]
        lookups = route.lookups()
        model = route.model
        if param in lookups and model is not None:
            if model is Area:
                return self.areas
            values = self.model_values(model, lookups[param]) + self.shared_values(model, lookups[param])
            if values:
                return values
        lowered = param.lower()
        if "code" in lowered or lowered in ("area", "parent", "village", "township", "county"):
            return self.areas
        if lowered in ("pk", "id") or lowered.endswith(("_pk", "_id", "pk")):
            return self.ints
        return self.words + [v for v in self.areas if len(v.text) in (6, 12)] + self.ints

    def combinations(self, route: Route) -> list[dict[str, Value]]:
        """Each value of each parameter at least once, the others held at a value of the same county."""
        if not route.params:
            return [{}]
        pools = {p: self.for_param(route, p) for p in route.params}
        combos, seen = [], set()
        for param in route.params:
            for value in pools[param]:
                combo = {param: value}
                for other in route.params:
                    if other != param and pools[other]:
                        same = [v for v in pools[other] if v.county == value.county] or pools[other]
                        combo[other] = same[0]
                if len(combo) < len(route.params):
                    continue
                key = tuple(sorted((k, v.text) for k, v in combo.items()))
                if key not in seen:
                    seen.add(key)
                    combos.append(combo)
        return combos

    def query_variants(self) -> list[dict[str, str]]:
        other = self.other
        elders = [o for o, c in self.by_model.get(Elder, []) if c == other]
        orgs = [o for o, c in self.by_model.get(Organization, []) if c == other]
        elder = elders[0]
        variants = [{}, {"page_size": "1000"}]
        for key, value in [
            ("area", other), ("area", f"{other}001001"), ("parent", other), ("parent", f"{other}001"), ("level", "5"),
            ("q", LETTER[other] + "老人"), ("q", elder.id_number[-4:]), ("q", elder.id_number), ("q", elder.phone),
            ("elder", str(elder.pk)), ("object_id", str(elder.pk)), ("organization", str(orgs[0].pk) if orgs else ""),
            ("area_code", f"{other}001001"), ("status", "deceased"), ("hardship", "tekun"),
        ]:
            variants.append({key: value, "page_size": "1000"})
        return variants

    def payload(self) -> dict[str, str]:
        """A write aimed at the other county, with every name a create form might use."""
        other = self.other
        elder = next(o for o, c in self.by_model[Elder] if c == other)
        org = next((o for o, c in self.by_model.get(Organization, []) if c == other), None)
        return {
            "name": "越界登记", "full_name": "越界账号", "id_number": make_id_number(other, birth_for_age(66), 450),
            "area_code": f"{other}001001", "area": f"{other}001001", "village": f"{other}001001",
            "parent": f"{other}001", "code": f"{other}001009", "scope_area": other, "scope_area_code": other,
            "elder": str(elder.pk), "elder_id": str(elder.pk), "organization": str(org.pk) if org else "",
            "category": "dibao", "start_date": (TODAY - dt.timedelta(days=10)).isoformat(),
            "end_date": TODAY.isoformat(), "source": "civil_affairs", "relation": "son", "phone": "13912345678",
            "field": "id_number", "reason": "越界测试", "username": "leak-probe", "password": "Leak-probe-pass-2026",
            "password1": "Leak-probe-pass-2026", "password2": "Leak-probe-pass-2026", "role": Role.VILLAGE_OFFICIAL,
            "status": "deceased", "death_date": (TODAY - dt.timedelta(days=1)).isoformat(), "kind": "provider",
            "is_guardian": "on", "address": "越界地址",
        }


# --- requests -------------------------------------------------------------------------------------

def body_text(response) -> str:
    content = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    if content[:4] == b"PK\x03\x04":  # .xlsx / .docx / .zip: read what is inside
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                content = b"\n".join(archive.read(name) for name in archive.namelist())
        except zipfile.BadZipFile:
            pass
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        text = content.decode("gb18030", errors="replace")
    headers = " ".join(f"{k}: {v}" for k, v in response.items() if k.lower() in ("location", "content-disposition"))
    return text + "\n" + headers


def strip_echoes(text: str, injected: list[str], markers: Markers) -> str:
    """Remove the values the walker itself sent (a search box shows what was searched for)."""
    for value in injected:
        if not value or not find_leaks(value, markers, public=False) and value not in markers.clear:
            continue
        for form in {value, quote(value), quote(value, safe=""), quote_plus(value), html.escape(value),
                     json.dumps(value)[1:-1]}:
            text = text.replace(form, "\x00")
    return text


@dataclass
class Walk:
    viewer_key: str
    viewer_county: str
    clients: dict[str, Client]
    anonymous: Client
    controls: dict[str, Client]
    markers: Markers
    failures: list[str] = field(default_factory=list)
    visited_ok: set[tuple[str, str]] = field(default_factory=set)
    strict_checked: int = 0
    unsafe_tried: int = 0
    viewer_id: int = 0
    own_names: set[str] = field(default_factory=set)
    own_names_seen: set[str] = field(default_factory=set)
    disclosures: int = 0  # audited reveals and exports by the viewer, counted by a signal receiver
    _public: dict[str, bool] = field(default_factory=dict)

    def fail(self, client_name, method, url, status, problem):
        self.failures.append(f"[{self.viewer_key} via {client_name}] {method.upper()} {url} -> {status}: {problem}")

    def is_public(self, url: str) -> bool:
        if url not in self._public:
            self._public[url] = self.anonymous.get(url).status_code < 300
        return self._public[url]

    def on_audit(self, sender, instance, created, **kwargs):
        if created and instance.actor_id == self.viewer_id and instance.action in (AuditAction.REVEAL, AuditAction.EXPORT):
            self.disclosures += 1

    def check(self, client_name, method, url, response, injected: list[str], strict_other: str | None,
              disclosures_before: int, data=None):
        status = response.status_code
        if status >= 500:
            exc = getattr(response, "exc_info", None)
            self.fail(client_name, method, url, status, f"server error {exc[1]!r}" if exc else "server error")
            return
        text = strip_echoes(body_text(response), injected, self.markers)
        leaks = find_leaks(text, self.markers, public=False)
        personal = find_leaks(text, self.markers, public=True)
        if len(leaks) > len(personal):
            # Codes, organisations or officials of the other county: not a leak when an official of an
            # unrelated county gets them too (a static example in a template, a public page).
            control = self.controls[client_name]
            seen = request(control, method, url, data)
            if seen.status_code < 300:
                same = set(find_leaks(strip_echoes(body_text(seen), injected, self.markers), self.markers, public=False))
                leaks = [leak for leak in leaks if leak in personal or leak not in same]
        if leaks:
            self.fail(client_name, method, url, status, "shows the other county's " + "; ".join(leaks[:5]))
        clear = find_clear_values(text, self.markers)
        if clear and self.disclosures == disclosures_before:
            self.fail(client_name, method, url, status, "shows personal data without an audited reveal: " + "; ".join(clear[:3]))
        if strict_other is not None:
            self.strict_checked += 1
            if 200 <= status < 300 and not (method == "get" and self.is_public(url)):
                self.fail(client_name, method, url, status, f"answers for the other county's {strict_other} (want 404/403)")
        if status == 200:
            self.visited_ok.add((client_name, url.split("?")[0]))
            self.own_names_seen.update(n for n in self.own_names if n in text)


def request(client: Client, method: str, url: str, data=None):
    if method == "get":
        return client.get(url)
    if method == "post":
        return client.post(url, data or {})
    body = json.dumps(data or {})
    return getattr(client, method)(url, body, content_type="application/json")


def walk_as(city, viewer_key: str, api_client_for, only: str = "") -> Walk:
    viewer = city.user(viewer_key)
    county = viewer.scope_area_id
    other = _other(county)
    page = Client(raise_request_exception=False, HTTP_ACCEPT="text/html,application/xhtml+xml")
    page.force_login(viewer)
    api = api_client_for(viewer)
    api.raise_request_exception = False
    control = get_user_model().objects.get_or_create(
        username="t-county-control", defaults={"role": Role.COUNTY_OFFICIAL, "scope_area_id": CONTROL_COUNTY})[0]
    control_page = Client(raise_request_exception=False, HTTP_ACCEPT="text/html,application/xhtml+xml")
    control_page.force_login(control)
    control_api = api_client_for(control)
    control_api.raise_request_exception = False
    walk = Walk(viewer_key, county, {"page": page, "api": api}, Client(raise_request_exception=False),
                {"page": control_page, "api": control_api}, markers_for(county),
                viewer_id=viewer.pk, own_names={e.name for e in Elder.objects.filter(area__code__startswith=county)})
    pools = Pools(county)
    routes = [r for r in discover_routes() if not skipped(r) and only in r.template]
    assert routes, "no URL patterns discovered"
    baseline = fingerprint(other)
    post_save.connect(walk.on_audit, sender=AuditEntry, weak=False, dispatch_uid="leak-walker")
    try:
        walk_routes(walk, routes, pools, other, baseline)
    finally:
        post_save.disconnect(sender=AuditEntry, dispatch_uid="leak-walker")
    return walk


def walk_routes(walk: Walk, routes: list[Route], pools: Pools, other: str, baseline: dict) -> None:
    written = rows_written()
    for route in routes:
        tried: list[str] = []
        secondary_done: set[str] = set()
        for combo in pools.combinations(route):
            try:
                path = "/" + route.template % {k: v.text for k, v in combo.items()}
            except (KeyError, TypeError, ValueError):
                continue
            try:
                match = resolve(path.split("?")[0])
            except Resolver404:
                continue
            if match.func is not route.callback:
                continue
            others = [v for v in combo.values() if v.county == other]
            strict = next((v.what for v in others if v.strict), None)
            injected = [v.text for v in combo.values()]
            # Lists get the usual query parameters, through the client that is meant to use them (the
            # token client for the API, the browser for pages); the other client sees the plain URL.
            queries = pools.query_variants() if not route.params and route.is_list_like else [{}]
            primary = "api" if route.drf_actions is not None or route.view_class is not None and hasattr(
                route.view_class, "permission_classes") else "page"
            for client_name, client in walk.clients.items():
                if client_name != primary and route.params and not others:
                    if client_name in secondary_done:
                        continue  # one own object through the other client is enough (browsable API, login redirect)
                    secondary_done.add(client_name)
                for query in (queries if client_name == primary else queries[:1]):
                    url = path + ("?" + urlencode(query) if query else "")
                    before = walk.disclosures
                    response = request(client, "get", url)
                    walk.check(client_name, "get", url, response, injected + list(query.values()), strict, before)
                    if not query and response.status_code != 200:
                        break  # refused, redirected or not a GET view: its query parameters change nothing
            # Unsafe methods: only with keys of the other county (or none), aimed at the other county.
            if route.params and not others:
                continue
            payload = pools.payload()
            for method in route.unsafe_methods():
                for client_name, client in walk.clients.items():
                    walk.unsafe_tried += 1
                    tried.append(f"{method.upper()} {path}")
                    before = walk.disclosures
                    response = request(client, method, path, payload)
                    walk.check(client_name, method, path, response, injected + list(payload.values()),
                               strict, before, payload)
        written, before_route = rows_written(), written
        if written == before_route:
            continue  # nothing was written, so nothing of the other county changed
        after = fingerprint(other)  # once per pattern: the walk stays fast, the report names the pattern
        if after != baseline:
            walk.fail("page/api", "get+", "/" + route.template, "-", "created, changed or removed rows of the other county ("
                      + describe_change(baseline, after) + ") while trying: " + ", ".join(tried[:6] or ["GET"]))
            baseline = after


@pytest.mark.parametrize("viewer_key", ["county_a", "county_b"])
def test_no_url_shows_the_sibling_countys_records(two_counties, api_client_for, viewer_key):
    walk = walk_as(two_counties, viewer_key, api_client_for)
    report = "\n".join(walk.failures[:60]) + (f"\n... and {len(walk.failures) - 60} more" if len(walk.failures) > 60 else "")
    assert not walk.failures, f"{len(walk.failures)} jurisdiction problems:\n{report}"
    # The walk cannot pass vacuously: it reached the registry through the API, saw its own records,
    # refused the other county's keys and tried writes.
    api_seen = {url for client, url in walk.visited_ok if client == "api"}
    missing = [url for url in REQUIRED_API_LISTS if url not in api_seen]
    assert not missing, f"the walker did not get 200 from {missing}"
    assert walk.own_names_seen == walk.own_names
    pages_seen = {url for client, url in walk.visited_ok if client == "page" and not url.startswith("/api/")}
    assert pages_seen, "the page client got no page at all"
    assert walk.strict_checked >= 50
    assert walk.unsafe_tried >= 20


def test_the_markers_catch_a_leak(two_counties):
    """Self-check: the detector flags the other county's records and ignores one's own."""
    markers = markers_for("510703")
    other = two_counties.elders["510704"]
    own = two_counties.elders["510703"]
    assert find_leaks(f"<td>{other[0].name}</td>", markers, public=True)
    assert find_leaks(json.dumps({"id_number": other[0].id_number}), markers, public=True)
    assert find_leaks(json.dumps({"id_number": mask_id_number(other[4].id_number)}), markers, public=True)
    assert find_leaks('{"area_code": "510704001002"}', markers, public=False)
    assert find_leaks("乙县专属照护中心", markers, public=False)
    assert not find_leaks("乙县专属照护中心", markers, public=True)  # an organisation on a public page
    assert not find_leaks(f"{own[0].name} {own[0].area_id} {mask_id_number(own[4].id_number)} 51070319510704", markers, public=False)
    assert not find_leaks('<a href="/areas/510704/">游仙区</a>', markers, public=False)  # the sibling itself, no subtree
    assert find_clear_values(f"x{own[1].id_number}x", markers)
    assert strip_echoes(f"value=\"{other[0].id_number}\"", [other[0].id_number], markers) == 'value="\x00"'
    assert "510704001001" not in strip_echoes("?area=510704001001&page=2", ["510704001001"], markers)


def test_the_walker_reports_a_leaking_view(two_counties, api_client_for, monkeypatch):
    """Self-check: let every elder query ignore the user, and the walker must name the leaking URLs."""
    from yiyang.core import scoping

    real_restrict = scoping.restrict
    monkeypatch.setattr(scoping, "restrict", lambda qs, user: qs if qs.model is Elder else real_restrict(qs, user))
    walk = walk_as(two_counties, "county_a", api_client_for, only="api/v1/elders")
    assert any("via api] GET /api/v1/elders/" in f and "乙老人" in f for f in walk.failures), walk.failures[:5]
    assert any("via page] GET /api/v1/elders/" in f and "乙老人" in f for f in walk.failures), walk.failures[:5]
    assert any("want 404/403" in f and "/api/v1/elders/" in f for f in walk.failures), walk.failures[:5]
    assert any("rows of the other county" in f for f in walk.failures), walk.failures[:5]  # reveal audited there
