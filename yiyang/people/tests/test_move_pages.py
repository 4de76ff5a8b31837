"""The move page (费随人走) through the Django test client: scoped, saved through the service, errors inline."""

import datetime as dt

import pytest

from yiyang.core.models import AuditEntry
from yiyang.people.models import Elder, ResidenceMove

pytestmark = pytest.mark.django_db

DAY = dt.date.today() - dt.timedelta(days=5)


@pytest.fixture
def client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def move_url(elder, suffix=""):
    return f"/elders/{elder.pk}/move/{suffix}"


def form(to, county=None, day=DAY, **extra):
    return {"county": county or to[:6], "to_area_code": to, "moved_on": f"{day}", **extra}


def test_the_move_page_is_scoped_and_needs_the_change_permission(city, client, client_for):
    elder = city.elders["510703"][1]
    assert client.get(move_url(elder)).status_code == 302  # to the login page
    neighbour = client_for(city.user("county_b"))
    assert neighbour.get(move_url(elder)).status_code == 404
    assert neighbour.get(move_url(elder, "villages/") + "?county=510704").status_code == 404
    assert neighbour.post(move_url(elder), form("510704001002")).status_code == 404
    assert client_for(city.user("agent")).get(move_url(elder)).status_code == 403  # may see, not change
    assert client_for(city.user("agent")).post(move_url(elder), form("510704001002")).status_code == 403
    assert not ResidenceMove.objects.exists()
    assert Elder.objects.get(pk=elder.pk).area_id == elder.area_id


def test_the_detail_page_offers_the_move_to_those_who_may_change_the_elder(city, client_for):
    elder = city.elders["510703"][1]
    page = client_for(city.user("county_a")).get(f"/elders/{elder.pk}/").content.decode()
    assert f'href="/elders/{elder.pk}/move/"' in page and "Move to another village" in page
    page = client_for(city.user("agent")).get(f"/elders/{elder.pk}/").content.decode()
    assert "/move/" not in page


