"""The caregiver's phone pages through the Django test client: today's visits, the buttons,
the position (or its absence), the photo check, and nobody else's orders."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from yiyang.accounts.roles import Role
from yiyang.conftest import _user
from yiyang.homecare import services
from yiyang.homecare.forms_provider import PHOTO_MAX_BYTES
from yiyang.homecare.models import ServiceOrder

from .conftest import HOME, at

pytestmark = pytest.mark.django_db

ME = "/homecare/provider/me/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def assigned(city, care, *, worker=None, hour=9, day=None, service="meal"):
    day = day or timezone.localdate()
    dispatcher = city.user("dispatcher")
    order = services.create_order(acting_user=city.user("agent"), elder_id=care.elder.pk, service_code=service,
                                  provider_id=care.provider.pk, window_start=at(hour, day=day),
                                  window_end=at(hour + 1, day=day), note="带上防滑垫")
    return services.assign(services.accept(order, acting_user=dispatcher), worker or care.nurse, acting_user=dispatcher)


def url(order, action=""):
    return f"{ME}orders/{order.pk}/" + (f"{action}/" if action else "")


def image(kind="PNG", size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buffer, kind)
    return buffer.getvalue()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def test_today_lists_my_visits_in_time_order_and_nobody_elses(city, care):
    late = assigned(city, care, hour=15)
    early = assigned(city, care, hour=8)
    theirs = assigned(city, care, worker=care.helper, hour=10)
    tomorrow = assigned(city, care, day=timezone.localdate() + dt.timedelta(days=1))
    html = login(care.nurse.user).get(ME).content.decode()
    assert f'data-testid="visit-{early.pk}"' in html and f'data-testid="visit-{late.pk}"' in html
    assert html.index(f"visit-{early.pk}") < html.index(f"visit-{late.pk}")
    assert f"visit-{theirs.pk}" not in html and f"visit-{tomorrow.pk}" not in html
    assert "测试路1号" in html and "带上防滑垫" in html and "08:00–09:00" in html
    assert login(care.nurse.user).get(url(theirs)).status_code == 404
    assert login(care.nurse.user).post(url(theirs, "check-in")).status_code == 404
    assert ServiceOrder.objects.get(pk=theirs.pk).status == "assigned"


def test_a_caregiver_without_a_worker_sees_why_and_others_are_refused(city, care):
    unlinked = _user("t-unlinked", Role.CAREGIVER, organization=city.provider)
    assert "not linked to a worker" in login(unlinked).get(ME).content.decode()
    for who in ("dispatcher", "county_a", "agent"):
        assert login(city.user(who)).get(ME).status_code == 403, who


def test_start_trip_then_check_in_with_the_phones_position(city, care):
    order = assigned(city, care)
    client = login(care.nurse.user)
    page = client.get(url(order)).content.decode()
    assert 'data-testid="start-trip"' in page and "data-geolocate" in page and "homecare/worker.js" in page
    assert 'data-testid="check-out"' not in page
    response = client.post(url(order, "start-trip"))
    assert response.status_code == 302 and "On the way." in messages_of(response)
    response = client.post(url(order, "check-in"), {"latitude": f"{HOME[0] + 0.0005}", "longitude": f"{HOME[1]}"})
    order.refresh_from_db()
    assert order.status == "checked_in" and order.check_in_distance_m == 56 and order.flags == []
    assert any(m.startswith("Checked in at") for m in messages_of(response))
    page = client.get(url(order)).content.decode()
    assert 'data-testid="check-out"' in page and 'capture="environment"' in page and 'accept="image/*"' in page
    again = client.post(url(order, "check-in"), {})
    assert any("cannot become" in m for m in messages_of(again))


def test_a_check_in_without_a_position_is_flagged(city, care):
    order = assigned(city, care)
    response = login(care.nurse.user).post(url(order, "check-in"), {"latitude": "", "longitude": ""})
    order.refresh_from_db()
    assert order.status == "checked_in" and order.flags == ["no_location"] and order.check_in_latitude is None
    assert "Flagged for review: no location at check-in." in messages_of(response)


def test_check_out_with_notes_and_a_photo_the_dispatcher_can_open(city, care):
    order = assigned(city, care)
    client = login(care.nurse.user)
    client.post(url(order, "check-in"), {"latitude": HOME[0], "longitude": HOME[1]})
    photo = SimpleUploadedFile("visit.png", image("PNG"), content_type="image/png")
    response = client.post(url(order, "check-out"), {"notes": "送餐到家，老人进食正常", "photo": photo,
                                                     "latitude": HOME[0], "longitude": HOME[1]})
    assert response.status_code == 302 and "Checked out." in messages_of(response)
    order.refresh_from_db()
    assert order.status == "checked_out" and order.service_notes == "送餐到家，老人进食正常" and order.photo
    assert "short_visit" in order.flags  # out a moment after in: the service flags it, the page says so
    assert any(m.startswith("Flagged for review") for m in messages_of(response))
    served = login(city.user("dispatcher")).get(f"/homecare/provider/orders/{order.pk}/photo/")
    assert served.status_code == 200 and b"".join(served.streaming_content).startswith(b"\x89PNG")
    assert login(care.helper.user).get(f"/homecare/provider/orders/{order.pk}/photo/").status_code == 403


@pytest.mark.parametrize("upload, message", [
    (SimpleUploadedFile("visit.jpg", b"not an image at all", content_type="image/jpeg"), "must be a JPEG or PNG"),
    (SimpleUploadedFile("visit.gif", b"GIF89a" + b"\0" * 64, content_type="image/gif"), "must be a JPEG or PNG"),
    (SimpleUploadedFile("broken.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, content_type="image/png"), "must be a JPEG or PNG"),
    (SimpleUploadedFile("huge.png", b"\x89PNG\r\n\x1a\n" + b"\0" * PHOTO_MAX_BYTES, content_type="image/png"), "larger than"),
])
def test_a_photo_that_is_not_a_small_jpeg_or_png_is_refused_and_the_notes_stay(city, care, upload, message):
    order = assigned(city, care)
    client = login(care.nurse.user)
    client.post(url(order, "check-in"), {"latitude": HOME[0], "longitude": HOME[1]})
    response = client.post(url(order, "check-out"), {"notes": "已完成", "photo": upload})
    html = response.content.decode()
    assert response.status_code == 200 and message in html and "已完成" in html
    assert ServiceOrder.objects.get(pk=order.pk).status == "checked_in"


def test_a_jpeg_photo_is_accepted(city, care):
    order = assigned(city, care)
    client = login(care.nurse.user)
    client.post(url(order, "check-in"), {"latitude": HOME[0], "longitude": HOME[1]})
    photo = SimpleUploadedFile("visit.jpg", image("JPEG"), content_type="image/jpeg")
    assert client.post(url(order, "check-out"), {"notes": "ok", "photo": photo}).status_code == 302
    assert ServiceOrder.objects.get(pk=order.pk).photo


def test_no_show_needs_a_reason(city, care):
    order = assigned(city, care)
    client = login(care.nurse.user)
    html = client.post(url(order, "no-show"), {"reason": ""}).content.decode()
    assert "Say why (a reason is required)." in html
    assert ServiceOrder.objects.get(pk=order.pk).status == "assigned"
    response = client.post(url(order, "no-show"), {"reason": "敲门无人应答", "latitude": HOME[0], "longitude": HOME[1]})
    assert "Recorded: nobody at home." in messages_of(response)
    order.refresh_from_db()
    assert order.status == "no_show" and order.events.get(to_status="no_show").note == "敲门无人应答"
    assert 'data-testid="nothing-to-do"' in client.get(url(order)).content.decode()
