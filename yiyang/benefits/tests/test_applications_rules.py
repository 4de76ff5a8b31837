"""Application rules: the whole transition table, reasons, 公示 start month, back-pay months, file types."""

import datetime as dt
import itertools

import pytest
from django.core.exceptions import ValidationError

from yiyang.benefits import applications_rules as r
from yiyang.benefits.applications_rules import Action as A
from yiyang.benefits.applications_rules import Level as L
from yiyang.benefits.applications_rules import Status as S

EXPECTED = {
    (S.SUBMITTED, A.APPROVE, L.VILLAGE): S.VILLAGE_APPROVED,
    (S.SUBMITTED, A.RETURN, L.VILLAGE): S.RETURNED,
    (S.SUBMITTED, A.REJECT, L.VILLAGE): S.REJECTED,
    (S.VILLAGE_APPROVED, A.APPROVE, L.TOWNSHIP): S.TOWNSHIP_APPROVED,
    (S.VILLAGE_APPROVED, A.RETURN, L.TOWNSHIP): S.RETURNED,
    (S.VILLAGE_APPROVED, A.REJECT, L.TOWNSHIP): S.REJECTED,
    (S.TOWNSHIP_APPROVED, A.APPROVE, L.COUNTY): S.APPROVED,
    (S.TOWNSHIP_APPROVED, A.RETURN, L.COUNTY): S.RETURNED,
    (S.TOWNSHIP_APPROVED, A.REJECT, L.COUNTY): S.REJECTED,
    (S.RETURNED, A.RESUBMIT, L.APPLICANT): S.SUBMITTED,
    (S.SUBMITTED, A.WITHDRAW, L.APPLICANT): S.WITHDRAWN,
    (S.VILLAGE_APPROVED, A.WITHDRAW, L.APPLICANT): S.WITHDRAWN,
    (S.TOWNSHIP_APPROVED, A.WITHDRAW, L.APPLICANT): S.WITHDRAWN,
    (S.RETURNED, A.WITHDRAW, L.APPLICANT): S.WITHDRAWN,
}


@pytest.mark.parametrize("key", list(itertools.product(S.values, A.values, L.values)))
def test_transition_table_is_exactly_the_expected_one(key):
    if key in EXPECTED:
        assert r.next_status(*key) == EXPECTED[key]
    else:
        with pytest.raises(ValidationError) as caught:
            r.next_status(*key)
        assert list(caught.value.message_dict) == ["status"]


def test_wrong_level_says_which_level_reviews_the_stage():
    with pytest.raises(ValidationError, match="reviewed at the county level, not the village level"):
        r.next_status(S.TOWNSHIP_APPROVED, A.APPROVE, L.VILLAGE)
    with pytest.raises(ValidationError, match="Cannot approve an application that is approved"):
        r.next_status(S.APPROVED, A.APPROVE, L.COUNTY)


@pytest.mark.parametrize("action", [A.RETURN, A.REJECT])
def test_return_and_reject_need_a_reason(action):
    with pytest.raises(ValidationError) as caught:
        r.check_reason(action, "  ")
    assert "reason" in caught.value.message_dict
    r.check_reason(action, "收入证明不清晰")
    r.check_reason(A.APPROVE, "")


def test_payment_starts_after_the_public_notice_and_not_before_the_month_asked():
    # approved 20 Nov, 7 days' notice → ends 27 Nov → paid from December
    assert r.payment_start_month(dt.date(2026, 9, 1), r.publicity_end(dt.date(2026, 11, 20), 7)) == dt.date(2026, 12, 1)
    # notice crossing a month end → paid from the month after it ends
    assert r.payment_start_month(dt.date(2026, 9, 1), r.publicity_end(dt.date(2026, 11, 28), 7)) == dt.date(2027, 1, 1)
    # asked for a later month → that month
    assert r.payment_start_month(dt.date(2027, 3, 1), dt.date(2026, 11, 27)) == dt.date(2027, 3, 1)
    # year end
    assert r.payment_start_month(dt.date(2026, 1, 1), dt.date(2026, 12, 31)) == dt.date(2027, 1, 1)


def test_back_pay_months_run_from_the_month_asked_to_the_first_paid_month():
    assert r.back_pay_months(dt.date(2026, 9, 1), dt.date(2026, 12, 1), back_pay=True) == [
        dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1)]
    assert r.back_pay_months(dt.date(2026, 9, 1), dt.date(2026, 12, 1), back_pay=False) == []
    assert r.back_pay_months(dt.date(2027, 3, 1), dt.date(2027, 3, 1), back_pay=True) == []


def test_eligibility_refusals_name_the_field():
    from yiyang.benefits.rules import TierSpec

    tiers = [TierSpec("60+", 60, None, 100)]
    base = dict(status="alive", death_date=None, area_code="510703001001", hukou_area_code="510703",
                birth_date=dt.date(1950, 5, 1), programme_area="5107", hukou_required=True,
                start_month=dt.date(2026, 11, 1), tiers=tiers)
    r.check_eligibility(**base)
    for change, field, text in (
        ({"status": "deceased", "death_date": dt.date(2026, 1, 1)}, "elder", "deceased"),
        ({"status": "moved_away"}, "elder", "moved away"),
        ({"area_code": "510100001001"}, "elder", "outside the programme's area"),
        ({"hukou_area_code": "110101"}, "elder", "hukou"),
        ({"birth_date": dt.date(1970, 1, 1)}, "requested_start_month", "no tier"),
        ({"tiers": []}, "requested_start_month", "pays nothing"),
    ):
        with pytest.raises(ValidationError) as caught:
            r.check_eligibility(**{**base, **change})
        assert text in caught.value.message_dict[field][0]


def test_documents_are_typed_by_content_and_size():
    assert r.check_document(size=10, head=b"%PDF-1.7\n", max_bytes=100) == ("pdf", "application/pdf")
    assert r.check_document(size=10, head=b"\xff\xd8\xff\xe0", max_bytes=100)[0] == "jpg"
    assert r.check_document(size=10, head=b"\x89PNG\r\n\x1a\n", max_bytes=100)[0] == "png"
    for size, head, text in ((10, b"MZ\x90\x00", "Only PDF"), (101, b"%PDF-", "at most 100"), (0, b"", "empty")):
        with pytest.raises(ValidationError, match=text):
            r.check_document(size=size, head=head, max_bytes=100)


def test_day_reaching_age_handles_29_february():
    assert r.day_reaching_age(dt.date(1944, 2, 29), 80) == dt.date(2024, 2, 29)
    assert r.day_reaching_age(dt.date(1944, 2, 29), 81) == dt.date(2025, 3, 1)
