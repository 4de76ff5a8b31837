"""Sign-ins (and failed attempts) land in the audit log with the client address."""

from yiyang.conftest import PASSWORD
from yiyang.core.models import AuditEntry


def test_login_and_failed_login_are_audited(city, client):
    assert client.post("/login/", {"username": "t-county-a", "password": PASSWORD}, REMOTE_ADDR="10.1.2.3").status_code == 302
    entry = AuditEntry.objects.filter(action="login", note="login").latest("id")
    assert entry.actor == city.user("county_a")
    assert entry.client_address == "10.1.2.3"
    assert entry.area_code == "510703"
    client.logout()
    client.post("/login/", {"username": "t-county-a", "password": "wrong"})
    failed = AuditEntry.objects.filter(action="login", note="login failed").latest("id")
    assert failed.actor is None and failed.object_label == "t-county-a"


def test_api_token_login_is_audited(city, client):
    client.post("/api/v1/auth/token", {"username": "t-county-b", "password": PASSWORD}, content_type="application/json")
    assert AuditEntry.objects.filter(action="login", actor=city.user("county_b")).exists()
