"""Encryption at rest and keyed blind indexes for personal data.

Values are sealed with AES-256-GCM. Each ciphertext starts with a short key id so
keys can be rotated: the first configured key encrypts, every configured key
decrypts (``YIYANG_DATA_KEY=new,old``). Exact lookups (an ID number, a phone,
the last four ID digits) go through an HMAC-SHA256 "blind index" under a key
derived separately, so the database never holds a searchable plaintext.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


class DecryptionError(Exception):
    """Raised when no configured key can open a stored value."""


def _derive(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"yiyang:{purpose}:{secret}".encode()).digest()


@lru_cache(maxsize=8)
def _keyring(keys: tuple[str, ...], index_secret: str) -> tuple[list[tuple[str, AESGCM]], hmac.HMAC]:
    ring = []
    for secret in keys:
        key_id = hashlib.sha256(_derive(secret, "id")).hexdigest()[:6]
        ring.append((key_id, AESGCM(_derive(secret, "encrypt"))))
    # The blind-index key is its own secret, so rotating data keys never breaks lookups.
    # A keyed HMAC prototype is copied per value: bulk imports index millions of values.
    return ring, hmac.new(_derive(index_secret, "index"), digestmod=hashlib.sha256)


_current_ring = None


def keyring():
    """The configured keys, read from settings once (bulk imports call this per value)."""
    global _current_ring
    if _current_ring is None:
        if not settings.DATA_KEYS:
            raise RuntimeError("YIYANG_DATA_KEY is not set")
        _current_ring = _keyring(tuple(settings.DATA_KEYS), settings.INDEX_KEY or settings.DATA_KEYS[-1])
    return _current_ring


@receiver(setting_changed)
def _forget_keys(setting, **kwargs):
    """Tests (and key rotation drills) override the keys: read them again."""
    global _current_ring
    if setting in ("DATA_KEYS", "INDEX_KEY"):
        _current_ring = None


def encrypt(plaintext: str) -> str:
    """Seal one value; the result is ASCII text safe for a CharField."""
    ring, _ = keyring()
    key_id, aead = ring[0]
    nonce = os.urandom(12)
    sealed = aead.encrypt(nonce, plaintext.encode("utf-8"), key_id.encode())
    return f"{key_id}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(token: str) -> str:
    ring, _ = keyring()
    key_id, _sep, body = token.partition(":")
    for candidate_id, aead in ring:
        if candidate_id == key_id:
            try:
                raw = base64.b64decode(body, validate=True)
                return aead.decrypt(raw[:12], raw[12:], key_id.encode()).decode("utf-8")
            except (InvalidTag, ValueError) as exc:  # tampered, truncated or not base64
                raise DecryptionError(f"value under key {key_id} cannot be opened") from exc
    raise DecryptionError(f"no key with id {key_id}")


def needs_rotation(token: str) -> bool:
    ring, _ = keyring()
    return not token.startswith(ring[0][0] + ":")


def blind_index(value: str, purpose: str) -> str:
    """Deterministic keyed digest for exact-match search (hex, 32 chars)."""
    _, prototype = keyring()
    mac = prototype.copy()
    mac.update(f"{purpose}:{value}".encode())
    return mac.hexdigest()[:32]
