"""The application pages through the Django test client, as the shared personas.

Every write goes through ``benefits.applications``; these tests check what the pages add: scope
(another county's application or document is a 404), the forms showing the services' refusals,
nothing saved on a bad upload, the action forms offered by role and stage, and audited downloads.
"""

import datetime as dt
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from yiyang.benefits import applications
from yiyang.benefits.models import (
    Application,
    ApplicationDocument,
    ApplicationReview,
    Entitlement,
    Programme,
    Tier,
)
from yiyang.core.models import AuditEntry

pytestmark = pytest.mark.django_db

LIST = "/benefits/applications/"
NEW = "/benefits/applications/new/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def huli(city):
    programme = Programme.objects.create(code="huli", name="护理补贴", kind="care_subsidy", area_id="5107",
                                         enrolment="application", publicity_days=7, required_documents=["id_card"])
    Tier.objects.create(programme=programme, label="60+", min_age=60, max_age=None, amount_fen=10_000,
                        effective_from=dt.date(2020, 1, 1))
    return programme


def pdf(name="id.pdf", size=200):
    return SimpleUploadedFile(name, b"%PDF-1.4\n" + b"0" * (size - 9), content_type="application/pdf")


def exe_named_pdf():
    return SimpleUploadedFile("id.pdf", b"MZ\x90\x00\x03" + b"\x00" * 200, content_type="application/pdf")


def this_month() -> str:
    return f"{timezone.localdate():%Y-%m}"


def elder_a(city):
    return city.elders["510703"][0]  # village 510703001001 (village_a's), linked to the portal user


def elder_b(city):
    return city.elders["510704"][0]


def submit(city, user="village_a", elder=None):
    return applications.submit_application(
        acting_user=city.user(user), elder_id=(elder or elder_a(city)).pk, programme_code="huli",
        requested_start_month=timezone.localdate().replace(day=1), documents=[("id_card", pdf())])


def detail(application, suffix=""):
    return f"/benefits/applications/{application.pk}/{suffix}"


def counts(media_dir):
    files = sum(1 for p in Path(media_dir).rglob("*") if p.is_file())
    return (Application.objects.count(), ApplicationDocument.objects.count(), ApplicationReview.objects.count(),
            AuditEntry.objects.count(), files)


def refresh(application):
    return Application.objects.get(pk=application.pk)


# --- the list -------------------------------------------------------------------------------------


def test_list_is_scoped_and_shows_only_masked_id_numbers(city, huli, client_for):
    mine, theirs = submit(city), submit(city, user="city", elder=elder_b(city))
    response = client_for(city.user("county_a")).get(LIST)
    page = response.content.decode()
    assert response.status_code == 200
    assert [row.pk for row in response.context["table"].data] == [mine.pk]
    assert elder_a(city).name in page and elder_b(city).name not in page
    assert elder_a(city).id_number_masked in page and elder_a(city).id_number not in page
    assert f'href="{detail(mine)}"' in page and f'href="{detail(theirs)}"' not in page
    county_b = client_for(city.user("county_b")).get(LIST)
    assert [row.pk for row in county_b.context["table"].data] == [theirs.pk]


def test_list_filters_and_htmx_refresh(city, huli, client_for):
    Programme.objects.create(code="other", name="其他补贴", kind="other", area_id="5107", enrolment="application")
    first = submit(city)
    second = submit(city, elder=city.elders["510703"][1])
    applications.review(second, decision="approve", acting_user=city.user("village_a"))
    client = client_for(city.user("township_a"))

    def shown(query):
        return [row.pk for row in client.get(LIST, query).context["table"].data]

    assert sorted(shown({})) == sorted([first.pk, second.pk])
    assert shown({"status": "submitted"}) == [first.pk]
    assert shown({"awaiting": "on"}) == [second.pk]  # the township acts on village-approved applications
    assert shown({"programme": "other"}) == []
    assert shown({"q": city.elders["510703"][1].name}) == [second.pk]
    assert shown({"q": city.elders["510703"][1].id_number[-4:]}) == [second.pk]
    partial = client.get(LIST, {"status": "submitted"}, HTTP_HX_REQUEST="true")
    assert partial.content.decode().lstrip().startswith('<div id="results"') and "<html" not in partial.content.decode()
    assert partial["Vary"].find("HX-Request") >= 0


def test_awaiting_filter_follows_the_reviewer_level(city, huli, client_for):
    submitted = submit(city)
    page = client_for(city.user("village_a")).get(LIST, {"awaiting": "on"})
    assert [row.pk for row in page.context["table"].data] == [submitted.pk]
    assert [row.pk for row in client_for(city.user("county_a")).get(LIST, {"awaiting": "on"}).context["table"].data] == []
    portal = client_for(city.user("elder")).get(LIST)
    assert "awaiting" not in portal.context["filter"].filters  # the portal does not review
    assert [row.pk for row in portal.context["table"].data] == [submitted.pk]


