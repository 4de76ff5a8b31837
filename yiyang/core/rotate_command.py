"""``yiyang rotate-keys``: re-encrypt personal data under the newest YIYANG_DATA_KEY.

Rotation: set ``YIYANG_DATA_KEY=new,old`` (every process), run this command,
then drop ``old``. Blind indexes stay under the oldest key's index secret, so
searches keep working throughout; see docs/adr/0002-personal-data-encryption.md.
"""

from __future__ import annotations

NEEDS_DJANGO = True
BATCH = 2000


def add_arguments(parser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="count the values still under an old key")


def encrypted_fields():
    from django.apps import apps

    from .fields import EncryptedTextField

    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            yield model, fields


def run(args) -> int:
    from django.db import connection, transaction

    from . import crypto

    total = 0
    for model, fields in encrypted_fields():
        table = connection.ops.quote_name(model._meta.db_table)
        columns = [f.column for f in fields]
        select = ", ".join(connection.ops.quote_name(c) for c in columns)
        pk = connection.ops.quote_name(model._meta.pk.column)  # not always "id"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {pk}, {select} FROM {table}")
            stale = [row for row in cursor.fetchall() if any(v and crypto.needs_rotation(v) for v in row[1:])]
        total += len(stale)
        print(f"{model._meta.label}: {len(stale)} rows under an old key")
        if args.dry_run:
            continue
        assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in columns)
        for start in range(0, len(stale), BATCH):
            batch = stale[start:start + BATCH]
            params = [[crypto.encrypt(crypto.decrypt(v)) if v else v for v in row[1:]] + [row[0]] for row in batch]
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", params)
    print(f"{total} rows {'to re-encrypt' if args.dry_run else 're-encrypted'}")
    return 0
