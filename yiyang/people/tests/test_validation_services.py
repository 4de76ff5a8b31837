"""The registry's one validation (clean_elder) and its services: scope, encryption, audit, atomicity."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.utils import translation

from yiyang.areas.models import Area, Level
from yiyang.conftest import TODAY, birth_for_age, make_id_number
from yiyang.core import audit, crypto
from yiyang.core.models import AuditAction, AuditEntry
from yiyang.people import services
from yiyang.people.filters import AGE_BANDS, ElderFilter, birth_range_for_age
from yiyang.people.idnumber import age_on, check_char
from yiyang.people.models import Contact, Elder, HardshipStatus
from yiyang.people.validation import clean_elder


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def new_number(county="510703", age=70, seq=100, sex="M") -> str:
    return make_id_number(county, birth_for_age(age), seq, sex)


def legacy_15(number: str) -> str:
    return number[:6] + number[8:17]


def number_ending_in_x(county="510703", age=75) -> str:
    birth = birth_for_age(age)
    for seq in range(100, 999):
        first17 = f"{county}{birth:%Y%m%d}{seq:03d}"
        if check_char(first17) == "X":
            return first17 + "X"
    raise AssertionError("no sequence gives X")  # pragma: no cover


def errors_of(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


def raw_row(elder_id: int, *columns: str) -> tuple:
    table = connection.ops.quote_name(Elder._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {cols} FROM {table} WHERE id = %s", [elder_id])
        return cursor.fetchone()


def counts() -> tuple[int, ...]:
    return (Elder.objects.count(), AuditEntry.objects.count(), HardshipStatus.objects.count(), Contact.objects.count())


def register(city, user_key="county_a", **data):
    payload = {"name": "测试老人", "id_number": new_number(), "area_code": "510703001001", "phone": "13912340000"}
    payload.update(data)
    return services.register_elder(acting_user=city.user(user_key), data=payload)


def audit_text(entry: AuditEntry) -> str:
    return json.dumps([entry.before, entry.after, entry.note, entry.object_label], ensure_ascii=False)


# --- clean_elder ---------------------------------------------------------------------------------

def test_new_elder_requires_name_id_and_village(city):
    with pytest.raises(ValidationError) as excinfo:
        clean_elder({}, acting_user=city.user("county_a"))
    errors = errors_of(excinfo)
    assert set(errors) == {"name", "id_number", "area_code"}
    assert errors["name"] == ["Enter the name."]
    assert errors["id_number"] == ["The ID number is empty."]
    assert errors["area_code"] == ["Choose the village (12-digit area code)."]


def test_blank_name_and_too_long_name(city):
    user = city.user("county_a")
    base = {"id_number": new_number(), "area_code": "510703001001"}
    with pytest.raises(ValidationError) as excinfo:
        clean_elder({**base, "name": "   "}, acting_user=user)
    assert set(errors_of(excinfo)) == {"name"}
    with pytest.raises(ValidationError) as excinfo:
        clean_elder({**base, "name": "名" * 65}, acting_user=user)
    assert errors_of(excinfo)["name"] == ["The name is longer than 64 characters."]
    assert clean_elder({**base, "name": " 名" * 32}, acting_user=user)["name"] == ("名 " * 32).strip()


def test_clean_elder_derives_birth_date_and_sex(city):
    number = new_number(age=75, seq=120, sex="F")
    cleaned = clean_elder({"name": "王", "id_number": number.lower(), "area_code": "510703001002"},
                          acting_user=city.user("county_a"))
    assert cleaned["id_number"] == number.upper()
    assert cleaned["birth_date"] == birth_for_age(75)
    assert cleaned["sex"] == "F"
    assert cleaned["area"].code == "510703001002"
    assert cleaned["id_converted_from_15"] is False


def test_duplicate_id_number_is_rejected(city):
    existing = city.elders["510703"][1]
    with pytest.raises(ValidationError) as excinfo:
        clean_elder({"name": "重复", "id_number": existing.id_number, "area_code": "510703001001"},
                    acting_user=city.user("county_a"))
    assert errors_of(excinfo)["id_number"] == ["An elder with this ID number is already registered."]


def test_duplicate_typed_as_legacy_15_digit_number_is_rejected(city):
    existing = city.elders["510703"][2]
    legacy = legacy_15(existing.id_number)
    assert len(legacy) == 15
    with pytest.raises(ValidationError) as excinfo:
        clean_elder({"name": "重复", "id_number": legacy, "area_code": "510703001001"}, acting_user=city.user("county_a"))
    assert errors_of(excinfo)["id_number"] == ["An elder with this ID number is already registered."]


def test_duplicate_across_counties_is_rejected(city):
    """The registry is one: a person registered in county B cannot be registered again in county A."""
    other = city.elders["510704"][0]
    with pytest.raises(ValidationError) as excinfo:
        clean_elder({"name": "重复", "id_number": other.id_number, "area_code": "510703001001"}, acting_user=city.user("county_a"))
    assert "id_number" in errors_of(excinfo)


def test_own_id_number_is_not_a_duplicate_on_update(city):
    elder = city.elders["510703"][0]
    cleaned = clean_elder({"id_number": elder.id_number, "name": "改名"}, acting_user=city.user("county_a"), instance=elder)
    assert cleaned["id_number"] == elder.id_number


def test_legacy_number_is_converted_and_flagged(city):
    number = new_number(age=80, seq=130)
    elder = register(city, id_number=legacy_15(number))
    assert elder.id_number == number
    assert elder.id_converted_from_15 is True
    assert Elder.objects.get(pk=elder.pk).id_converted_from_15 is True


@pytest.mark.parametrize("code, message", [
    ("510703001", "is not a 12-digit village code"),
    ("510703", "is not a 12-digit village code"),
    ("51070300100x", "is not a 12-digit village code"),
    ("510703001099", "There is no village with code 510703001099"),
])
def test_area_must_be_an_existing_village(city, code, message):
    with pytest.raises(ValidationError) as excinfo:
        clean_elder({"name": "王", "id_number": new_number(), "area_code": code}, acting_user=city.user("county_a"))
    assert list(errors_of(excinfo)) == ["area_code"]
    assert message in errors_of(excinfo)["area_code"][0]


def test_a_12_digit_area_that_is_not_a_village_is_refused(city):
    Area.objects.create(code="510703001003", name="错级", level=Level.TOWNSHIP, parent_id="510703001")
    with pytest.raises(ValidationError) as excinfo:
        clean_elder({"name": "王", "id_number": new_number(), "area_code": "510703001003"}, acting_user=city.user("county_a"))
    assert "There is no village" in errors_of(excinfo)["area_code"][0]


@pytest.mark.parametrize("user_key, code", [
    ("county_a", "510704001001"),
    ("township_a", "510704001002"),
    ("village_a", "510703001002"),
    ("county_b", "510703001001"),
    ("county_a", "510704001099"),  # does not exist either: the scope error, no hint about existence
])
def test_village_outside_scope_is_rejected(city, user_key, code):
    with pytest.raises(ValidationError) as excinfo:
        clean_elder({"name": "王", "id_number": new_number(), "area_code": code}, acting_user=city.user(user_key))
    assert errors_of(excinfo)["area_code"] == [f"Village {code} is outside your jurisdiction."]


@pytest.mark.parametrize("user_key, code", [("village_a", "510703001001"), ("township_a", "510703001002"), ("city", "510704001001")])
def test_village_inside_scope_is_accepted(city, user_key, code):
    cleaned = clean_elder({"name": "王", "id_number": new_number(), "area_code": code}, acting_user=city.user(user_key))
    assert cleaned["area"].code == code


def test_under_60_is_rejected(city):
    too_young = make_id_number("510703", TODAY.replace(year=TODAY.year - 60) + dt.timedelta(days=1), 140) if not (
        TODAY.month == 2 and TODAY.day == 29) else make_id_number("510703", dt.date(TODAY.year - 60, 3, 1), 140)
    with pytest.raises(ValidationError) as excinfo:
        clean_elder({"name": "年轻", "id_number": too_young, "area_code": "510703001001"}, acting_user=city.user("county_a"))
    assert "aged 60 and over; this person is 59" in errors_of(excinfo)["id_number"][0]


def test_sixty_today_is_accepted(city):
    # On 29 February too: sixty years back is a leap year as well (60 is a multiple of 4).
    number = make_id_number("510703", TODAY.replace(year=TODAY.year - 60), 141)
    assert clean_elder({"name": "刚满", "id_number": number, "area_code": "510703001001"},
                       acting_user=city.user("county_a"))["birth_date"] == TODAY.replace(year=TODAY.year - 60)


def test_sex_and_birth_date_are_checked_against_the_id_number(city):
    number = new_number(age=70, seq=150, sex="M")
    born = birth_for_age(70)
    base = {"name": "王", "id_number": number, "area_code": "510703001001"}
    user = city.user("county_a")
    with pytest.raises(ValidationError) as excinfo:
        clean_elder({**base, "sex": "F", "birth_date": (born - dt.timedelta(days=1)).isoformat()}, acting_user=user)
    assert errors_of(excinfo) == {"sex": ["The sex does not match the ID number."],
                                  "birth_date": ["The birth date does not match the ID number."]}
    with pytest.raises(ValidationError) as excinfo:
        clean_elder({**base, "birth_date": f"{born.year}年{born.month}月"}, acting_user=user)
    assert "has no day" in errors_of(excinfo)["birth_date"][0]
    cleaned = clean_elder({**base, "sex": "M", "birth_date": f"{born.year}年{born.month}月{born.day}日"}, acting_user=user)
    assert cleaned["sex"] == "M" and cleaned["birth_date"] == born


@pytest.mark.parametrize("death, message", [
    (None, "Enter the date of death."),
    ("", "Enter the date of death."),
    ("1900-01-01", "The date of death is before the birth date."),
    ((TODAY + dt.timedelta(days=1)).isoformat(), "is in the future"),
    ("2020年3月", "has no day"),
])
def test_death_needs_a_real_date_after_birth(city, death, message):
    elder = city.elders["510703"][1]
    with pytest.raises(ValidationError) as excinfo:
        clean_elder({"status": "deceased", "death_date": death}, acting_user=city.user("county_a"), instance=elder)
    assert message in errors_of(excinfo)["death_date"][0]


def test_death_date_on_or_after_birth_is_accepted(city):
    elder = city.elders["510703"][1]
    user = city.user("county_a")
    cleaned = clean_elder({"status": "deceased", "death_date": elder.birth_date.isoformat()}, acting_user=user, instance=elder)
    assert cleaned["death_date"] == elder.birth_date
    updated = services.record_death(elder, acting_user=user, death_date=TODAY - dt.timedelta(days=3))
    assert (updated.status, updated.death_date) == ("deceased", TODAY - dt.timedelta(days=3))
    back = services.update_elder(updated, acting_user=user, data={"status": "alive"})
    assert back.death_date is None


def test_unknown_status_and_other_fields(city):
    with pytest.raises(ValidationError) as excinfo:
        clean_elder({"status": "gone", "living_arrangement": "cave", "hukou_area_code": "51070", "latitude": "north",
                     "longitude": 10.0, "address": "路" * 201},
                    acting_user=city.user("county_a"), instance=city.elders["510703"][0])
    assert set(errors_of(excinfo)) == {"status", "living_arrangement", "hukou_area_code", "latitude", "longitude", "address"}


# --- register / update: encryption at rest and blind indexes -------------------------------------

def test_register_stores_ciphertext_and_blind_indexes(city):
    number = new_number(age=66, seq=160)
    elder = register(city, id_number=number, phone="139 1234 0000", chronic_conditions="高血压")
    raw_id, raw_phone, raw_health, id_index, last4_index, phone_index = raw_row(
        elder.pk, "id_number", "phone", "chronic_conditions", "id_index", "id_last4_index", "phone_index")
    for raw, plain in ((raw_id, number), (raw_phone, "13912340000")):
        assert plain not in raw
        assert crypto.decrypt(raw) == plain
    assert "高血压" not in raw_health and crypto.decrypt(raw_health) == "高血压"
    assert id_index == crypto.blind_index(number, "id")
    assert last4_index == crypto.blind_index(number[-4:], "id4")
    assert phone_index == crypto.blind_index("13912340000", "phone")
    assert number not in (id_index + last4_index + phone_index)
    fresh = Elder.objects.get(pk=elder.pk)
    assert (fresh.id_number, fresh.phone) == (number, "13912340000")


def test_fixture_elders_are_encrypted_too(city):
    for elder in city.elders["510703"] + city.elders["510704"]:
        raw_id, raw_phone = raw_row(elder.pk, "id_number", "phone")
        assert elder.id_number not in raw_id and elder.phone not in raw_phone


def test_update_re_encrypts_and_reindexes(city):
    user = city.user("county_a")
    elder = city.elders["510703"][3]
    old_number, old_phone = elder.id_number, elder.phone
    new_id = new_number(age=90, seq=170, sex="F")
    services.update_elder(elder, acting_user=user, data={"id_number": new_id, "phone": "0816-2345678"})
    raw_id, raw_phone, id_index, last4_index, phone_index = raw_row(
        elder.pk, "id_number", "phone", "id_index", "id_last4_index", "phone_index")
    assert new_id not in raw_id and old_number not in raw_id
    assert "2345678" not in raw_phone and old_phone not in raw_phone
    assert crypto.decrypt(raw_id) == new_id
    assert id_index == crypto.blind_index(new_id, "id")
    assert last4_index == crypto.blind_index(new_id[-4:], "id4")
    assert phone_index == crypto.blind_index("0816-2345678", "phone")
    fresh = Elder.objects.get(pk=elder.pk)
    assert (fresh.sex, fresh.birth_date) == ("F", birth_for_age(90))
    # The old number is free again; the new one is taken.
    assert not Elder.objects.filter(id_index=crypto.blind_index(old_number, "id")).exists()
    services.update_elder(fresh, acting_user=user, data={"phone": ""})
    assert raw_row(elder.pk, "phone", "phone_index") == ("", "")


def test_contact_phone_is_encrypted(city):
    contact = services.add_contact(city.elders["510703"][1], acting_user=city.user("county_a"), name="女儿",
                                   relation="daughter", phone="13711112222")
    table = connection.ops.quote_name(Contact._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT phone, phone_index FROM {table} WHERE id = %s", [contact.pk])
        raw_phone, phone_index = cursor.fetchone()
    assert "13711112222" not in raw_phone
    assert crypto.decrypt(raw_phone) == "13711112222"
    assert phone_index == crypto.blind_index("13711112222", "phone")


# --- audit ---------------------------------------------------------------------------------------

def test_register_writes_a_masked_create_entry(city):
    number = new_number(age=71, seq=180)
    elder = register(city, id_number=number, phone="13912345678")
    entry = AuditEntry.objects.get(object_type="people.elder", object_id=str(elder.pk), action=AuditAction.CREATE)
    assert entry.actor == city.user("county_a")
    assert entry.actor_name == "t-county-a"
    assert entry.area_code == "510703001001"
    assert entry.before is None
    assert entry.after["id_number"] == f"{number[:4]}{'*' * 13}{number[-1]} #{audit.fingerprint(number)}"
    assert entry.after["phone"] == f"139****5678 #{audit.fingerprint('13912345678')}"
    assert entry.after["area"] == "510703001001"
    assert entry.after["birth_date"] == birth_for_age(71).isoformat()
    text = audit_text(entry)
    assert number not in text and "13912345678" not in text and number[6:14] + number[14:17] not in text


def test_update_writes_only_the_changes_masked(city):
    elder = city.elders["510703"][1]
    old_phone = elder.phone
    services.update_elder(elder, acting_user=city.user("township_a"), data={"phone": "13687654321", "address": "新地址"})
    entry = AuditEntry.objects.filter(object_id=str(elder.pk), action=AuditAction.UPDATE).get()
    assert entry.actor_name == "t-township-a"
    assert set(entry.before) == set(entry.after) == {"phone", "address"}
    assert entry.before["phone"] == f"{old_phone[:3]}****{old_phone[-4:]} #{audit.fingerprint(old_phone)}"
    assert entry.after == {"phone": f"136****4321 #{audit.fingerprint('13687654321')}", "address": "新地址"}
    text = audit_text(entry)
    assert "13687654321" not in text and old_phone not in text and elder.id_number not in text


def test_reveal_returns_clear_value_and_audits_without_it(city):
    elder = city.elders["510703"][0]
    for key in ("county_a", "agent"):
        assert services.reveal(elder, "id_number", acting_user=city.user(key), reason="核对") == elder.id_number
    assert services.reveal(elder, "phone", acting_user=city.user("village_a")) == elder.phone
    entries = AuditEntry.objects.filter(object_id=str(elder.pk), action=AuditAction.REVEAL).order_by("id")
    assert [(e.actor_name, e.note) for e in entries] == [
        ("t-county-a", "id_number 核对"), ("t-agent", "id_number 核对"), ("t-village-a", "phone")]
    for entry in entries:
        assert entry.area_code == elder.area_id
        assert elder.id_number not in audit_text(entry) and elder.phone not in audit_text(entry)


@pytest.mark.parametrize("user_key", ["dispatcher", "elder", "county_b"])
def test_reveal_refused_writes_nothing(city, user_key):
    elder = city.elders["510703"][0]
    before = AuditEntry.objects.count()
    with pytest.raises((PermissionDenied, Http404)):
        services.reveal(elder, "id_number", acting_user=city.user(user_key))
    assert AuditEntry.objects.count() == before


def test_reveal_without_permission_is_permission_denied(city):
    with pytest.raises(PermissionDenied):
        services.reveal(city.elders["510703"][0], "phone", acting_user=city.user("dispatcher"))
    with pytest.raises(Http404):  # entitled, but not here: no hint that the elder exists
        services.reveal(city.elders["510703"][0], "phone", acting_user=city.user("county_b"))


def test_reveal_of_an_unrevealable_field(city):
    with pytest.raises(ValidationError) as excinfo:
        services.reveal(city.elders["510703"][0], "name", acting_user=city.user("county_a"))
    assert "field" in errors_of(excinfo)


def test_api_writes_record_the_client_address(city, api_client_for, settings):
    settings.TRUSTED_PROXIES = 1
    client = api_client_for(city.user("county_a"))
    number = new_number(age=68, seq=190)
    response = client.post("/api/v1/elders/", {"name": "接口", "id_number": number, "area_code": "510703001001",
                                               "phone": "13512345678"}, format="json", REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 201, response.content
    elder_id = response.json()["id"]
    created = AuditEntry.objects.get(object_id=str(elder_id), action=AuditAction.CREATE)
    assert (created.client_address, created.channel, created.actor_name) == ("203.0.113.7", "api", "t-county-a")
    assert len(created.request_id) == 32
    response = client.patch(f"/api/v1/elders/{elder_id}/", {"address": "改"}, format="json",
                            REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.23")
    assert response.status_code == 200, response.content
    updated = AuditEntry.objects.get(object_id=str(elder_id), action=AuditAction.UPDATE)
    assert updated.client_address == "198.51.100.23"
    assert updated.request_id != created.request_id
    response = client.post(f"/api/v1/elders/{elder_id}/reveal/", {"field": "phone"}, format="json", REMOTE_ADDR="203.0.113.8")
    assert response.json()["value"] == "13512345678"
    revealed = AuditEntry.objects.get(object_id=str(elder_id), action=AuditAction.REVEAL)
    assert (revealed.client_address, revealed.channel) == ("203.0.113.8", "api")
    for entry in (created, updated, revealed):
        assert number not in audit_text(entry) and "13512345678" not in audit_text(entry)


@pytest.mark.parametrize("forwarded", ["not-an-ip", "unknown, 10.0.0.9", "999.1.1.1", "<script>"])
def test_a_malformed_forwarded_header_neither_breaks_nor_forges_the_audit(city, api_client_for, forwarded, settings):
    settings.TRUSTED_PROXIES = 1
    client = api_client_for(city.user("county_a"))
    response = client.post("/api/v1/elders/", {"name": "代理", "id_number": new_number(age=69, seq=191),
                                               "area_code": "510703001001"},
                           format="json", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=forwarded)
    assert response.status_code == 201, response.content
    entry = AuditEntry.objects.get(object_id=str(response.json()["id"]), action=AuditAction.CREATE)
    assert entry.client_address in ("203.0.113.9", "10.0.0.9")


def test_forwarded_header_is_ignored_without_a_trusted_proxy(city, api_client_for):
    client = api_client_for(city.user("county_a"))
    response = client.post("/api/v1/elders/", {"name": "伪造", "id_number": new_number(age=71, seq=193),
                                               "area_code": "510703001001"},
                           format="json", REMOTE_ADDR="203.0.113.10", HTTP_X_FORWARDED_FOR="198.51.100.99")
    entry = AuditEntry.objects.get(object_id=str(response.json()["id"]), action=AuditAction.CREATE)
    assert entry.client_address == "203.0.113.10"


def test_services_outside_a_request_are_channel_system(city):
    elder = register(city, id_number=new_number(age=77, seq=192))
    entry = AuditEntry.objects.get(object_id=str(elder.pk), action=AuditAction.CREATE)
    assert (entry.channel, entry.client_address) == ("system", None)


# --- permissions, scope and atomicity ------------------------------------------------------------

@pytest.mark.parametrize("user_key", ["agent", "dispatcher", "elder"])
def test_register_needs_permission(city, user_key):
    before = counts()
    with pytest.raises(PermissionDenied):
        register(city, user_key=user_key)
    assert counts() == before


def test_update_outside_scope_is_refused(city):
    elder = city.elders["510703"][0]
    with pytest.raises((Http404, ObjectDoesNotExist, PermissionDenied)):
        services.update_elder(elder, acting_user=city.user("county_b"), data={"name": "越界"})
    assert Elder.objects.get(pk=elder.pk).name == elder.name


def test_update_cannot_move_an_elder_out_of_scope(city):
    elder = city.elders["510703"][0]
    with pytest.raises(ValidationError) as excinfo:
        services.update_elder(elder, acting_user=city.user("county_a"), data={"area_code": "510704001001"})
    assert "area_code" in errors_of(excinfo)
    assert Elder.objects.get(pk=elder.pk).area_id == elder.area_id


def test_failed_registration_saves_nothing(city):
    before = counts()
    with pytest.raises(ValidationError):
        register(city, phone="12345")  # everything valid but the phone
    with pytest.raises(ValidationError):
        register(city, id_number=city.elders["510704"][0].id_number)
    assert counts() == before


def test_failed_update_saves_nothing(city):
    elder = city.elders["510703"][2]
    snapshot = raw_row(elder.pk, "name", "address", "phone_index", "status")
    before = counts()
    with pytest.raises(ValidationError):
        services.update_elder(elder, acting_user=city.user("county_a"),
                              data={"name": "新名字", "address": "新地址", "phone": "0000"})
    with pytest.raises(ValidationError):
        services.update_elder(elder, acting_user=city.user("county_a"),
                              data={"name": "新名字", "status": "deceased", "death_date": "1800-01-01"})
    assert raw_row(elder.pk, "name", "address", "phone_index", "status") == snapshot
    assert counts() == before


def test_a_failing_audit_rolls_the_registration_back(city, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(audit, "record", broken)
    before = counts()
    with pytest.raises(RuntimeError):
        register(city, id_number=new_number(age=73, seq=193))
    with pytest.raises(RuntimeError):
        services.add_hardship(city.elders["510703"][1], acting_user=city.user("county_a"), category="dibao",
                              start_date=TODAY - dt.timedelta(days=5), source="civil_affairs")
    with pytest.raises(RuntimeError):
        services.update_elder(city.elders["510703"][1], acting_user=city.user("county_a"), data={"name": "不该保存"})
    assert counts() == before
    assert Elder.objects.get(pk=city.elders["510703"][1].pk).name == city.elders["510703"][1].name


# --- hardship ------------------------------------------------------------------------------------

def add(city, elder=None, user_key="county_a", **kw):
    args = {"category": "dibao", "start_date": TODAY - dt.timedelta(days=30), "source": "civil_affairs"}
    args.update(kw)
    return services.add_hardship(elder or city.elders["510703"][1], acting_user=city.user(user_key), **args)


def test_one_open_status_per_category(city):
    first = add(city)
    with pytest.raises(ValidationError) as excinfo:
        add(city)
    assert "already has this category open" in errors_of(excinfo)["category"][0]
    add(city, category="living_alone")  # another category is fine
    services.end_hardship(first, acting_user=city.user("county_a"), end_date=TODAY - dt.timedelta(days=1))
    second = add(city, start_date=TODAY)
    assert second.end_date is None
    assert HardshipStatus.objects.filter(elder=first.elder, category="dibao").count() == 2


def test_database_refuses_a_second_open_status(city):
    elder = city.elders["510703"][0]  # has tekun open (fixture)
    with pytest.raises(IntegrityError), transaction.atomic():
        HardshipStatus.objects.create(elder=elder, category="tekun", start_date=TODAY, source="other")
    # A closed one beside the open one is allowed.
    HardshipStatus.objects.create(elder=elder, category="tekun", start_date=TODAY - dt.timedelta(days=900),
                                  end_date=TODAY - dt.timedelta(days=800), source="other")


def test_database_refuses_end_before_start(city):
    with pytest.raises(IntegrityError), transaction.atomic():
        HardshipStatus.objects.create(elder=city.elders["510703"][1], category="dibao", start_date=TODAY,
                                      end_date=TODAY - dt.timedelta(days=1), source="other")


def test_end_before_start_is_rejected(city):
    status = add(city, start_date=TODAY - dt.timedelta(days=10))
    user = city.user("county_a")
    with pytest.raises(ValidationError) as excinfo:
        services.end_hardship(status, acting_user=user, end_date=TODAY - dt.timedelta(days=11))
    assert "end_date" in errors_of(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        services.end_hardship(status, acting_user=user, end_date="not a date")
    assert "end_date" in errors_of(excinfo)
    with pytest.raises(ValidationError):
        services.end_hardship(status, acting_user=user, end_date=None)
    closed = services.end_hardship(status, acting_user=user, end_date=(TODAY - dt.timedelta(days=10)).isoformat())
    assert closed.end_date == TODAY - dt.timedelta(days=10)
    with pytest.raises(ValidationError, match="already closed"):
        services.end_hardship(status, acting_user=user, end_date=TODAY)
    entry = AuditEntry.objects.get(object_type="people.hardshipstatus", object_id=str(status.pk), action="update")
    assert entry.after == {"end_date": (TODAY - dt.timedelta(days=10)).isoformat()}


@pytest.mark.parametrize("kw, field", [
    ({"category": "advanced_age"}, "category"),
    ({"category": "rich"}, "category"),
    ({"start_date": None}, "start_date"),
    ({"start_date": (TODAY + dt.timedelta(days=1)).isoformat()}, "start_date"),
    ({"start_date": "2020年5月"}, "start_date"),
    ({"source": "rumour"}, "source"),
])
def test_hardship_validation(city, kw, field):
    before = counts()
    with pytest.raises(ValidationError) as excinfo:
        add(city, **kw)
    assert field in errors_of(excinfo)
    assert counts() == before


def test_hardship_outside_scope_or_without_permission(city):
    with pytest.raises(Http404):
        add(city, user_key="county_b")
    with pytest.raises(PermissionDenied):
        add(city, user_key="agent")


def test_hardship_is_audited(city):
    status = add(city, evidence="绵民发〔2026〕1号")
    entry = AuditEntry.objects.get(object_type="people.hardshipstatus", object_id=str(status.pk), action="create")
    assert entry.area_code == status.elder.area_id
    assert entry.after["category"] == "dibao"


def test_contact_validation(city):
    elder = city.elders["510703"][1]
    user = city.user("county_a")
    with pytest.raises(ValidationError) as excinfo:
        services.add_contact(elder, acting_user=user, name=" ", relation="boss", phone="123")
    assert set(errors_of(excinfo)) == {"name", "relation", "phone"}
    with pytest.raises(Http404):
        services.add_contact(elder, acting_user=city.user("county_b"), name="儿子", relation="son")


# --- filters -------------------------------------------------------------------------------------

def filtered(city, user_key="county_a", **params) -> list[Elder]:
    user = city.user(user_key)
    return list(ElderFilter(params, queryset=Elder.objects.for_user(user)).qs.order_by("id"))


def raw_elder(birth: dt.date, seq: int, county="510703", name=None) -> Elder:
    """An elder saved directly (bypassing the 60+ rule) to probe the filters at exact boundaries."""
    number = make_id_number(county, birth, seq)
    elder = Elder(name=name or f"边界{seq}", id_number=number, birth_date=birth, sex="M", area_id=f"{county}001001")
    services.apply_personal_indexes(elder)
    elder.save()
    return elder


def test_hardship_filter(city):
    a0, a1 = city.elders["510703"][0], city.elders["510703"][1]
    assert filtered(city, hardship="tekun") == [a0]
    status = add(city, elder=a1, category="tekun", start_date=TODAY - dt.timedelta(days=40))
    assert filtered(city, hardship="tekun") == [a0, a1]
    services.end_hardship(status, acting_user=city.user("county_a"), end_date=TODAY)
    assert filtered(city, hardship="tekun") == [a0]
    assert filtered(city, hardship="dibao") == []
    assert filtered(city, "city", hardship="tekun") == [a0, city.elders["510704"][0]]


def test_advanced_age_follows_from_the_birth_date(city):
    expected = [e for e in city.elders["510703"] if age_on(e.birth_date, dt.date.today()) >= 80]
    assert expected and filtered(city, hardship="advanced_age") == expected


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return dt.date(day.year - years, 3, 1)


def test_age_bands_at_exact_birthdays(city):
    today = dt.date.today()
    if (today.month, today.day) == (2, 29):
        pytest.skip("no exact birthday in common years; test_birth_range_for_age_matches_age_on covers 29 February")
    probes = {}
    for seq, years in enumerate((60, 70, 80, 90, 100)):
        exact = years_before(today, years)
        probes[raw_elder(exact, 200 + 2 * seq).pk] = age_on(exact, today)
        probes[raw_elder(exact + dt.timedelta(days=1), 201 + 2 * seq).pk] = age_on(exact + dt.timedelta(days=1), today)
    assert sorted(probes.values()) == [59, 60, 69, 70, 79, 80, 89, 90, 99, 100]
    for band, _label in AGE_BANDS:
        low, _sep, high = band.partition("-")
        got = {e.pk for e in filtered(city, age_band=band) if e.pk in probes}
        want = {pk for pk, age in probes.items() if int(low) <= age and (not high or age <= int(high))}
        assert got == want, band
    banded = {e.pk for band, _label in AGE_BANDS for e in filtered(city, age_band=band)}
    assert [pk for pk, age in probes.items() if pk not in banded] == [
        pk for pk, age in probes.items() if age == 59]


@pytest.mark.parametrize("today", [dt.date(2028, 2, 29), dt.date(2028, 2, 28), dt.date(2028, 3, 1),
                                   dt.date(2027, 2, 28), dt.date(2027, 3, 1), dt.date(2000, 2, 29), dt.date(2026, 12, 31)])
def test_birth_range_for_age_matches_age_on(city, today):
    births = set()
    for years in (60, 69, 70, 79, 80, 100, 101):
        anchor = years_before(today, years)
        births.update(anchor + dt.timedelta(days=d) for d in range(-2, 3))
        if years_before(today, years).month in (2, 3):
            for y in (anchor.year, anchor.year - 1):
                births.update(d for d in (dt.date(y, 2, 28), dt.date(y, 3, 1)))
                if y % 4 == 0 and (y % 100 or y % 400 == 0):
                    births.add(dt.date(y, 2, 29))
    Elder.objects.all().delete()
    for i, born in enumerate(sorted(births)):
        raw_elder(born, i % 500, county="510703" if i < 500 else "510704")
    for low, high in ((60, 69), (70, 79), (80, None), (100, None)):
        got = set(Elder.objects.filter(birth_range_for_age(low, high, today)).values_list("birth_date", flat=True))
        want = {b for b in births if age_on(b, today) >= low and (high is None or age_on(b, today) <= high)}
        assert got == want, (today, low, high)


def test_search_by_last_four_digits_including_x(city):
    x_number = number_ending_in_x()
    x_elder = register(city, id_number=x_number)
    assert filtered(city, q=x_number[-4:].lower()) == [x_elder]
    assert filtered(city, q=x_number[-4:]) == [x_elder]
    target = city.elders["510703"][2]
    assert target in filtered(city, q=target.id_number[-4:])
    assert all(e.id_number.endswith(target.id_number[-4:]) for e in filtered(city, q=target.id_number[-4:]))


def test_search_by_full_id_number(city):
    target = city.elders["510703"][3]
    assert filtered(city, q=target.id_number) == [target]
    assert filtered(city, q=legacy_15(target.id_number)) == [target]
    assert filtered(city, q=" " + target.id_number[:9] + " " + target.id_number[9:]) == [target]
    x_elder = register(city, id_number=number_ending_in_x(age=81))
    assert filtered(city, q=x_elder.id_number.lower()) == [x_elder]
    bad = target.id_number[:17] + ("0" if target.id_number[17] != "0" else "1")
    assert filtered(city, q=bad) == []


def test_search_is_scoped(city):
    other = city.elders["510704"][1]
    assert filtered(city, q=other.id_number) == []
    assert filtered(city, q=other.phone) == []
    assert filtered(city, q=other.name) == []
    assert filtered(city, "county_b", q=other.id_number) == [other]


def test_search_by_phone(city):
    target = city.elders["510703"][1]
    phone = target.phone
    assert filtered(city, q=phone) == [target]
    assert filtered(city, q=f"{phone[:3]} {phone[3:7]} {phone[7:]}") == [target]
    assert filtered(city, q="+86" + phone) == [target]
    assert filtered(city, q="13999999999") == []


def test_search_by_name_prefix(city):
    a = city.elders["510703"]
    assert filtered(city, q="甲老人") == a
    assert filtered(city, q="甲老人2") == [a[2]]
    assert filtered(city, q="老人") == []  # prefix, not substring
    assert filtered(city, q="") == a


def test_status_sex_and_area_filters(city):
    a = city.elders["510703"]
    services.record_death(a[3], acting_user=city.user("county_a"), death_date=TODAY - dt.timedelta(days=1))
    assert filtered(city, status="deceased") == [a[3]]
    assert filtered(city, status="alive") == a[:3]
    assert filtered(city, sex="M") == [e for e in a if e.sex == "M"]
    assert filtered(city, area="510703001002") == a[2:]
    assert filtered(city, area="510703001") == a
    assert filtered(city, area="510704") == []
    assert filtered(city, area="51070x") == []
