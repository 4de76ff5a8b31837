"""Encryption at rest, blind indexes, key rotation, masking and the append-only audit log."""

from __future__ import annotations

import argparse
import base64

import pytest
from django.conf import settings as dj_settings
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from yiyang.core import audit, context, crypto
from yiyang.core.masking import mask_id_number, mask_phone
from yiyang.core.models import AuditAction, AuditEntry, AuditEntryError
from yiyang.people.models import Elder

ID = "11010519491231002X"


# --- encryption ----------------------------------------------------------------------------------

@settings(max_examples=200)
@given(st.text())
def test_round_trip(text):
    token = crypto.encrypt(text)
    assert token.isascii()
    assert crypto.decrypt(token) == text


def test_ciphertext_is_randomised_and_hides_the_value():
    tokens = {crypto.encrypt(ID) for _ in range(20)}
    assert len(tokens) == 20
    for token in tokens:
        key_id, _sep, body = token.partition(":")
        assert len(key_id) == 6 and all(c in "0123456789abcdef" for c in key_id)
        assert ID not in token and ID[:14] not in token
        assert ID.encode() not in base64.b64decode(body)
        assert crypto.decrypt(token) == ID


def flip_a_bit(token: str) -> str:
    key_id, _sep, body = token.partition(":")
    raw = bytearray(base64.b64decode(body))
    raw[20] ^= 0x01
    return f"{key_id}:{base64.b64encode(bytes(raw)).decode()}"


@pytest.mark.parametrize("tamper", [
    flip_a_bit,
    lambda t: t[:12],  # truncated
    lambda t: t.split(":")[0] + ":" + "%%%not base64%%%",
    lambda t: t.split(":")[0] + ":",
])
def test_tampered_ciphertext_is_a_decryption_error(tamper):
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(tamper(crypto.encrypt(ID)))


def test_unknown_key_id_is_a_decryption_error():
    token = crypto.encrypt(ID)
    with pytest.raises(crypto.DecryptionError, match="no key"):
        crypto.decrypt("ffffff" + token[6:] if not token.startswith("ffffff") else "eeeeee" + token[6:])


def test_key_id_is_authenticated():
    """Moving a ciphertext under another key's id must not open (the key id is associated data)."""
    with override_settings(DATA_KEYS=["new-key", "old-key"]):
        new_token = crypto.encrypt(ID)
        with override_settings(DATA_KEYS=["old-key"]):
            old_id = crypto.encrypt("x").split(":")[0]
        forged = old_id + new_token[6:]
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(forged)


def test_no_key_configured():
    with override_settings(DATA_KEYS=[]), pytest.raises(RuntimeError, match="YIYANG_DATA_KEY"):
        crypto.encrypt(ID)


# --- blind indexes -------------------------------------------------------------------------------

def test_blind_index_is_deterministic_keyed_and_purpose_bound():
    index = crypto.blind_index(ID, "id")
    assert index == crypto.blind_index(ID, "id")
    assert len(index) == 32 and int(index, 16) >= 0
    assert index != crypto.blind_index(ID, "phone")
    assert index != crypto.blind_index(ID[:-1] + "0", "id")
    assert ID not in index
    with override_settings(INDEX_KEY="another-index-secret"):
        assert crypto.blind_index(ID, "id") != index


@settings(max_examples=100)
@given(st.text(min_size=1), st.text(min_size=1))
def test_blind_index_separates_values(a, b):
    assert (crypto.blind_index(a, "id") == crypto.blind_index(b, "id")) == (a == b)


# --- key rotation --------------------------------------------------------------------------------

def test_rotation_keeps_old_values_readable_and_indexes_stable():
    with override_settings(DATA_KEYS=["old-key"]):
        old_token = crypto.encrypt(ID)
        old_index = crypto.blind_index(ID, "id")
        assert not crypto.needs_rotation(old_token)
    with override_settings(DATA_KEYS=["new-key", "old-key"]):
        assert crypto.decrypt(old_token) == ID
        new_token = crypto.encrypt(ID)
        assert new_token.split(":")[0] != old_token.split(":")[0]
        assert crypto.needs_rotation(old_token) and not crypto.needs_rotation(new_token)
        assert crypto.decrypt(new_token) == ID
        assert crypto.blind_index(ID, "id") == old_index
    with override_settings(DATA_KEYS=["new-key"]):
        assert crypto.decrypt(new_token) == ID
        assert crypto.blind_index(ID, "id") == old_index
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(old_token)


def raw_column(model, pk, column):
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {connection.ops.quote_name(column)} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_rotation_of_stored_rows(city):
    """Rows written under the old key stay readable and searchable; rotate-keys moves them to the new key."""
    from yiyang.core import rotate_command
    from yiyang.people.filters import ElderFilter

    elder = city.elders["510703"][0]
    old_raw = raw_column(Elder, elder.pk, "id_number")
    old_key_id = old_raw.split(":")[0]
    with override_settings(DATA_KEYS=["rotated-new-key", *dj_settings.DATA_KEYS]):
        fresh = Elder.objects.get(pk=elder.pk)
        assert fresh.id_number == elder.id_number
        found = ElderFilter({"q": elder.id_number}, queryset=Elder.objects.for_user(city.user("county_a"))).qs
        assert list(found) == [fresh]
        rotate_command.run(argparse.Namespace(dry_run=False))
        new_raw = raw_column(Elder, elder.pk, "id_number")
        assert new_raw.split(":")[0] != old_key_id
        assert not crypto.needs_rotation(new_raw)
        assert not crypto.needs_rotation(raw_column(Elder, elder.pk, "phone"))
        assert raw_column(Elder, elder.pk, "id_index") == crypto.blind_index(elder.id_number, "id")
    with override_settings(DATA_KEYS=["rotated-new-key"]):
        assert {e.pk: (e.id_number, e.phone) for e in Elder.objects.all()} == {
            e.pk: (e.id_number, e.phone) for county in city.elders.values() for e in county}
        assert list(ElderFilter({"q": elder.phone}, queryset=Elder.objects.for_user(city.user("county_a"))).qs) == [elder]


