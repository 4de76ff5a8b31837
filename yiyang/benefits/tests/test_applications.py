"""Applications end to end: submission refusals save nothing, the review chain and its scoping,
portal access, documents, automatic enrolment, and the payroll of application programmes."""

import datetime as dt
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from yiyang.benefits import applications, services
from yiyang.benefits.models import (
    Application,
    ApplicationDocument,
    ApplicationReview,
    Entitlement,
    PaymentLine,
    PayrollRun,
    Programme,
    Tier,
)
from yiyang.core.errors import OutOfScope, PermissionDenied, ValidationError
from yiyang.core.models import AuditEntry
from yiyang.people.models import Elder

TODAY = dt.date(2026, 11, 22)
SEP, OCT, NOV = dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


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


def elder_a(city):
    return city.elders["510703"][0]  # village 510703001001, linked to the portal user


def submit(city, user="village_a", elder=None, docs=None, month=SEP, programme="huli"):
    return applications.submit_application(
        acting_user=city.user(user), elder_id=(elder or elder_a(city)).pk, programme_code=programme,
        requested_start_month=month, documents=[("id_card", pdf())] if docs is None else docs, today=TODAY)


def approve_all(city, application, on):
    for user in ("village_a", "township_a", "county_a"):
        application = applications.review(application, decision="approve", acting_user=city.user(user), today=on)
    return application


def counts(media_dir):
    files = sum(1 for p in Path(media_dir).rglob("*") if p.is_file())
    return (Application.objects.count(), ApplicationDocument.objects.count(), ApplicationReview.objects.count(),
            Entitlement.objects.count(), AuditEntry.objects.count(), files)


def regular(elder, month):
    return PaymentLine.objects.filter(elder=elder, month=month, kind="regular")


# --- submission refusals: a specific message and nothing saved -----------------------------------


def refused(city, media, field, text, **kw):
    before = counts(media)
    with pytest.raises(ValidationError) as caught:
        submit(city, **kw)
    assert text in " ".join(caught.value.message_dict[field])
    assert counts(media) == before


def test_unknown_or_unreachable_elder_is_refused(city, huli, media):
    ghost = Elder(pk=999_999)
    refused(city, media, "elder", "No such elder in the registry", elder=ghost)
    refused(city, media, "elder", "No such elder in the registry", elder=city.elders["510704"][0])


def test_second_open_application_is_refused(city, huli, media):
    submit(city)
    refused(city, media, "programme", "already open")


def test_missing_required_documents_are_refused(city, huli, media):
    refused(city, media, "documents", "Missing documents: identity card", docs=[])


def test_wrong_type_and_oversize_documents_are_refused(city, huli, media, settings):
    refused(city, media, "file", "Only PDF, JPEG and PNG", docs=[("id_card", exe_named_pdf())])
    settings.BENEFIT_DOCUMENT_MAX_BYTES = 100
    refused(city, media, "file", "at most 100 bytes", docs=[("id_card", pdf(size=101))])
    refused(city, media, "kind", "Unknown document kind", docs=[("passport", pdf())])


def test_elder_outside_the_programme_area_dead_or_without_hukou_is_refused(city, huli, media):
    Programme.objects.filter(pk=huli.pk).update(area_id="510704")
    refused(city, media, "elder", "outside the programme's area")
    Programme.objects.filter(pk=huli.pk).update(area_id="5107", hukou_required=True)
    refused(city, media, "elder", "hukou")
    Programme.objects.filter(pk=huli.pk).update(hukou_required=False)
    Elder.objects.filter(pk=elder_a(city).pk).update(status="deceased", death_date=dt.date(2026, 8, 1))
    refused(city, media, "elder", "deceased")


def test_an_unused_document_file_is_removed_when_the_submission_fails(city, huli, media):
    submit(city)
    before = counts(media)
    with pytest.raises(ValidationError):
        submit(city, docs=[("id_card", pdf()), ("other", pdf())])  # a duplicate, found after the files are read
    assert counts(media) == before


def test_accepted_pdf_is_stored_under_a_generated_name(city, huli, media):
    application = submit(city)
    document = application.documents.get()
    assert (document.kind, document.content_type, document.size) == ("id_card", "application/pdf", 200)
    assert document.file.name.startswith("benefit-docs/") and document.file.name.endswith(".pdf")
    assert "id.pdf" not in document.file.name and (Path(media) / document.file.name).exists()
    assert application.channel == "clerk"


# --- the review chain and scoping ---------------------------------------------------------------


def test_county_b_cannot_review_county_a(city, huli):
    application = submit(city)
    applications.review(application, decision="approve", acting_user=city.user("village_a"))
    applications.review(application, decision="approve", acting_user=city.user("township_a"))
    with pytest.raises(OutOfScope):
        applications.review(application, decision="approve", acting_user=city.user("county_b"))
    assert Application.objects.get(pk=application.pk).status == "township_approved"


