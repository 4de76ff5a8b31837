"""The assessment workflow through its services: refusals name the rule, every write is audited."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404

from yiyang.assessments import rules, services
from yiyang.assessments.instruments import MZ_T_039_2013
from yiyang.assessments.models import Assessment, AssessmentPolicy, Reason, RequesterKind
from yiyang.assessments.rules import Status
from yiyang.conftest import TODAY
from yiyang.core.models import AuditAction, AuditEntry
from yiyang.organizations.models import Organization, OrganizationKind
from yiyang.people.models import Contact, ElderAccess

from .conftest import full_items, make_assessor

D = dt.timedelta


@pytest.fixture
def elder(city):
    return city.elders["510703"][0]  # has a guardian contact and a portal account (city.user("elder"))


@pytest.fixture
def requested(city, elder, assessors):
    return services.request_assessment(elder, acting_user=city.user("village_a"))


def assigned(city, assessment, *people):
    return services.assign_assessors(assessment, assessors=list(people), acting_user=city.user("county_a"))


def recorded(city, assessors, assessment, items=None, **conditions):
    """Assigned to a1 and a2, fully recorded, signed by both and the elder."""
    a1, a2 = assessors["a1"], assessors["a2"]
    assigned(city, assessment, a1, a2)
    services.save_draft(assessment, acting_user=a1.user, items=items or full_items(), **conditions)
    for assessor in (a1, a2):
        services.sign(assessment, acting_user=assessor.user, signed_as="assessor")
    services.sign(assessment, acting_user=a1.user, signed_as="elder")
    return assessment


def approved(city, assessors, assessment, on: dt.date = TODAY, items=None) -> Assessment:
    recorded(city, assessors, assessment, items=items)
    services.submit(assessment, acting_user=assessors["a2"].user, today=on)
    return services.review(assessment, acting_user=city.user("township_a"), decision="approve", today=on)


def messages(excinfo, field):
    return " ".join(excinfo.value.message_dict[field])


# --- request --------------------------------------------------------------------------------------

def test_request_records_who_asked(city, elder, assessors):
    by_official = services.request_assessment(elder, acting_user=city.user("village_a"), requester_kind="institution")
    assert (by_official.status, by_official.requester_kind, by_official.instrument) == (
        "requested", "institution", "GB/T 42195-2022")
    assert by_official.assessors_required == 2
    services.cancel_assessment(by_official, acting_user=city.user("county_a"), reason="重复")
    by_elder = services.request_assessment(elder, acting_user=city.user("elder"), requester_kind="official")
    assert by_elder.requester_kind == RequesterKind.ELDER  # a portal account cannot claim to be an official


def test_one_open_assessment_per_elder(city, elder, requested):
    with pytest.raises(ValidationError) as excinfo:
        services.request_assessment(elder, acting_user=city.user("county_a"))
    assert "open assessment" in messages(excinfo, "elder")
    with pytest.raises(IntegrityError), transaction.atomic():  # the database guards it too
        Assessment.objects.create(elder=elder, instrument="GB/T 42195-2022", reason="first", requester_kind="official",
                                  assessors_required=2)


def test_request_outside_jurisdiction_is_not_found(city, assessors):
    with pytest.raises(Http404):
        services.request_assessment(city.elders["510704"][0], acting_user=city.user("county_a"))


def test_policy_of_the_most_specific_area_in_force(city, elder, assessors):
    services.set_policy("5107", acting_user=city.user("city"), effective_from=TODAY - D(days=400), assessors_required=3)
    services.set_policy("510703", acting_user=city.user("county_a"), effective_from=TODAY + D(days=1),
                        assessors_required=1)
    assert services.policy_for(elder.area_id, TODAY).assessors_required == 3
    assert services.policy_for(elder.area_id, TODAY + D(days=1)).assessors_required == 1
    assert services.policy_for("510704001001", TODAY + D(days=1)).assessors_required == 3
    assert services.policy_for("510802001001", TODAY) == rules.DEFAULT_POLICY
    assert AssessmentPolicy.objects.get(area_id="5107").effective_to is None
    assessment = services.request_assessment(elder, acting_user=city.user("county_a"))
    assert assessment.assessors_required == 3


def test_policy_changes_are_checked_and_end_the_previous_settings(city):
    first = services.set_policy("510703", acting_user=city.user("county_a"), effective_from=dt.date(2026, 1, 1))
    services.set_policy("510703", acting_user=city.user("county_a"), effective_from=dt.date(2027, 1, 1),
                        validity_months=6)
    first.refresh_from_db()
    assert first.effective_to == dt.date(2026, 12, 31)
    assert services.policy_for("510703001001", dt.date(2027, 1, 1)).validity_months == 6
    with pytest.raises(PermissionDenied):
        services.set_policy("510704", acting_user=city.user("county_a"), effective_from=TODAY)
    with pytest.raises(PermissionDenied):
        services.set_policy("510703001", acting_user=city.user("township_a"), effective_from=TODAY)
    with pytest.raises(ValidationError) as excinfo:
        services.set_policy("510703", acting_user=city.user("county_a"), effective_from=TODAY, assessors_required=0)
    assert "assessors_required" in excinfo.value.message_dict


def test_qualification_needs_an_assessor_and_an_agency_in_scope(city, assessors):
    county = city.user("county_a")
    agency = assessors["a1"].organization
    with pytest.raises(ValidationError) as excinfo:
        services.qualify_assessor(city.user("village_a"), acting_user=county, organization=agency,
                                  certificate_no="X", valid_from=TODAY, valid_until=TODAY)
    assert "user" in excinfo.value.message_dict
    for organization in (city.provider, assessors["b1"].organization):
        with pytest.raises(ValidationError) as excinfo:
            services.qualify_assessor(assessors["a1"].user, acting_user=county, organization=organization,
                                      certificate_no="X", valid_from=TODAY, valid_until=TODAY)
        assert "organization" in excinfo.value.message_dict
    with pytest.raises(PermissionDenied):
        services.qualify_assessor(assessors["a1"].user, acting_user=city.user("township_a"), organization=agency,
                                  certificate_no="X", valid_from=TODAY, valid_until=TODAY)


# --- assignment -------------------------------------------------------------------------------------

def assign_refused(city, assessment, *people) -> str:
    with pytest.raises(ValidationError) as excinfo:
        assigned(city, assessment, *people)
    return messages(excinfo, "assessors")


def test_assignment_needs_the_required_number_of_distinct_assessors(city, requested, assessors):
    a1, a2, a3 = assessors["a1"], assessors["a2"], assessors["a3"]
    assert "exactly 2" in assign_refused(city, requested, a1)
    assert "exactly 2" in assign_refused(city, requested, a1, a2, a3)
    assert "twice" in assign_refused(city, requested, a1, a1)
    assert assigned(city, requested, a1, a2).status == Status.ASSIGNED
    assert assigned(city, requested, a2, a3).status == Status.ASSIGNED  # replaced before recording
    assert sorted(requested.assignments.values_list("assessor_id", flat=True)) == [a2.pk, a3.pk]


def test_unqualified_assessors_are_refused(city, requested, assessors):
    a1 = assessors["a1"]
    agency = a1.organization
    expired = make_assessor(city.user("county_a"), "t-expired", "510703", agency,
                            valid_from=TODAY - D(days=800), valid_until=TODAY - D(days=1))
    assert "no certificate valid" in assign_refused(city, requested, a1, expired)
    future = make_assessor(city.user("county_a"), "t-future", "510703", agency, valid_from=TODAY + D(days=1),
                           valid_until=TODAY + D(days=300))
    assert "no certificate valid" in assign_refused(city, requested, a1, future)
    services.qualify_assessor(assessors["a2"].user, acting_user=city.user("county_a"), organization=agency,
                              certificate_no="PG-2", valid_from=TODAY - D(days=10), valid_until=TODAY, is_active=False)
    assert "not an active assessor" in assign_refused(city, requested, a1, assessors["a2"])
    assert "does not work in the elder's area" in assign_refused(city, requested, a1, assessors["b1"])


def test_conflicts_of_interest_are_refused(city, elder, requested, assessors):
    a1, a2, a3, a4 = (assessors[k] for k in ("a1", "a2", "a3", "a4"))
    ElderAccess.objects.create(user=a2.user, elder=elder, relation="son")
    assert "linked to the elder as family" in assign_refused(city, requested, a1, a2)

    institution = Organization.objects.create(name="福寿养老院", kind=OrganizationKind.INSTITUTION, area_id=elder.area_id)
    services.qualify_assessor(a3.user, acting_user=city.user("county_a"), organization=institution,
                              certificate_no="PG-3", valid_from=TODAY - D(days=1), valid_until=TODAY + D(days=99))
    assert assigned(city, requested, a1, a3)  # the elder lives at home: no conflict
    elder.living_arrangement = "institution"
    elder.save(update_fields=["living_arrangement"])
    assert "works for the institution" in assign_refused(city, requested, a1, a3)

    services.declare_conflict(elder, acting_user=a4.user, reason="邻居")
    assert "declared a conflict" in assign_refused(city, requested, a1, a4)
    requested.refresh_from_db()
    assert services.eligible_assessors(requested, user=city.user("county_a")) == [a1]


def test_only_assigning_officials_assign(city, requested, assessors):
    with pytest.raises(PermissionDenied):
        services.assign_assessors(requested, assessors=[assessors["a1"], assessors["a2"]],
                                  acting_user=city.user("village_a"))
    with pytest.raises(Http404):
        services.assign_assessors(requested, assessors=[assessors["a1"], assessors["a2"]],
                                  acting_user=city.user("county_b"))


# --- recording, signatures, submission ------------------------------------------------------------------

def test_draft_is_saved_partially_and_resumed(city, requested, assessors):
    a1, a2 = assessors["a1"], assessors["a2"]
    assigned(city, requested, a1, a2)
    services.save_draft(requested, acting_user=a1.user, items={"B.1.1": 3, "B.1.2": 2}, dementia=True)
    requested.refresh_from_db()
    assert requested.status == Status.IN_PROGRESS
    services.save_draft(requested, acting_user=a2.user, items={"B.1.2": None, "B.2.4": 1})  # the other tablet
    form = services.reveal_form(requested, acting_user=a1.user)
    assert form == {"items": {"B.1.1": 3, "B.2.4": 1}, "coma": False, "dementia": True, "risk_events_30d": 0}
    with pytest.raises(rules.ScoringError) as excinfo:
        services.save_draft(requested, acting_user=a1.user, items={"B.2.4": 4})
    assert set(excinfo.value.errors) == {"B.2.4"}


def test_answers_are_encrypted_at_rest(city, requested, assessors):
    from django.db import connection

    recorded(city, assessors, requested, items=full_items(**{"B.1.1": 1}), dementia=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT answers FROM assessments_assessment WHERE id = %s", [requested.pk])
        stored = cursor.fetchone()[0]
    assert "B.1.1" not in stored and "dementia" not in stored
    assert json.loads(Assessment.objects.get(pk=requested.pk).answers)["items"]["B.1.1"] == 1


def test_only_assigned_assessors_record(city, requested, assessors):
    assigned(city, requested, assessors["a1"], assessors["a2"])
    with pytest.raises(Http404):  # an assessor sees only their own assessments
        services.save_draft(requested, acting_user=assessors["a3"].user, items={"B.1.1": 4})
    with pytest.raises(PermissionDenied):
        services.save_draft(requested, acting_user=city.user("county_a"), items={"B.1.1": 4})


def test_submit_names_the_missing_item(city, requested, assessors):
    a1 = assessors["a1"]
    assigned(city, requested, a1, assessors["a2"])
    items = full_items()
    del items["B.4.5"]
    services.save_draft(requested, acting_user=a1.user, items=items)
    with pytest.raises(rules.ScoringError) as excinfo:
        services.submit(requested, acting_user=a1.user)
    assert set(excinfo.value.errors) == {"B.4.5"}
    with pytest.raises(rules.ScoringError):
        services.sign(requested, acting_user=a1.user, signed_as="assessor")  # a signature attests a complete form


def test_submit_requires_every_signature(city, elder, requested, assessors):
    a1, a2 = assessors["a1"], assessors["a2"]
    assigned(city, requested, a1, a2)
    services.save_draft(requested, acting_user=a1.user, items=full_items())
    services.sign(requested, acting_user=a1.user, signed_as="assessor")
    with pytest.raises(ValidationError) as excinfo:
        services.submit(requested, acting_user=a1.user)
    missing = messages(excinfo, "signatures")
    assert "t-assessor-a2 has not signed" in missing and "elder or a guardian" in missing
    with pytest.raises(ValidationError):
        services.sign(requested, acting_user=a1.user, signed_as="assessor")  # not twice
    services.sign(requested, acting_user=a2.user, signed_as="assessor")
    stranger = Contact.objects.create(elder=city.elders["510703"][1], name="别人", relation="son", is_guardian=True)
    with pytest.raises(ValidationError) as excinfo:
        services.sign(requested, acting_user=a2.user, signed_as="guardian", contact=stranger)
    assert "contact" in excinfo.value.message_dict
    guardian = elder.contacts.get(is_guardian=True)
    signature = services.sign(requested, acting_user=a2.user, signed_as="guardian", contact=guardian,
                              image="data:image/png;base64,iVBORw0KGgo=")
    assert (signature.name, signature.role) == ("子女", "guardian")
    submitted = services.submit(requested, acting_user=a1.user)
    assert (submitted.status, submitted.total, submitted.grade) == (Status.SUBMITTED, 90, 0)


def test_saving_again_withdraws_signatures(city, requested, assessors):
    recorded(city, assessors, requested)
    services.save_draft(requested, acting_user=assessors["a1"].user, items={"B.1.1": 2})
    assert not requested.signatures.exists()


def test_submit_checks_assessors_again(city, elder, requested, assessors):
    recorded(city, assessors, requested)
    services.declare_conflict(elder, acting_user=assessors["a2"].user, reason="发现是远亲")
    with pytest.raises(ValidationError) as excinfo:
        services.submit(requested, acting_user=assessors["a1"].user)
    assert "declared a conflict" in messages(excinfo, "assessors")


# --- review and results ---------------------------------------------------------------------------------

def test_return_and_resubmit(city, requested, assessors):
    recorded(city, assessors, requested)
    services.submit(requested, acting_user=assessors["a1"].user)
    with pytest.raises(ValidationError) as excinfo:
        services.review(requested, acting_user=city.user("county_a"), decision="return")
    assert "reason" in excinfo.value.message_dict
    with pytest.raises(PermissionDenied):
        services.review(requested, acting_user=city.user("village_a"), decision="approve")
    returned = services.review(requested, acting_user=city.user("county_a"), decision="return", reason="B.3 需复查")
    assert (returned.status, returned.return_reason, returned.grade) == ("returned", "B.3 需复查", None)
    with pytest.raises(rules.TransitionError):
        services.sign(requested, acting_user=assessors["a1"].user, signed_as="assessor")
    reopened = services.save_draft(requested, acting_user=assessors["a1"].user, items={"B.3.1": 2})
    assert reopened.status == Status.IN_PROGRESS and not reopened.signatures.exists()


def test_approval_sets_validity_and_current_result_follows_it(city, elder, requested, assessors):
    day = dt.date(2026, 3, 10)
    requested = approved(city, assessors, requested, on=day, items=full_items(**{"B.1.1": 0, "B.1.2": 0}))
    assert (requested.status, requested.total, requested.grade) == ("approved", 82, 1)
    assert (requested.valid_from, requested.valid_until) == (day, dt.date(2027, 3, 9))
    assert requested.review_request_until == dt.date(2026, 3, 25)
    assert services.current_result(elder, on=day - D(days=1)) is None
    result = services.current_result(elder, on=dt.date(2027, 3, 9))
    assert result == services.AssessmentResult(assessment_id=requested.pk, instrument="GB/T 42195-2022", grade=1,
                                               grade_name="轻度失能", total=82, valid_from=day,
                                               valid_until=dt.date(2027, 3, 9))
    assert services.current_result(elder, on=dt.date(2027, 3, 10)) is None


def test_reviewer_cannot_act_on_an_unsubmitted_assessment(city, requested, assessors):
    recorded(city, assessors, requested)
    with pytest.raises(rules.TransitionError):
        services.review(requested, acting_user=city.user("county_a"), decision="approve")


# --- 复核 ---------------------------------------------------------------------------------------------

def test_review_window_boundary_and_different_assessors(city, elder, requested, assessors):
    day = dt.date(2026, 3, 10)
    approved(city, assessors, requested, on=day)
    family = city.user("elder")
    with pytest.raises(ValidationError) as excinfo:
        services.request_review(requested, acting_user=family, today=day + D(days=16))
    assert "2026-03-25" in messages(excinfo, "status")
    again = services.request_review(requested, acting_user=family, today=day + D(days=15), note="不服")
    assert (again.reason, again.review_of_id, again.requester_kind) == (Reason.REVIEW, requested.pk, "elder")
    with pytest.raises(ValidationError):
        services.request_review(requested, acting_user=family, today=day + D(days=1))
    message = assign_refused(city, again, assessors["a1"], assessors["a3"])
    assert "t-assessor-a1 assessed the result under re-assessment" in message
    assert services.eligible_assessors(again, user=city.user("county_a"), on=day + D(days=15)) == [
        assessors["a3"], assessors["a4"]]
    assigned(city, again, assessors["a3"], assessors["a4"])
    services.save_draft(again, acting_user=assessors["a3"].user, items=full_items(**{"B.1.1": 0}))
    for key in ("a3", "a4"):
        services.sign(again, acting_user=assessors[key].user, signed_as="assessor")
    services.sign(again, acting_user=assessors["a3"].user, signed_as="elder")
    services.submit(again, acting_user=assessors["a3"].user, today=day + D(days=20))
    again = services.review(again, acting_user=city.user("county_a"), decision="approve", today=day + D(days=20))
    assert again.review_request_until is None  # a 复核's result is final
    with pytest.raises(ValidationError):
        services.request_review(again, acting_user=family, today=day + D(days=21))
    assert services.current_result(elder, on=day + D(days=19)).assessment_id == requested.pk
    assert services.current_result(elder, on=day + D(days=20)).assessment_id == again.pk
    assert [(e.assessment_id, e.reason, e.grade_change) for e in services.history(elder)] == [
        (requested.pk, "first", None), (again.pk, "review", 1)]


# --- reminders and events ---------------------------------------------------------------------------

def test_due_reassessments(city, elder, requested, assessors):
    day = dt.date(2026, 1, 5)
    approved(city, assessors, requested, on=day)  # valid until 2027-01-04
    expiry = dt.date(2027, 1, 4)
    assert services.due_reassessments(expiry - D(days=31)) == []
    due = services.due_reassessments(expiry - D(days=30))
    assert [(d.elder_id, d.days_left) for d in due] == [(elder.pk, 30)]
    assert services.due_reassessments(expiry - D(days=60), within_days=60)[0].assessment_id == requested.pk
    assert services.due_reassessments(expiry + D(days=3))[0].days_left == -3  # overdue stays listed
    services.set_policy("510703", acting_user=city.user("county_a"), effective_from=day, reminder_days_before_expiry=45)
    assert len(services.due_reassessments(expiry - D(days=45))) == 1
    assert services.due_reassessments(expiry - D(days=30), user=city.user("county_b")) == []
    services.request_assessment(elder, acting_user=city.user("county_a"), reason="periodic")
    assert services.due_reassessments(expiry - D(days=30)) == []  # already being re-assessed


def test_event_requests_are_idempotent(city, elder, assessors):
    first = services.request_event_reassessment(elder, "hospital_discharge", acting_user=None)
    assert (first.reason, first.requester_kind, first.requested_by) == ("hospital_discharge", "system", None)
    again = services.request_event_reassessment(elder, "fall_alarm", acting_user=city.user("county_a"))
    assert again.pk == first.pk
    assert Assessment.objects.filter(elder=elder).count() == 1
    with pytest.raises(ValidationError):
        services.request_event_reassessment(elder, "birthday", acting_user=None)
    services.cancel_assessment(first, acting_user=city.user("county_a"), reason="已出院复查")
    assert services.request_event_reassessment(elder, "fall_alarm", acting_user=None).pk != first.pk


def test_dead_elders_are_not_assessed(city, elder, assessors):
    from yiyang.people.services import record_death

    record_death(elder, acting_user=city.user("county_a"), death_date=TODAY)
    with pytest.raises(ValidationError):
        services.request_event_reassessment(elder, "fall_alarm", acting_user=None)


def test_cancel_by_the_requester_only_before_assignment(city, elder, assessors):
    own = services.request_assessment(elder, acting_user=city.user("elder"))
    assert services.cancel_assessment(own, acting_user=city.user("elder"), reason="不需要了").status == "cancelled"
    other = services.request_assessment(elder, acting_user=city.user("elder"))
    assigned(city, other, assessors["a1"], assessors["a2"])
    with pytest.raises(PermissionDenied):
        services.cancel_assessment(other, acting_user=city.user("elder"), reason="x")


# --- historic records ---------------------------------------------------------------------------------

def test_mzt039_historic_record(city, elder, assessors):
    old = services.record_historic(
        elder, acting_user=city.user("county_a"), instrument=MZ_T_039_2013.code,
        items={"adl": 2, "mental": 1, "perception": 0, "social": 1}, assessed_on=dt.date(2021, 6, 1),
        note="纸质档案 2021-118")
    assert (old.status, old.reason, old.instrument, old.total, old.grade) == (
        "approved", "historic", "MZ/T 039-2013", None, 2)
    assert old.valid_until == dt.date(2022, 5, 31) and old.review_request_until is None
    assert old.dimension_scores == {"adl": 2, "mental": 1, "perception": 0, "social": 1}
    assert services.current_result(elder, on=dt.date(2022, 5, 31)).grade_name == "中度失能"
    assert services.current_result(elder, on=dt.date(2022, 6, 1)) is None
    with pytest.raises(ValidationError):
        services.request_review(old, acting_user=city.user("elder"), today=dt.date(2021, 6, 2))
    with pytest.raises(rules.ScoringError) as excinfo:
        services.record_historic(elder, acting_user=city.user("county_a"), instrument=MZ_T_039_2013.code,
                                 items={"adl": 5, "mental": 1, "perception": 0}, assessed_on=dt.date(2020, 1, 1))
    assert set(excinfo.value.errors) == {"adl", "social"}
    with pytest.raises(PermissionDenied):
        services.record_historic(elder, acting_user=assessors["a1"].user, instrument=MZ_T_039_2013.code,
                                 items={"adl": 0, "mental": 0, "perception": 0, "social": 0},
                                 assessed_on=dt.date(2020, 1, 1))


# --- audit --------------------------------------------------------------------------------------------

def test_every_write_is_audited_without_answers(city, elder, assessors):
    a1, a2 = assessors["a1"], assessors["a2"]
    county = city.user("county_a")

    def audited(call, action=AuditAction.UPDATE, actor=None, area=elder.area_id):
        before = AuditEntry.objects.count()
        result = call()
        new = list(AuditEntry.objects.order_by("-id")[: AuditEntry.objects.count() - before])
        assert len(new) == 1, new
        assert new[0].action == action and new[0].area_code == area
        if actor is not None:
            assert new[0].actor == actor
        return result

    assessment = audited(lambda: services.request_assessment(elder, acting_user=city.user("elder")), AuditAction.CREATE)
    audited(lambda: services.assign_assessors(assessment, assessors=[a1, a2], acting_user=county), actor=county)
    audited(lambda: services.save_draft(assessment, acting_user=a1.user, items=full_items(**{"B.1.1": 1}),
                                        dementia=True))
    audited(lambda: services.reveal_form(assessment, acting_user=county), AuditAction.REVEAL, actor=county)
    for user, signed_as in ((a1.user, "assessor"), (a2.user, "assessor"), (a1.user, "elder")):
        audited(lambda user=user, signed_as=signed_as: services.sign(assessment, acting_user=user,
                                                                    signed_as=signed_as), AuditAction.CREATE)
    audited(lambda: services.submit(assessment, acting_user=a1.user))
    audited(lambda: services.review(assessment, acting_user=county, decision="approve"))
    review = audited(lambda: services.request_review(assessment, acting_user=city.user("elder")), AuditAction.CREATE)
    audited(lambda: services.cancel_assessment(review, acting_user=county, reason="撤回"))
    audited(lambda: services.request_event_reassessment(elder, "fall_alarm", acting_user=None), AuditAction.CREATE)
    audited(lambda: services.declare_conflict(elder, acting_user=assessors["a3"].user, reason="同事亲属"),
            AuditAction.CREATE)
    audited(lambda: services.record_historic(elder, acting_user=county, instrument=MZ_T_039_2013.code,
                                             items={"adl": 0, "mental": 0, "perception": 0, "social": 0},
                                             assessed_on=dt.date(2020, 1, 1)), AuditAction.CREATE)
    audited(lambda: make_assessor(county, "t-new", "510703", a1.organization), AuditAction.CREATE, area="510703")
    audited(lambda: services.set_policy("510703", acting_user=county, effective_from=TODAY), AuditAction.CREATE,
            area="510703")
    logged = json.dumps([[e.before, e.after, e.note] for e in AuditEntry.objects.filter(
        object_type__startswith="assessments.")], ensure_ascii=False)
    assert "B.1.1" not in logged and "dementia" not in logged
