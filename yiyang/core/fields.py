"""Model fields for personal data encrypted at rest."""

from django.db import models

from . import crypto


class EncryptedTextField(models.TextField):
    """Holds plaintext in Python, AES-GCM ciphertext in the database.

    Ciphertext is randomised, so never filter on this field: keep a blind index
    beside it (see :func:`yiyang.core.crypto.blind_index`).
    """

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return crypto.encrypt(value)