def test_pages_need_login_and_permission(city, huli, client, client_for):
    application = submit(city)
    for url in [LIST, f"{NEW}?elder={elder_a(city).pk}", detail(application)]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/"), url
    dispatcher = client_for(city.user("dispatcher"))
    for url in [LIST, f"{NEW}?elder={elder_a(city).pk}", detail(application)]:
        assert dispatcher.get(url).status_code == 403, url
    agent = client_for(city.user("agent"))  # the hotline sees the registry, not applications
    assert agent.get(LIST).status_code == 403


# --- a new application ----------------------------------------------------------------------------


def test_new_application_only_for_an_elder_in_reach(city, huli, client_for):
    clerk = client_for(city.user("village_a"))
    assert clerk.get(NEW).status_code == 404
    assert clerk.get(f"{NEW}?elder=abc").status_code == 404
    assert clerk.get(f"{NEW}?elder={elder_b(city).pk}").status_code == 404
    assert clerk.get(f"{NEW}?elder={city.elders['510703'][2].pk}").status_code == 404  # the other village
    page = clerk.get(f"{NEW}?elder={elder_a(city).pk}")
    assert page.status_code == 200
    text = page.content.decode()
    assert elder_a(city).id_number_masked in text and elder_a(city).id_number not in text
    county_b = client_for(city.user("county_b"))
    assert county_b.get(f"{NEW}?elder={elder_a(city).pk}").status_code == 404
    posted = county_b.post(f"{NEW}?elder={elder_a(city).pk}",
                           {"programme": "huli", "requested_start_month": this_month(), "doc_id_card": pdf()})
    assert posted.status_code == 404 and not Application.objects.exists()


def test_only_application_programmes_in_reach_are_offered(city, huli, gaoling, client_for):
    Programme.objects.create(code="youxian", name="游仙补贴", kind="other", area_id="510704", enrolment="application")
    Programme.objects.create(code="closed", name="已停办补贴", kind="other", area_id="5107", enrolment="application",
                             is_active=False)
    page = client_for(city.user("village_a")).get(f"{NEW}?elder={elder_a(city).pk}")
    choices = [code for code, _label in page.context["form"].fields["programme"].choices if code]
    assert choices == ["huli"]
    # one programme: chosen already, with one input per required kind plus "other"
    assert page.context["form"].document_fields == ["doc_id_card", "doc_other"]
    assert 'name="doc_id_card"' in page.content.decode() and 'name="doc_other"' in page.content.decode()


def test_document_inputs_follow_the_chosen_programme(city, huli, client_for):
    Programme.objects.create(code="jiating", name="家庭照护补贴", kind="other", area_id="5107", enrolment="application",
                             required_documents=["hukou_book", "income_proof"])
    clerk = client_for(city.user("village_a"))
    unchosen = clerk.get(f"{NEW}?elder={elder_a(city).pk}")
    assert unchosen.context["programme"] is None and 'name="doc_' not in unchosen.content.decode()
    chosen = clerk.get(f"{NEW}?elder={elder_a(city).pk}&programme=jiating", HTTP_HX_REQUEST="true")
    assert chosen.context["form"].document_fields == ["doc_hukou_book", "doc_income_proof", "doc_other"]


def test_clerk_submits_with_a_document(city, huli, client_for, media):
    response = client_for(city.user("village_a")).post(
        f"{NEW}?elder={elder_a(city).pk}",
        {"programme": "huli", "requested_start_month": this_month(), "doc_id_card": pdf(), "doc_other": pdf("x.pdf")})
    application = Application.objects.get()
    assert response.status_code == 302 and response.url == detail(application)
    assert (application.status, application.channel, application.elder) == ("submitted", "clerk", elder_a(city))
    assert sorted(application.documents.values_list("kind", flat=True)) == ["id_card", "other"]
    assert all((Path(media) / d.file.name).exists() for d in application.documents.all())


def post_new(client, city, **data):
    return client.post(f"{NEW}?elder={elder_a(city).pk}",
                       {"programme": "huli", "requested_start_month": this_month(), **data})


def test_a_bad_upload_is_shown_at_its_input_and_saves_nothing(city, huli, client_for, media):
    clerk = client_for(city.user("village_a"))  # logging in is audited: count after it
    before = counts(media)
    response = post_new(clerk, city, doc_id_card=exe_named_pdf(), doc_other=pdf())
    assert response.status_code == 200
    assert "Only PDF, JPEG and PNG files are accepted." in response.context["form"].errors["doc_id_card"]
    assert "Only PDF, JPEG and PNG" in response.content.decode()
    assert counts(media) == before


