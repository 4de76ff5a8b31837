"""Web workers keep their PostgreSQL connection, and replace it when the database dropped it."""

import psycopg
import pytest
from django.conf import settings
from django.db import close_old_connections, connection

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="persistent connections: PostgreSQL only")


def test_connections_are_kept_between_requests_and_checked_first():
    options = settings.DATABASES["default"]
    assert options["CONN_MAX_AGE"] >= 60 and options["CONN_HEALTH_CHECKS"] is True


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_connection_the_database_dropped_is_replaced_at_the_next_request():
    close_old_connections()  # as at the start of a request
    connection.ensure_connection()
    dropped = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k not in ("cursor_factory", "context")},
                         autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [dropped])
    close_old_connections()  # the next request starts: the kept connection is checked before use
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != dropped
