"""Phone numbers: what users type becomes E.164 or a validation error; logs only see masked numbers."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exotel_provider.calls.numbers import mask_number, national_form, normalise_number
from exotel_provider.errors import ExotelValidationError


@pytest.mark.parametrize(
    "typed",
    ["+919876543210", "09876543210", "9876543210", "+91 98765 43210", "+91-98765-43210", " 098765.43210 "],
)
def test_indian_mobile_forms_normalise_to_e164(typed):
    assert normalise_number(typed) == "+919876543210"


@pytest.mark.parametrize("typed", ["08041234567", "080 4123 4567", "(080) 41234567", "+918041234567"])
def test_landline_with_std_code_normalises_to_e164(typed):
    assert normalise_number(typed) == "+918041234567"


def test_foreign_e164_number_is_kept():
    assert normalise_number("+14155552671") == "+14155552671"


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(None, id="none"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param(9876543210, id="int-not-text"),
        pytest.param("98765", id="too-short"),
        pytest.param("+9198765432101234", id="too-long"),
        pytest.param("0XXXXX30240", id="seed-placeholder"),
        pytest.param("call me", id="words"),
        pytest.param("+91 98765 43210; DROP", id="junk-after"),
        pytest.param("1" * 40, id="overlong"),
        pytest.param("+91 5234567890", id="invalid-prefix"),
        pytest.param("+91 98765 4321", id="one-digit-short"),
        pytest.param("+999 123456789", id="unknown-country"),
    ],
)
def test_invalid_numbers_are_validation_errors(bad):
    with pytest.raises(ExotelValidationError) as raised:
        normalise_number(bad)
    assert raised.value.field == "From"


def test_validation_error_names_the_given_field():
    with pytest.raises(ExotelValidationError) as raised:
        normalise_number("12", field="To")
    assert raised.value.field == "To"
    assert str(raised.value).startswith("To: ")


def test_invalid_number_is_masked_in_the_error_message():
    with pytest.raises(ExotelValidationError) as raised:
        normalise_number("+91 5234567890")
    assert "5234567890" not in str(raised.value)
    assert "7890" in str(raised.value)


def test_error_message_says_how_to_fix():
    with pytest.raises(ExotelValidationError) as raised:
        normalise_number("nope")
    assert "+919876543210" in raised.value.fix


@pytest.mark.parametrize(
    ("e164", "national"),
    [("+919876543210", "09876543210"), ("+918041234567", "08041234567")],
)
def test_national_form_is_zero_prefixed_digits(e164, national):
    assert national_form(e164) == national


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+919876543210", "+91XXXXXX3210"),
        ("09876543210", "0XXXXXX3210"),
        ("9876543210", "XXXXXX3210"),
        ("+14155552671", "+1XXXXXX2671"),
        ("+91 98765-43210", "+91XXXXXX3210"),
    ],
)
def test_mask_keeps_country_code_and_last_four_digits(number, masked):
    assert mask_number(number) == masked


@pytest.mark.parametrize("value", [None, ""])
def test_mask_of_nothing_is_empty(value):
    assert mask_number(value) == ""


def test_mask_of_short_number_hides_every_digit():
    assert mask_number("1234") == "XXXX"


def test_mask_of_text_without_digits_hides_it():
    assert mask_number("secret") == "XXXXXX"


# --- properties ------------------------------------------------------------------------------

phone_like = st.from_regex(r"\+?[0-9 ()\-.]{1,20}", fullmatch=True)
indian_mobiles = st.from_regex(r"[6-9][0-9]{9}", fullmatch=True)
_MASKED = re.compile(r"(\+\d{0,3}|0)?X*(\d{0,4})")


@settings(max_examples=200, deadline=None, database=None)
@given(st.one_of(st.text(max_size=40), phone_like))
def test_normalise_gives_e164_or_a_validation_error(text):
    try:
        result = normalise_number(text)
    except ExotelValidationError as err:
        assert err.field == "From"
        return
    assert re.fullmatch(r"\+[1-9][0-9]{1,14}", result), result


@settings(max_examples=200, deadline=None, database=None)
@given(indian_mobiles, st.sampled_from(["{n}", "0{n}", "+91{n}", "+91 {n}"]))
def test_every_indian_mobile_form_normalises_to_the_same_e164(number, template):
    assert normalise_number(template.format(n=number)) == "+91" + number


@settings(max_examples=200, deadline=None, database=None)
@given(st.one_of(st.text(max_size=40), phone_like))
def test_mask_shows_at_most_country_code_and_four_digits(text):
    masked = mask_number(text)
    if not re.sub(r"\D", "", text):
        assert set(masked) <= {"X"}
        return
    match = _MASKED.fullmatch(masked)
    assert match, masked
    assert len(match.group(2)) <= 4


@settings(max_examples=200, deadline=None, database=None)
@given(indian_mobiles, st.sampled_from(["{n}", "0{n}", "+91{n}", "+91 {n}"]))
def test_mask_never_reveals_more_than_the_last_four_national_digits(number, template):
    masked = mask_number(template.format(n=number))
    assert masked.endswith(number[-4:])
    visible_national = re.sub(r"^(\+91|0)", "", masked).replace("X", "")
    assert visible_national == number[-4:]
