"""GB 11643-1999 resident ID numbers and the registry's pure rules (dates, phones, ages)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation
from hypothesis import example, given, settings
from hypothesis import strategies as st

from yiyang.people import idnumber, rules
from yiyang.people.idnumber import InvalidIdNumber, age_on, check_char, parse

TODAY = dt.date(2026, 5, 20)
CHECK_MESSAGE = "The check character of the ID number is wrong"
FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")


@pytest.fixture(autouse=True)
def english():
    """Compare messages with their English source text whatever catalogues are installed."""
    with translation.override("en"):
        yield


def number(address: str, born: dt.date, seq: str) -> str:
    first17 = f"{address}{born:%Y%m%d}{seq}"
    return first17 + check_char(first17)


def reference_check_char(first17: str) -> str:
    """The check character computed straight from the standard's definition (ISO 7064 MOD 11-2)."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    return "10X98765432"[total % 11]


def reference_age(birth: dt.date, day: dt.date) -> int:
    """Completed years counted by anniversaries; a 29 February birthday falls on 1 March in common years."""
    years = day.year - birth.year
    try:
        anniversary = birth.replace(year=day.year)
    except ValueError:
        anniversary = dt.date(day.year, 3, 1)
    return years - (1 if day < anniversary else 0)


addresses = st.text("0123456789", min_size=6, max_size=6)
sequences = st.text("0123456789", min_size=3, max_size=3)
real_births = st.dates(min_value=dt.date(1890, 1, 1), max_value=TODAY)


# --- valid numbers -------------------------------------------------------------------------------

KNOWN = "11010519491231002X"  # the standard's own example: born 1949-12-31, female


def test_known_example_parses():
    parsed = parse(KNOWN, today=TODAY)
    assert parsed.number == KNOWN
    assert parsed.birth_date == dt.date(1949, 12, 31)
    assert parsed.sex == "F"
    assert parsed.converted_from_15 is False
    assert parsed.last4 == "002X"


def test_weights_match_the_standard():
    assert idnumber.WEIGHTS == tuple(2 ** (17 - i) % 11 for i in range(17))
    assert check_char("11010519491231002") == "X"


def test_lower_case_x_is_accepted_and_upper_cased():
    assert parse(KNOWN.lower(), today=TODAY).number == KNOWN


def test_full_width_digits_and_spaces_are_normalised():
    typed = " " + KNOWN[:6].translate(FULL_WIDTH) + " " + KNOWN[6:14].translate(FULL_WIDTH) + " " + KNOWN[14:].translate(FULL_WIDTH).lower()
    parsed = parse(typed, today=TODAY)
    assert parsed.number == KNOWN
    assert parsed.number.isascii()


def test_full_width_ideographic_space_is_removed():
    assert parse(KNOWN[:6] + "\u3000" + KNOWN[6:], today=TODAY).number == KNOWN


@pytest.mark.parametrize("address", ["510724", "999999", "000000", "510703"])
def test_address_code_is_not_validated(address):
    # 510724 (old 安县) remains on real cards; even an unknown code is not a reason to reject.
    value = number(address, dt.date(1950, 6, 1), "013")
    assert parse(value, today=TODAY).number == value


# --- check character -----------------------------------------------------------------------------

@settings(max_examples=200)
@given(address=addresses, born=real_births, seq=sequences)
def test_exactly_one_check_character_is_accepted(address, born, seq):
    first17 = f"{address}{born:%Y%m%d}{seq}"
    assert check_char(first17) == reference_check_char(first17)
    accepted = []
    for candidate in "0123456789X":
        try:
            parse(first17 + candidate, today=TODAY)
        except InvalidIdNumber as exc:
            assert str(exc).startswith(CHECK_MESSAGE), str(exc)
        else:
            accepted.append(candidate)
    assert accepted == [reference_check_char(first17)]