# --- masking -------------------------------------------------------------------------------------

def test_mask_examples():
    assert mask_id_number(ID) == "1101*************X"
    assert mask_id_number("510703194503120011") == "5107*************1"
    assert mask_id_number("") == ""
    assert mask_id_number(None) == ""
    assert mask_id_number("12345") == "*****"
    assert mask_id_number("123456") == "1234*6"
    assert mask_phone("13800001234") == "138****1234"
    assert mask_phone("0816-2345678") == "081*****5678"
    assert mask_phone("1234567") == "*******"
    assert mask_phone("") == ""


@given(st.text(min_size=6))
def test_mask_id_number_keeps_length_first_four_and_last(value):
    masked = mask_id_number(value)
    assert len(masked) == len(value)
    assert masked[:4] == value[:4] and masked[-1] == value[-1]
    assert masked[4:-1] == "*" * (len(value) - 5)


@given(st.text(min_size=1, max_size=5))
def test_mask_id_number_hides_short_values_entirely(value):
    assert mask_id_number(value) == "*" * len(value)


@given(st.from_regex(r"\A[1-9]\d{16}[\dX]\Z"))
def test_masked_id_cannot_be_rebuilt_from_birth_date(value):
    masked = mask_id_number(value)
    assert value[6:14] not in masked and value[14:17] not in masked[4:]


@given(st.text(min_size=8))
def test_mask_phone_keeps_length_first_three_and_last_four(value):
    masked = mask_phone(value)
    assert len(masked) == len(value)
    assert masked[:3] == value[:3] and masked[-4:] == value[-4:]
    assert set(masked[3:-4]) <= {"*"}


# --- audit log -----------------------------------------------------------------------------------

@pytest.fixture
def entry(db):
    return audit.record(AuditAction.UPDATE, actor=None, object_type="people.elder", object_id=1, label="x",
                        area_code="510703001001", before={"a": 1, "b": 2}, after={"a": 1, "b": 3})


def test_record_keeps_only_changes_and_names_the_system(entry):
    assert (entry.before, entry.after) == ({"b": 2}, {"b": 3})
    assert entry.actor is None and entry.actor_name == "system" and entry.channel == "system"


def test_record_uses_the_bound_request(db):
    token = context.bind(context.RequestInfo(client_address="192.0.2.4", channel="cli"))
    try:
        made = audit.record(AuditAction.EXPORT, actor=None, object_type="people.elder", note="n" * 600)
    finally:
        context.unbind(token)
    assert (made.client_address, made.channel, len(made.note)) == ("192.0.2.4", "cli", 500)
    assert len(made.request_id) == 32
    assert audit.record(AuditAction.EXPORT, actor=None, object_type="x").channel == "system"


def test_snapshot_masks_sensitive_fields(city):
    elder = city.elders["510703"][0]
    snap = audit.snapshot(elder, ["id_number", "phone", "birth_date", "area"], masked=Elder.SENSITIVE)
    assert snap == {"id_number": f"{mask_id_number(elder.id_number)} #{audit.fingerprint(elder.id_number)}",
                    "phone": f"{mask_phone(elder.phone)} #{audit.fingerprint(elder.phone)}",
                    "birth_date": elder.birth_date.isoformat(), "area": elder.area_id}


def test_a_hidden_digit_correction_still_shows_as_a_change(city):
    from yiyang.people.services import update_elder

    elder = city.elders["510703"][1]
    corrected = elder.id_number[:14] + ("1" if elder.id_number[14] != "1" else "2") + elder.id_number[15:17]
    from yiyang.people import idnumber

    corrected += idnumber.check_char(corrected)
    update_elder(elder, acting_user=city.user("county_a"), data={"id_number": corrected})
    entry = AuditEntry.objects.filter(object_id=str(elder.pk), action=AuditAction.UPDATE).latest("id")
    assert "id_number" in entry.after
    assert corrected not in str(entry.after) and corrected not in str(entry.before)


def test_saving_an_existing_entry_is_refused(entry):
    entry.note = "changed"
    with pytest.raises(AuditEntryError):
        entry.save()
    assert AuditEntry.objects.get(pk=entry.pk).note == ""


def test_deleting_an_entry_is_refused(entry):
    with pytest.raises(AuditEntryError):
        entry.delete()
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


postgres_only = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="the database-level guard is a PostgreSQL trigger")


def test_queryset_update_and_delete_are_refused(entry):
    with pytest.raises(AuditEntryError):
        AuditEntry.objects.filter(pk=entry.pk).update(note="rewritten")
    with pytest.raises(AuditEntryError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).note == ""


@postgres_only
@pytest.mark.parametrize("sql", [
    "UPDATE core_auditentry SET note = 'rewritten' WHERE id = %s",
    "UPDATE core_auditentry SET actor_name = 'someone else' WHERE id = %s",
    "DELETE FROM core_auditentry WHERE id = %s",
])
def test_raw_sql_cannot_change_or_remove_entries(entry, sql):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [entry.pk])
    assert AuditEntry.objects.filter(pk=entry.pk, note="", actor_name="system").exists()


def test_entries_can_still_be_added(entry):
    audit.record(AuditAction.CREATE, actor=None, object_type="people.elder", object_id=2)
    assert AuditEntry.objects.count() == 2