def test_an_oversize_upload_saves_nothing(city, huli, client_for, media, settings):
    settings.BENEFIT_DOCUMENT_MAX_BYTES = 100
    clerk = client_for(city.user("village_a"))
    before = counts(media)
    response = post_new(clerk, city, doc_id_card=pdf(size=101))
    assert "at most 100 bytes" in " ".join(response.context["form"].errors["doc_id_card"])
    assert counts(media) == before


def test_service_refusals_are_shown_in_the_form(city, huli, client_for, media):
    clerk = client_for(city.user("village_a"))
    before = counts(media)
    missing = post_new(clerk, city, doc_other=pdf())
    assert missing.context["form"].document_errors == ["Missing documents: identity card."]
    assert 'data-testid="document-errors"' in missing.content.decode()
    bad_month = post_new(clerk, city, requested_start_month="2026-13", doc_id_card=pdf())
    assert "is not a month" in " ".join(bad_month.context["form"].errors["requested_start_month"])
    Programme.objects.filter(code="huli").update(hukou_required=True)
    no_hukou = post_new(clerk, city, doc_id_card=pdf())
    assert "local household registration" in " ".join(no_hukou.context["form"].non_field_errors())
    assert counts(media) == before
    Programme.objects.filter(code="huli").update(hukou_required=False)
    submit(city)
    after_first = counts(media)
    duplicate = post_new(clerk, city, doc_id_card=pdf())
    assert "already open" in " ".join(duplicate.context["form"].errors["programme"])
    assert counts(media) == after_first  # its file was read, stored and removed again
    assert 'href="/benefits/applications/' in duplicate.content.decode()  # the open one is linked


# --- an application's page and its actions ------------------------------------------------------------


def test_detail_is_404_for_the_other_county(city, huli, client_for):
    application = submit(city)
    county_b = client_for(city.user("county_b"))
    assert county_b.get(detail(application)).status_code == 404
    assert county_b.post(detail(application, "review/"), {"decision": "approve"}).status_code == 404
    assert county_b.post(detail(application, "withdraw/"), {"reason": "x"}).status_code == 404
    assert county_b.post(detail(application, "documents/"), {"kind": "other", "file": pdf()}).status_code == 404
    assert county_b.get(LIST + "999999/").status_code == 404
    assert refresh(application).status == "submitted" and application.documents.count() == 1


def test_detail_shows_the_application_masked(city, huli, client_for):
    application = submit(city)
    response = client_for(city.user("county_a")).get(detail(application))
    page = response.content.decode()
    assert elder_a(city).id_number_masked in page and elder_a(city).id_number not in page
    assert "护理补贴" in page and 'data-testid="timeline"' in page
    document = application.documents.get()
    assert f'href="/benefits/applications/documents/{document.pk}/"' in page


def test_review_form_is_offered_at_the_stage_level_only(city, huli, client_for):
    application = submit(city)
    assert client_for(city.user("village_a")).get(detail(application)).context["allowed"]["review"]
    assert not client_for(city.user("township_a")).get(detail(application)).context["allowed"]["review"]
    assert not client_for(city.user("county_a")).get(detail(application)).context["allowed"]["review"]
    portal = client_for(city.user("elder")).get(detail(application))
    assert not portal.context["allowed"]["review"] and portal.context["allowed"]["withdraw"]
    assert 'data-testid="review-form"' not in portal.content.decode()


def test_review_chain_through_the_pages(city, huli, client_for):
    application = submit(city)
    for who, status in (("village_a", "village_approved"), ("township_a", "township_approved"), ("county_a", "approved")):
        response = client_for(city.user(who)).post(detail(application, "review/"), {"decision": "approve"})
        assert response.status_code == 302, who
        assert refresh(application).status == status
    approved = refresh(application)
    assert approved.publicity_ends == timezone.localdate() + dt.timedelta(days=7)
    entitlement = Entitlement.objects.get(application=approved)
    page = client_for(city.user("county_a")).get(detail(application), follow=True)
    text = page.content.decode()
    assert f"{approved.publicity_ends:%Y-%m-%d}" in text and f"{entitlement.start_month:%Y-%m}" in text
    assert "The public notice runs until" in text or 'data-testid="publicity-ends"' in text
    assert [r.level for r in ApplicationReview.objects.filter(application=approved)] == [
        "applicant", "village", "township", "county"]


def test_wrong_level_and_missing_reason_are_shown_and_change_nothing(city, huli, client_for):
    application = submit(city)
    township = client_for(city.user("township_a")).post(detail(application, "review/"), {"decision": "approve"})
    assert township.status_code == 200
    assert "reviewed at the village level, not the township level" in township.content.decode()
    clerk = client_for(city.user("village_a"))
    for decision in ("return", "reject"):
        response = clerk.post(detail(application, "review/"), {"decision": decision, "reason": "  "})
        assert response.status_code == 200
        assert "Give a reason" in " ".join(response.context["decision_form"].errors["reason"])
    assert refresh(application).status == "submitted"
    assert ApplicationReview.objects.filter(application=application).count() == 1


