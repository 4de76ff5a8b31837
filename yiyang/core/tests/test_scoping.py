"""Jurisdiction: ``restrict()`` / ``objects.for_user`` for every kind of account."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.db.models import Q
from rest_framework.authtoken.models import Token

from yiyang.accounts.models import User
from yiyang.accounts.roles import Role, scope_kind
from yiyang.areas.models import Area, Level
from yiyang.core import audit
from yiyang.core.models import AuditAction, AuditEntry
from yiyang.core.scoping import ScopePolicy, area_prefix_q, code_in_scope, restrict
from yiyang.organizations.models import Organization, OrganizationKind
from yiyang.people.models import Contact, Elder, ElderAccess, HardshipStatus


def codes(qs, attr="area_id"):
    return sorted(getattr(o, attr) for o in qs)


def all_elders(city):
    return city.elders["510703"] + city.elders["510704"]


def pks(objs):
    return sorted(o.pk for o in objs)


# --- area officials ------------------------------------------------------------------------------

@pytest.mark.parametrize("user_key, prefix, expected", [
    ("city", "5107", 8),
    ("agent", "5107", 8),
    ("county_a", "510703", 4),
    ("county_b", "510704", 4),
    ("township_a", "510703001", 4),
    ("village_a", "510703001001", 2),
])
def test_area_officials_see_their_prefix(city, user_key, prefix, expected):
    seen = list(Elder.objects.for_user(city.user(user_key)))
    assert len(seen) == expected
    assert all(e.area_id.startswith(prefix) for e in seen)
    assert pks(seen) == pks(e for e in all_elders(city) if e.area_id.startswith(prefix))


def test_sibling_counties_do_not_overlap(city):
    a = set(Elder.objects.for_user(city.user("county_a")).values_list("pk", flat=True))
    b = set(Elder.objects.for_user(city.user("county_b")).values_list("pk", flat=True))
    assert a and b and not a & b
    for model in (HardshipStatus, Contact, AuditEntry, Organization, Area):
        seen_a = set(model.objects.for_user(city.user("county_a")).values_list("pk", flat=True))
        seen_b = set(model.objects.for_user(city.user("county_b")).values_list("pk", flat=True))
        shared = seen_a & seen_b
        if model is Area:
            assert shared == {"51", "5107"}  # the chain above both counties, for breadcrumbs
        else:
            assert not shared, model


def test_related_rows_follow_the_elder(city):
    user = city.user("county_a")
    assert {h.elder.area_id[:6] for h in HardshipStatus.objects.for_user(user)} == {"510703"}
    assert {c.elder.area_id[:6] for c in Contact.objects.for_user(user)} == {"510703"}
    assert HardshipStatus.objects.for_user(city.user("village_a")).count() == 1
    assert Contact.objects.for_user(city.user("county_b")).get().elder == city.elders["510704"][0]


def test_audit_entries_are_scoped_by_area_code(city):
    audit.record(AuditAction.LOGIN, actor=None, object_type="accounts.user", area_code="")
    for key, prefix in (("county_a", "510703"), ("county_b", "510704"), ("village_a", "510703001001")):
        entries = AuditEntry.objects.for_user(city.user(key))
        assert entries.exists() and all(e.area_code.startswith(prefix) for e in entries)
    # An entry that belongs to no place is for nobody but the superuser.
    assert not AuditEntry.objects.for_user(city.user("city")).filter(area_code="").exists()


def test_prefix_is_a_code_prefix_not_a_number_range(city):
    """510703 must not reach 5107030… siblings such as 510730 or 5107031 (range bounds are padded with 9s)."""
    Area.objects.create(code="510730", name="假县", level=Level.COUNTY, parent_id="5107")
    Area.objects.create(code="510730001", name="假镇", level=Level.TOWNSHIP, parent_id="510730")
    Area.objects.create(code="510730001001", name="假村", level=Level.VILLAGE, parent_id="510730001")
    Organization.objects.create(name="邻县机构", kind=OrganizationKind.PROVIDER, area_id="510730001001")
    Organization.objects.create(name="本县机构", kind=OrganizationKind.PROVIDER, area_id="510703001002")
    seen = codes(Organization.objects.for_user(city.user("county_a")))
    assert seen == ["510703001001", "510703001002"]
    assert codes(Organization.objects.for_user(city.user("township_a"))) == seen
    assert codes(Organization.objects.for_user(city.user("village_a"))) == ["510703001001"]


def test_area_prefix_q_and_code_in_scope():
    assert area_prefix_q("area", "") == Q()  # empty prefix: no condition (callers decide what empty means)
    assert area_prefix_q("area", "510703") == Q(area__gte="510703", area__lte="510703999999")
    assert code_in_scope("510703001001", "510703")
    assert code_in_scope("510703001001", "510703001001")
    assert not code_in_scope("510704001001", "510703")
    assert not code_in_scope("510703001001", "")  # an empty scope grants nothing
    assert not code_in_scope("510703001001", None)
    assert not code_in_scope("", "510703")
    assert not code_in_scope(None, "5107")


# --- organisation staff --------------------------------------------------------------------------

def test_organisation_staff_see_their_organisation_only(city):
    dispatcher = city.user("dispatcher")
    assert scope_kind(dispatcher.role) == "organization"
    neighbour = Organization.objects.create(name="同村另一机构", kind=OrganizationKind.PROVIDER, area_id="510703001001")
    colleague = User.objects.create(username="t-colleague", role=Role.CAREGIVER, organization=city.provider)
    User.objects.create(username="t-other-staff", role=Role.CAREGIVER, organization=neighbour)
    assert list(Organization.objects.for_user(dispatcher)) == [city.provider]
    assert sorted(u.username for u in User.objects.for_user(dispatcher)) == ["t-colleague", "t-dispatcher"]
    assert colleague in User.objects.for_user(dispatcher)
    # No elders, contacts, hardships or audit entries: those follow places or portal links, not employers.
    for model in (Elder, Contact, HardshipStatus, AuditEntry, ElderAccess):
        assert not model.objects.for_user(dispatcher).exists(), model


def test_organisation_staff_without_organisation_see_nothing(city):
    loose = User.objects.create(username="t-loose", role=Role.CAREGIVER)
    assert not Organization.objects.for_user(loose).exists()
    assert not User.objects.for_user(loose).exists()


# --- elders and families -------------------------------------------------------------------------

def test_elder_role_sees_only_linked_elders(city):
    portal = city.user("elder")
    own = city.elders["510703"][0]
    assert list(Elder.objects.for_user(portal)) == [own]
    assert list(HardshipStatus.objects.for_user(portal)) == list(own.hardships.all())
    assert list(Contact.objects.for_user(portal)) == list(own.contacts.all())
    assert list(ElderAccess.objects.for_user(portal).values_list("elder_id", flat=True)) == [own.pk]
    for model in (Organization, AuditEntry, User):
        assert not model.objects.for_user(portal).exists(), model
    # A family member linked to two elders in two counties sees both, and nothing else.
    ElderAccess.objects.create(user=portal, elder=city.elders["510704"][3], relation="son")
    assert pks(Elder.objects.for_user(portal)) == pks([own, city.elders["510704"][3]])


def test_portal_account_without_links_sees_nothing(city):
    nobody = User.objects.create(username="t-nobody", role=Role.ELDER)
    assert not Elder.objects.for_user(nobody).exists()


# --- nobody --------------------------------------------------------------------------------------

def test_inactive_and_anonymous_see_nothing(city):
    county = city.user("county_a")
    county.is_active = False
    county.save()
    for user in (county, AnonymousUser(), None):
        for model in (Elder, Organization, AuditEntry, Contact, HardshipStatus, ElderAccess):
            assert not model.objects.for_user(user).exists(), (user, model)
    for user in (AnonymousUser(), None):
        for model in (Area, User):
            assert not model.objects.for_user(user).exists(), (user, model)


def test_inactive_official_sees_no_areas_or_accounts(city):
    county = city.user("county_a")
    county.is_active = False
    county.save()
    assert not Area.objects.for_user(county).exists()
    assert not User.objects.for_user(county).exists()


def test_area_role_without_an_area_sees_nothing(city):
    agent = User.objects.create(username="t-agent-unplaced", role=Role.HOTLINE_AGENT)
    assert not Elder.objects.for_user(agent).exists()
    assert not Area.objects.for_user(agent).exists()


def test_superuser_sees_everything(city):
    root = User.objects.create(username="t-root", role=Role.ELDER, is_superuser=True)
    assert Elder.objects.for_user(root).count() == 8
    assert AuditEntry.objects.for_user(root).count() == AuditEntry.objects.count()


def test_a_model_without_a_scope_policy_raises(city):
    with pytest.raises(TypeError, match="no scope policy"):
        restrict(Permission.objects.all(), city.user("city"))
    with pytest.raises(TypeError):
        restrict(Token.objects.all(), AnonymousUser())


def test_policy_without_the_users_dimension_gives_nothing(city, monkeypatch):
    """An area official reading a model placed only by organisation sees nothing (no silent fallback)."""
    monkeypatch.setattr(Organization, "scope", ScopePolicy(organization="pk"))
    assert not Organization.objects.for_user(city.user("county_a")).exists()
    assert list(Organization.objects.for_user(city.user("dispatcher"))) == [city.provider]
    monkeypatch.setattr(Organization, "scope", ScopePolicy(area="area"))
    assert not Organization.objects.for_user(city.user("dispatcher")).exists()
    assert Organization.objects.for_user(city.user("county_a")).exists()


# --- areas ---------------------------------------------------------------------------------------

def area_codes(user):
    return sorted(Area.objects.for_user(user).values_list("code", flat=True))


def test_county_sees_its_subtree_and_the_chain_above(city):
    assert area_codes(city.user("county_a")) == [
        "51", "5107", "510703", "510703001", "510703001001", "510703001002"]
    assert area_codes(city.user("county_b")) == [
        "51", "5107", "510704", "510704001", "510704001001", "510704001002"]


def test_township_and_village_see_no_sibling_subtree(city):
    Area.objects.create(code="510703002", name="二街道", level=Level.TOWNSHIP, parent_id="510703")
    Area.objects.create(code="510703002001", name="二街道一社区", level=Level.VILLAGE, parent_id="510703002")
    assert area_codes(city.user("township_a")) == ["51", "5107", "510703", "510703001", "510703001001", "510703001002"]
    assert area_codes(city.user("village_a")) == ["51", "5107", "510703", "510703001", "510703001001"]
    assert "510703002001" in area_codes(city.user("county_a"))


def test_city_sees_its_counties_but_not_other_cities(city):
    seen = area_codes(city.user("city"))
    assert "510704001002" in seen and "510703" in seen and "51" in seen
    assert all(code == "51" or code.startswith("5107") for code in seen)
    assert Area.objects.filter(code__startswith="5108").exists()  # other cities exist, out of sight


def test_area_within_is_a_subtree(city):
    assert sorted(Area.objects.within("510704001").values_list("code", flat=True)) == [
        "510704001", "510704001001", "510704001002"]


def test_scope_code(city):
    assert city.user("county_a").scope_code == "510703"
    assert city.user("dispatcher").scope_code == "510703001001"
    assert city.user("elder").scope_code == ""


def test_for_user_is_chainable_and_lazy(city):
    qs = Elder.objects.filter(birth_date__lte=dt.date.today()).for_user(city.user("village_a"))
    assert qs.count() == 2
    assert Elder.objects.for_user(city.user("village_a")).filter(name__startswith="乙").count() == 0