@settings(max_examples=100)
@given(address=addresses, born=real_births, seq=sequences, position=st.integers(0, 16), delta=st.integers(1, 9))
def test_any_single_digit_typo_is_caught(address, born, seq, position, delta):
    valid = number(address, born, seq)
    digit = (int(valid[position]) + delta) % 10
    typo = valid[:position] + str(digit) + valid[position + 1:]
    try:
        parse(typo, today=TODAY)
    except InvalidIdNumber:
        pass
    else:  # pragma: no cover - the assertion reports the counterexample
        pytest.fail(f"typo {typo} of {valid} accepted")


# --- birth dates ---------------------------------------------------------------------------------

@pytest.mark.parametrize("date_part", ["19450230", "19451301", "19450001", "19450100", "19000229", "19450431", "00000101"])
def test_impossible_dates_are_rejected(date_part):
    first17 = f"510703{date_part}013"
    with pytest.raises(InvalidIdNumber, match="does not exist"):
        parse(first17 + check_char(first17), today=TODAY)


def test_29_february_in_a_leap_year_is_a_real_date():
    parsed = parse(number("510703", dt.date(1948, 2, 29), "013"), today=TODAY)
    assert parsed.birth_date == dt.date(1948, 2, 29)


def test_future_birth_date_is_rejected():
    with pytest.raises(InvalidIdNumber, match="in the future"):
        parse(number("510703", TODAY + dt.timedelta(days=1), "013"), today=TODAY)


def test_born_today_is_not_in_the_future():
    assert parse(number("510703", TODAY, "013"), today=TODAY).birth_date == TODAY


def test_today_defaults_to_the_real_date():
    with pytest.raises(InvalidIdNumber, match="in the future"):
        parse(number("510703", dt.date.today() + dt.timedelta(days=2), "013"))


def test_before_1890_is_rejected_and_1890_accepted():
    with pytest.raises(InvalidIdNumber, match="impossibly early"):
        parse(number("510703", dt.date(1889, 12, 31), "013"), today=TODAY)
    assert parse(number("510703", dt.date(1890, 1, 1), "013"), today=TODAY).birth_date == dt.date(1890, 1, 1)


# --- shape ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [KNOWN[:17], KNOWN[:16], KNOWN + "1", KNOWN[:10], "1", KNOWN[:14]])
def test_wrong_length_is_rejected_with_the_count(text):
    with pytest.raises(InvalidIdNumber, match=f"this one has {len(text)}"):
        parse(text, today=TODAY)


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_is_rejected(text):
    with pytest.raises(InvalidIdNumber, match="empty"):
        parse(text, today=TODAY)


@pytest.mark.parametrize("text", [
    "1101051949123100AX",  # letter in the sequence
    "110105194912310X2X",  # X in the middle
    "A1010519491231002X",
    "11010519491231002Y",  # only X may end a number
    "110105-1949123102X",
])
def test_letters_inside_are_rejected(text):
    assert len(text) == 18
    with pytest.raises(InvalidIdNumber, match="17 digits followed by a digit or X"):
        parse(text, today=TODAY)


def test_non_ascii_decimal_digits_are_rejected():
    # Arabic-Indic digits pass str.isdigit() and int(); accepting them would store a
    # number whose blind index differs from the same person's ASCII number.
    arabic = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    with pytest.raises(InvalidIdNumber, match="17 digits followed by a digit or X"):
        parse(KNOWN[:17].translate(arabic) + "X", today=TODAY)
    with pytest.raises(InvalidIdNumber, match="15-digit ID number contains digits only"):
        parse("110105491231002".translate(arabic), today=TODAY)


# --- legacy 15-digit numbers ---------------------------------------------------------------------

def test_15_digit_number_is_converted():
    parsed = parse("110105491231002", today=TODAY)
    assert parsed.number == KNOWN
    assert parsed.converted_from_15 is True
    assert parsed.birth_date == dt.date(1949, 12, 31)
    assert parsed.sex == "F"