def test_the_portal_cannot_review(city, huli, client_for):
    application = submit(city)
    assert client_for(city.user("elder")).post(detail(application, "review/"), {"decision": "approve"}).status_code == 403
    assert refresh(application).status == "submitted"


def test_return_add_document_and_resubmit(city, huli, client_for, media):
    application = submit(city)
    clerk = client_for(city.user("village_a"))
    clerk.post(detail(application, "review/"), {"decision": "return", "reason": "请补充户口簿"})
    assert (refresh(application).status, refresh(application).return_reason) == ("returned", "请补充户口簿")
    Programme.objects.filter(code="huli").update(required_documents=["id_card", "hukou_book"])
    portal = client_for(city.user("elder"))
    page = portal.get(detail(application)).content.decode()
    assert "请补充户口簿" in page and 'data-testid="resubmit-form"' in page
    refused = portal.post(detail(application, "resubmit/"))
    assert "Missing documents: household register" in refused.content.decode()
    assert refresh(application).status == "returned"
    before = counts(media)
    bad = portal.post(detail(application, "documents/"), {"kind": "hukou_book", "file": exe_named_pdf()})
    assert "Only PDF, JPEG and PNG" in " ".join(bad.context["document_form"].errors["file"])
    assert counts(media) == before
    added = portal.post(detail(application, "documents/"), {"kind": "hukou_book", "file": pdf("hk.pdf")})
    assert added.status_code == 302
    assert portal.post(detail(application, "resubmit/")).status_code == 302
    assert refresh(application).status == "submitted"


def test_reject_and_withdraw(city, huli, client_for):
    first = submit(city)
    clerk = client_for(city.user("village_a"))
    assert clerk.post(detail(first, "withdraw/"), {"reason": "家属决定"}).status_code == 302
    assert refresh(first).status == "withdrawn"
    again = clerk.post(detail(first, "withdraw/"), {"reason": ""})
    assert "Cannot withdraw an application that is withdrawn" in again.content.decode()
    second = submit(city)
    clerk.post(detail(second, "review/"), {"decision": "reject", "reason": "不符合条件"})
    assert (refresh(second).status, refresh(second).reject_reason) == ("rejected", "不符合条件")
    page = clerk.get(detail(second)).content.decode()
    assert "不符合条件" in page and 'data-testid="review-form"' not in page and 'data-testid="withdraw-form"' not in page


# --- downloads ------------------------------------------------------------------------------------


def download(client, document):
    return client.get(f"/benefits/applications/documents/{document.pk}/")


def test_download_is_an_audited_attachment(city, huli, client_for):
    document = submit(city).documents.get()
    response = download(client_for(city.user("township_a")), document)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-1.4")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    entry = AuditEntry.objects.filter(object_type="benefits.applicationdocument", object_id=str(document.pk)).get()
    assert (entry.action, entry.actor, entry.area_code) == ("reveal", city.user("township_a"), elder_a(city).area_id)
    download(client_for(city.user("elder")), document)  # the linked portal account may read it too
    assert AuditEntry.objects.filter(object_type="benefits.applicationdocument", action="reveal").count() == 2


def test_download_outside_the_jurisdiction_is_404_and_not_audited(city, huli, client_for):
    document = submit(city).documents.get()
    downloads = AuditEntry.objects.filter(action="reveal")
    assert download(client_for(city.user("county_b")), document).status_code == 404
    assert download(client_for(city.user("dispatcher")), document).status_code == 403
    assert client_for(city.user("county_a")).get("/benefits/applications/documents/999999/").status_code == 404
    assert not downloads.exists()


def test_download_of_a_missing_file_is_404(city, huli, client_for):
    document = submit(city).documents.get()
    document.file.storage.delete(document.file.name)
    assert download(client_for(city.user("county_a")), document).status_code == 404


# --- links from the other pages ---------------------------------------------------------------------


def test_links_to_the_application_pages(city, huli, client_for):
    programmes = client_for(city.user("county_a")).get("/benefits/").content.decode()
    assert f'href="{LIST}"' in programmes
    elder_page = client_for(city.user("village_a")).get(f"/elders/{elder_a(city).pk}/").content.decode()
    assert f'href="{NEW}?elder={elder_a(city).pk}"' in elder_page
    agent_page = client_for(city.user("agent")).get(f"/elders/{elder_a(city).pk}/").content.decode()
    assert NEW not in agent_page  # the hotline may not apply