def test_reviewer_level_must_match_the_stage(city, huli):
    application = submit(city)
    with pytest.raises(ValidationError, match="reviewed at the village level, not the county level"):
        applications.review(application, decision="approve", acting_user=city.user("county_a"))
    applications.review(application, decision="approve", acting_user=city.user("village_a"))
    applications.review(application, decision="approve", acting_user=city.user("township_a"))
    with pytest.raises(ValidationError, match="reviewed at the county level, not the village level"):
        applications.review(application, decision="approve", acting_user=city.user("village_a"))
    with pytest.raises(PermissionDenied):
        applications.review(application, decision="approve", acting_user=city.user("agent"))
    # a city official acts at the county stage
    approved = applications.review(application, decision="approve", acting_user=city.user("city"), today=TODAY)
    assert approved.status == "approved"
    assert [r.level for r in approved.reviews.all()] == ["applicant", "village", "township", "county"]


def test_return_needs_a_reason_and_resubmission_restarts_at_the_village(city, huli):
    application = submit(city)
    with pytest.raises(ValidationError) as caught:
        applications.review(application, decision="return", acting_user=city.user("village_a"), reason="")
    assert "reason" in caught.value.message_dict
    returned = applications.review(application, decision="return", reason="请补充户口簿", acting_user=city.user("village_a"))
    assert (returned.status, returned.return_reason) == ("returned", "请补充户口簿")
    Programme.objects.filter(pk=huli.pk).update(required_documents=["id_card", "hukou_book"])
    with pytest.raises(ValidationError, match="Missing documents"):
        applications.resubmit(returned, acting_user=city.user("elder"))
    applications.add_document(returned, acting_user=city.user("elder"), kind="hukou_book", file=pdf("hk.pdf"))
    assert applications.resubmit(returned, acting_user=city.user("elder")).status == "submitted"


def test_withdrawn_or_rejected_application_frees_the_elder_for_a_new_one(city, huli):
    first = submit(city)
    assert applications.withdraw(first, acting_user=city.user("village_a"), reason="不需要了").status == "withdrawn"
    second = submit(city)
    rejected = applications.review(second, decision="reject", reason="不符合条件", acting_user=city.user("village_a"))
    assert rejected.reject_reason == "不符合条件"
    submit(city)
    with pytest.raises(ValidationError, match="Cannot withdraw an application that is rejected"):
        applications.withdraw(rejected, acting_user=city.user("village_a"))


def test_portal_user_applies_only_for_linked_elders(city, huli):
    application = submit(city, user="elder")
    assert application.channel == "portal" and application.submitted_by == city.user("elder")
    with pytest.raises(ValidationError, match="No such elder"):
        submit(city, user="elder", elder=city.elders["510703"][1])
    with pytest.raises(PermissionDenied):
        applications.review(application, decision="approve", acting_user=city.user("elder"))


def test_approval_starts_the_notice_and_the_entitlement(city, huli):
    application = approve_all(city, submit(city), dt.date(2026, 10, 28))
    assert application.approved_on == dt.date(2026, 10, 28)
    assert application.publicity_ends == dt.date(2026, 11, 4)
    entitlement = application.entitlement
    assert (entitlement.start_month, entitlement.back_pay_from, entitlement.source) == (dt.date(2026, 12, 1), None, "application")


# --- automatic enrolment --------------------------------------------------------------------------


def test_automatic_enrolment_is_idempotent(city, gaoling):
    over_80 = [e for county in city.elders.values() for e in county if e.birth_date <= dt.date(TODAY.year - 80, 11, 30)]
    assert applications.enrol_automatically(gaoling, on=TODAY) == len(over_80) == 4
    assert applications.enrol_automatically(gaoling, on=TODAY) == 0
    assert set(Entitlement.objects.values_list("elder", flat=True)) == {e.pk for e in over_80}
    assert all(e.source == "automatic" for e in Entitlement.objects.all())


def test_automatic_enrolment_refuses_application_programmes(city, huli):
    with pytest.raises(ValueError, match="enrols by application"):
        applications.enrol_automatically(huli, on=TODAY)


# --- payroll of an application programme ----------------------------------------------------------


def test_approved_application_is_paid_from_the_right_month_without_back_pay(city, huli):
    elder = elder_a(city)
    approve_all(city, submit(city), dt.date(2026, 10, 20))  # notice ends 27 October → paid from November
    services.run_payroll(programme_code="huli", month=OCT, today=TODAY)
    services.run_payroll(programme_code="huli", month=NOV, today=TODAY)
    assert not regular(elder, OCT).exists()
    assert regular(elder, NOV).get().amount_fen == 10_000
    assert PaymentLine.objects.filter(programme=huli).count() == 1  # nobody else, no back-pay
    assert not PaymentLine.objects.filter(kind="back_pay").exists()