@pytest.mark.parametrize("text", ["11010549123100X", "1101054912310O2"])
def test_15_digit_number_with_letters_is_rejected(text):
    with pytest.raises(InvalidIdNumber, match="15-digit ID number contains digits only"):
        parse(text, today=TODAY)


def test_15_digit_number_with_impossible_date_is_rejected():
    with pytest.raises(InvalidIdNumber, match="does not exist"):
        parse("110105490230002", today=TODAY)


@settings(max_examples=200)
@given(address=addresses, born=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(1999, 12, 31)), seq=sequences)
def test_15_digit_round_trip(address, born, seq):
    legacy = f"{address}{born:%y%m%d}{seq}"
    parsed = parse(legacy, today=TODAY)
    first17 = f"{address}19{born:%y%m%d}{seq}"
    assert parsed.number == first17 + reference_check_char(first17)
    assert parsed.converted_from_15 is True
    assert parsed.birth_date == born
    again = parse(parsed.number, today=TODAY)
    assert (again.number, again.birth_date, again.sex, again.converted_from_15) == (
        parsed.number, born, parsed.sex, False)
    # The legacy number is the new one without the century and the check character.
    assert parsed.number[:6] + parsed.number[8:17] == legacy


# --- sex -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("digit, sex", [(str(d), "M" if d % 2 else "F") for d in range(10)])
def test_sex_comes_from_the_17th_digit(digit, sex):
    assert parse(number("510703", dt.date(1950, 1, 1), "01" + digit), today=TODAY).sex == sex
    assert parse(f"510703500101{'01' + digit}", today=TODAY).sex == sex


@given(address=addresses, born=real_births, seq=sequences)
def test_sex_and_birth_date_property(address, born, seq):
    parsed = parse(number(address, born, seq), today=TODAY)
    assert parsed.birth_date == born
    assert parsed.sex == ("M" if int(seq[2]) % 2 else "F")


# --- age -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("birth, day, age", [
    (dt.date(1946, 5, 20), dt.date(2026, 5, 19), 79),
    (dt.date(1946, 5, 20), dt.date(2026, 5, 20), 80),  # the birthday itself counts
    (dt.date(1946, 5, 20), dt.date(2026, 5, 21), 80),
    (dt.date(1946, 12, 31), dt.date(2027, 1, 1), 80),
    (dt.date(1948, 2, 29), dt.date(2028, 2, 28), 79),
    (dt.date(1948, 2, 29), dt.date(2028, 2, 29), 80),
    (dt.date(1948, 2, 29), dt.date(2027, 2, 28), 78),
    (dt.date(1948, 2, 29), dt.date(2027, 3, 1), 79),  # common year: 1 March
    (dt.date(1948, 3, 1), dt.date(2028, 2, 29), 79),
    (dt.date(2000, 1, 1), dt.date(2000, 1, 1), 0),
])
def test_age_on_boundaries(birth, day, age):
    assert age_on(birth, day) == age


@settings(max_examples=500)
@given(birth=st.dates(min_value=dt.date(1890, 1, 1), max_value=dt.date(2030, 12, 31)),
       offset=st.integers(min_value=0, max_value=130 * 366))
@example(birth=dt.date(1948, 2, 29), offset=(dt.date(2027, 2, 28) - dt.date(1948, 2, 29)).days)
@example(birth=dt.date(1948, 2, 29), offset=(dt.date(2027, 3, 1) - dt.date(1948, 2, 29)).days)
def test_age_on_matches_reference(birth, offset):
    day = birth + dt.timedelta(days=offset)
    assert age_on(birth, day) == reference_age(birth, day)


# --- dates typed by clerks -----------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "1945-03-12", "1945-3-12", "1945/3/12", "1945/03/12", "1945.3.12", "1945年3月12日", "1945年03月12日",
    "1945年3月12", "19450312", " 1945-03-12 ", "１９４５－０３－１２", "１９４５年３月１２日", "１９４５０３１２",
    "1945 - 03 - 12", dt.date(1945, 3, 12), dt.datetime(1945, 3, 12, 8, 30),
])
def test_parse_date_accepts(text):
    assert rules.parse_date(text, today=TODAY) == dt.date(1945, 3, 12)