def test_the_village_list_covers_the_whole_city_one_county_at_a_time(city, client_for):
    elder = city.elders["510703"][0]  # lives in 510703001001
    client = client_for(city.user("county_a"))
    page = client.get(move_url(elder)).content.decode()
    assert 'value="510703001002"' in page and 'value="510703001001"' not in page  # not the village left
    assert 'value="510704"' in page  # the sibling county can be chosen ...
    assert "510704001" not in page  # ... and its villages come with the choice, not before
    fragment = client.get(move_url(elder, "villages/") + "?county=510704", HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="move-village"')
    assert 'value="510704001001"' in fragment and 'value="510704001002"' in fragment
    assert 'value="510703001002"' not in fragment
    # An unknown county falls back to the elder's own.
    fragment = client.get(move_url(elder, "villages/") + "?county=999999").content.decode()
    assert 'value="510703001002"' in fragment


def test_a_move_inside_the_jurisdiction_changes_the_village_and_shows_in_the_history(city, client_for):
    elder = city.elders["510703"][0]
    client = client_for(city.user("county_a"))
    response = client.post(move_url(elder), form("510703001002", address="新址路1号"))
    assert response.status_code == 302 and response.url == f"/elders/{elder.pk}/"
    moved = Elder.objects.get(pk=elder.pk)
    assert (moved.area_id, moved.address) == ("510703001002", "新址路1号")
    move = ResidenceMove.objects.get(elder=elder)
    assert (move.from_area_id, move.to_area_id, move.moved_on, move.recorded_by) == (
        "510703001001", "510703001002", DAY, city.user("county_a"))
    page = client.get(response.url).content.decode()
    assert "now lives in 涪城区002社区（510703001002）" in page  # the success message names the village
    assert 'data-testid="moves"' in page
    history = page[page.index('data-testid="moves"'):]
    assert f"{DAY:%Y-%m-%d}" in history and "510703001001" in history and "510703001002" in history
    assert city.user("county_a").full_name in history
    assert "No move within the city recorded." not in history


def test_a_move_out_of_the_jurisdiction_returns_to_the_list_and_the_new_county_sees_it(city, client_for):
    elder = city.elders["510703"][1]
    client = client_for(city.user("county_a"))
    response = client.post(move_url(elder), form("510704001002"))
    assert response.status_code == 302 and response.url == "/elders/"
    page = client.get(response.url).content.decode()
    assert "now lives in 游仙区002社区（510704001002）" in page
    assert client.get(f"/elders/{elder.pk}/").status_code == 404  # left the county's view
    page = client_for(city.user("county_b")).get(f"/elders/{elder.pk}/").content.decode()
    history = page[page.index('data-testid="moves"'):]
    assert "510703001001" in history and "510704001002" in history and f"{DAY:%Y-%m-%d}" in history


@pytest.mark.parametrize("day, error", [
    ("2026-02-30", "is not a real date."),
    ("", "Enter the date of the move."),
    ((dt.date.today() + dt.timedelta(days=2)).isoformat(), "is in the future."),
])
def test_a_bad_date_shows_the_error_and_saves_nothing(city, client_for, day, error):
    elder = city.elders["510703"][0]
    response = client_for(city.user("county_a")).post(move_url(elder), form("510704001001", day=day))
    assert response.status_code == 200
    assert any(error in message for message in response.context["form"].errors["moved_on"])
    page = response.content.decode()
    assert error in page
    assert 'value="510704001001" selected' in page  # the chosen county's villages, the choice kept
    assert not ResidenceMove.objects.exists()
    assert Elder.objects.get(pk=elder.pk).area_id == "510703001001"
    assert not AuditEntry.objects.filter(object_type="people.residencemove").exists()


def test_the_services_refusals_are_shown_on_the_form(city, client_for):
    elder = city.elders["510703"][0]
    client = client_for(city.user("county_a"))
    same = client.post(move_url(elder), form("510703001001"))
    assert "The elder already lives in this village." in same.content.decode()
    nowhere = client.post(move_url(elder), form("", county="510703"))
    assert "Choose the village (12-digit code) the elder moves to." in nowhere.content.decode()
    # Without scripts the village list may still be the previous county's: asked again, not moved there.
    mixed = client.post(move_url(elder), form("510703001002", county="510704"))
    assert mixed.context["form"].errors["to_area_code"] == ["Choose a village of the chosen county."]
    assert not ResidenceMove.objects.exists()
    Elder.objects.filter(pk=elder.pk).update(status="deceased", death_date=DAY)
    page = client.get(f"/elders/{elder.pk}/").content.decode()
    assert "Move to another village" not in page
    dead = client.post(move_url(elder), form("510703001002"))
    assert "Only a living elder registered here can move within the city." in dead.content.decode()
    assert not ResidenceMove.objects.exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_choosing_the_county_reloads_the_villages_in_the_browser(browser, live_server, city):
    from playwright.sync_api import expect

    from yiyang.conftest import PASSWORD

    elder = city.elders["510703"][1]
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto("/login/")
    page.fill("#id_username", city.user("county_a").username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_url(lambda url: "/login/" not in url)
    page.goto(f"/elders/{elder.pk}/")
    page.get_by_test_id("move-link").click()
    expect(page.locator("#id_to_area_code option[value='510704001002']")).to_have_count(0)
    page.select_option("#id_county", "510704")
    expect(page.locator("#id_to_area_code option[value='510704001002']")).to_have_count(1)
    page.select_option("#id_to_area_code", "510704001002")
    page.fill("#id_moved_on", "2099-01-01")  # in the future: the service's message, nothing saved
    page.get_by_role("button", name="Record the move").click()
    expect(page.get_by_test_id("move-form")).to_contain_text("is in the future")
    assert not ResidenceMove.objects.exists()
    expect(page.locator("#id_to_area_code")).to_have_value("510704001002")
    page.fill("#id_moved_on", DAY.isoformat())
    page.get_by_role("button", name="Record the move").click()
    page.wait_for_url(lambda url: url.rstrip("/").endswith("/elders"))
    expect(page.locator("body")).to_contain_text("now lives in 游仙区002社区（510704001002）")
    context.close()
    assert ResidenceMove.objects.get(elder=elder).to_area_id == "510704001002"