def test_late_approval_is_back_paid_once(city, huli):
    Programme.objects.filter(pk=huli.pk).update(back_pay=True)
    elder = elder_a(city)
    approve_all(city, submit(city), dt.date(2026, 10, 20))
    back_pay = PaymentLine.objects.filter(elder=elder, kind="back_pay")
    services.run_payroll(programme_code="huli", month=OCT, today=TODAY)  # before the start month: nothing
    assert not back_pay.exists()
    nov = services.run_payroll(programme_code="huli", month=NOV, today=TODAY)
    assert sorted(back_pay.values_list("month", "amount_fen")) == [(SEP, 10_000), (OCT, 10_000)]
    assert nov.total_fen == 30_000
    services.run_payroll(programme_code="huli", month=NOV, today=TODAY)  # re-run
    assert back_pay.count() == 2
    PayrollRun.objects.filter(pk=nov.run.pk).update(status="released")
    dec = services.run_payroll(programme_code="huli", month=dt.date(2026, 12, 1), today=dt.date(2026, 12, 3))
    assert back_pay.count() == 2 and dec.total_fen == 10_000


def test_back_pay_of_an_unreleased_month_moves_with_a_re_run(city, huli):
    """A later month does not repeat back-pay an earlier, unreleased run holds; re-running that one keeps it."""
    Programme.objects.filter(pk=huli.pk).update(back_pay=True)
    approve_all(city, submit(city), dt.date(2026, 10, 20))
    services.run_payroll(programme_code="huli", month=NOV, today=dt.date(2026, 12, 3))
    services.run_payroll(programme_code="huli", month=dt.date(2026, 12, 1), today=dt.date(2026, 12, 3))
    services.run_payroll(programme_code="huli", month=NOV, today=dt.date(2026, 12, 3))
    assert PaymentLine.objects.filter(kind="back_pay").count() == 2


def test_death_stops_payment(city, huli):
    elder = elder_a(city)
    approve_all(city, submit(city), dt.date(2026, 10, 20))
    Elder.objects.filter(pk=elder.pk).update(status="deceased", death_date=dt.date(2026, 11, 15))
    services.run_payroll(programme_code="huli", month=NOV, today=dt.date(2026, 12, 3))
    services.run_payroll(programme_code="huli", month=dt.date(2026, 12, 1), today=dt.date(2026, 12, 3))
    assert regular(elder, NOV).exists()  # the month of death is paid in full
    assert not regular(elder, dt.date(2026, 12, 1)).exists()


def test_automatic_programme_payroll_ignores_entitlements(city, gaoling):
    """The demo contract: an automatic programme still pays straight from the registry."""
    result = services.run_payroll(programme_code="gaoling", month=NOV, today=TODAY)
    assert result.line_count == 4 and not Entitlement.objects.exists()


# --- API ------------------------------------------------------------------------------------------


URL = "/api/v1/benefits/applications/"


def test_api_create_review_and_scope(city, huli, api_client_for):
    clerk = api_client_for(city.user("village_a"))
    bad = clerk.post(URL, {"elder": elder_a(city).pk, "programme": "huli", "requested_start_month": "2026-09",
                           "id_card": exe_named_pdf()}, format="multipart")
    assert bad.status_code == 400 and "Only PDF" in bad.json()["file"][0]
    bad_month = clerk.post(URL, {"elder": elder_a(city).pk, "programme": "huli", "requested_start_month": "2026-13",
                                 "id_card": pdf()}, format="multipart")
    assert bad_month.status_code == 400 and "requested_start_month" in bad_month.json()
    assert Application.objects.count() == 0
    created = clerk.post(URL, {"elder": elder_a(city).pk, "programme": "huli", "requested_start_month": "2026-09",
                               "id_card": pdf()}, format="multipart")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "submitted" and body["documents"][0]["kind"] == "id_card"
    pk = body["id"]
    assert api_client_for(city.user("county_b")).get(URL).json()["count"] == 0
    assert api_client_for(city.user("county_b")).post(f"{URL}{pk}/review/", {"decision": "approve"}).status_code == 404
    wrong_stage = api_client_for(city.user("county_a")).post(f"{URL}{pk}/review/", {"decision": "approve"})
    assert wrong_stage.status_code == 400 and "status" in wrong_stage.json()
    no_reason = clerk.post(f"{URL}{pk}/review/", {"decision": "return"})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    assert clerk.post(f"{URL}{pk}/review/", {"decision": "approve"}).json()["status"] == "village_approved"
    portal = api_client_for(city.user("elder"))
    assert portal.get(URL).json()["count"] == 1
    doc = portal.post(f"{URL}{pk}/documents/", {"kind": "income_proof", "file": pdf("in.pdf")}, format="multipart")
    assert doc.status_code == 201 and doc.json()["content_type"] == "application/pdf"
    withdrawn = portal.post(f"{URL}{pk}/withdraw/", {"reason": "家属决定"})
    assert withdrawn.json()["status"] == "withdrawn"
    assert [r["action"] for r in withdrawn.json()["reviews"]] == ["submit", "approve", "withdraw"]