@pytest.mark.parametrize("text", [None, "", "   "])
def test_parse_date_empty_is_none(text):
    assert rules.parse_date(text) is None


@pytest.mark.parametrize("text", ["1945年3月", "1945-03", "1945/3", "1945.3", "１９４５年３月"])
def test_parse_date_refuses_dates_without_a_day(text):
    with pytest.raises(ValueError, match="has no day"):
        rules.parse_date(text, today=TODAY)


@pytest.mark.parametrize("text", ["1945-02-30", "1945-13-01", "1945年2月29日", "19450230", "1945-00-10"])
def test_parse_date_refuses_impossible_dates(text):
    with pytest.raises(ValueError, match="is not a real date"):
        rules.parse_date(text, today=TODAY)


@pytest.mark.parametrize("text", ["12/03/1945", "1945", "三月十二日", "1945-03-12x", "45-3-12", "194503121"])
def test_parse_date_refuses_other_forms(text):
    with pytest.raises(ValueError, match="is not a date"):
        rules.parse_date(text, today=TODAY)


def test_parse_date_refuses_the_future_only_when_today_is_given():
    tomorrow = TODAY + dt.timedelta(days=1)
    with pytest.raises(ValueError, match="in the future"):
        rules.parse_date(tomorrow.isoformat(), today=TODAY)
    with pytest.raises(ValueError, match="in the future"):
        rules.parse_date(tomorrow, today=TODAY)
    assert rules.parse_date(TODAY.isoformat(), today=TODAY) == TODAY
    assert rules.parse_date(tomorrow.isoformat()) == tomorrow


# --- phone numbers -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("13800001234", "13800001234"),
    ("138 0000 1234", "13800001234"),
    ("138-0000-1234", "13800001234"),
    ("+8613800001234", "13800001234"),
    ("+86 138 0000 1234", "13800001234"),
    ("１３８００００１２３４", "13800001234"),
    ("19912345678", "19912345678"),
    ("0816-2345678", "0816-2345678"),
    ("08162345678", "08162345678"),
    ("010-12345678", "010-12345678"),
    ("0816－2345678", "0816-2345678"),
    ("", ""),
    (None, ""),
    ("  ", ""),
])
def test_normalize_phone_accepts(text, expected):
    assert rules.normalize_phone(text) == expected


@pytest.mark.parametrize("text", [
    "12800001234",  # no mobile network starts 12
    "1380000123",  # 10 digits
    "138000012345",  # 12 digits
    "2345678",  # landline without area code
    "816-2345678",
    "1380000123a",
    "phone",
    "13٨00001234",  # non-ASCII digits would give a different blind index
])
def test_normalize_phone_refuses(text):
    with pytest.raises(ValueError, match="is not a mobile"):
        rules.normalize_phone(text)


# --- registration age ----------------------------------------------------------------------------

def test_registration_age_boundary():
    sixtieth = TODAY.replace(year=TODAY.year - 60)
    rules.check_registration_age(sixtieth, TODAY)  # 60 today: accepted
    rules.check_registration_age(sixtieth - dt.timedelta(days=1), TODAY)
    with pytest.raises(ValueError, match="aged 60 and over; this person is 59"):
        rules.check_registration_age(sixtieth + dt.timedelta(days=1), TODAY)


def test_registration_age_for_a_29_february_birthday():
    birth = dt.date(1968, 2, 29)
    with pytest.raises(ValueError, match="this person is 59"):
        rules.check_registration_age(birth, dt.date(2028, 2, 28))
    rules.check_registration_age(birth, dt.date(2028, 2, 29))
    with pytest.raises(ValueError, match="this person is 59"):
        rules.check_registration_age(dt.date(1967, 3, 1), dt.date(2027, 2, 28))
    rules.check_registration_age(dt.date(1967, 3, 1), dt.date(2027, 3, 1))
