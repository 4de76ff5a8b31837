"""Fast bulk writes for the demo builder and roster imports.

PostgreSQL gets COPY (an order of magnitude faster than INSERT); SQLite gets
``executemany`` inside the caller's transaction. Rows are tuples in ``columns``
order, with database values (ciphertext already sealed, dates as date objects).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection, models


def column_names(model: type[models.Model], fields: Sequence[str]) -> list[str]:
    return [model._meta.get_field(name).column for name in fields]


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert ``rows`` into ``model``'s table; returns the count. No signals, no save()."""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = column_names(model, fields)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})"
            batch: list[Sequence] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= 5000:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
                count += len(batch)
    return count


def next_id(model: type[models.Model]) -> int:
    """The first free primary key, for bulk rows that carry explicit ids."""
    last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
    return (last or 0) + 1


def reset_sequence(model: type[models.Model]) -> None:
    """After inserting explicit ids on PostgreSQL, move the id sequence past them."""
    if connection.vendor != "postgresql":
        return
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE((SELECT MAX({pk}) FROM {table}), 1))",
            [table, pk],
        )
