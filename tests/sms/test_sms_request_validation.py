"""SMS requests are validated before anything is sent: numbers, length, encoding, DLT ids, enums."""

from __future__ import annotations

import pytest

from exotel_provider.errors import ExotelValidationError
from exotel_provider.sms.send_request import MAX_BODY_LENGTH, build_sms_request

INDIAN = "+919876543210"
DLT = {"dlt_entity_id": "1101456780000012345", "dlt_template_id": "1107161234567890123"}


def build(**overrides):
    params = {"to_number": INDIAN, "from_number": "EXOTEL", "body": "Your payment is due.", **DLT}
    params.update(overrides)
    return build_sms_request(**params)


def test_a_valid_request_is_sent_with_exotels_parameter_names():
    request = build(sms_type="transactional", priority="normal", custom_field="inv-7")
    assert request.form() == [
        ("From", "EXOTEL"),
        ("To", INDIAN),
        ("Body", "Your payment is due."),
        ("Priority", "normal"),
        ("DltEntityId", DLT["dlt_entity_id"]),
        ("DltTemplateId", DLT["dlt_template_id"]),
        ("SmsType", "transactional"),
        ("CustomField", "inv-7"),
    ]


def test_national_numbers_are_sent_in_e164_and_an_exophone_as_exotel_shows_it():
    request = build(to_number="09876543210", from_number="+918047112345")
    assert request.to_number == INDIAN
    assert request.from_number == "08047112345"


@pytest.mark.parametrize("missing", ["dlt_entity_id", "dlt_template_id"])
def test_an_indian_number_needs_both_dlt_ids(missing):
    with pytest.raises(ExotelValidationError, match="DLT") as err:
        build(**{missing: None})
    assert err.value.field == {"dlt_entity_id": "DltEntityId", "dlt_template_id": "DltTemplateId"}[missing]


def test_a_malformed_dlt_template_id_is_refused():
    with pytest.raises(ExotelValidationError, match="not a DLT id") as err:
        build(dlt_template_id="TEMPLATE-7")
    assert err.value.field == "DltTemplateId"


def test_a_number_outside_india_needs_no_dlt_ids():
    request = build(to_number="+6591234567", dlt_entity_id=None, dlt_template_id=None)
    assert ("DltEntityId", "1101456780000012345") not in request.form()


def test_a_body_over_exotels_limit_is_refused():
    with pytest.raises(ExotelValidationError, match=str(MAX_BODY_LENGTH)):
        build(body="x" * (MAX_BODY_LENGTH + 1))


def test_an_empty_body_is_refused():
    with pytest.raises(ExotelValidationError) as err:
        build(body="  ")
    assert err.value.field == "Body"


def test_hindi_text_needs_unicode_encoding():
    with pytest.raises(ExotelValidationError, match="unicode") as err:
        build(body="आपका भुगतान बाकी है")
    assert err.value.field == "EncodingType"
    assert build(body="आपका भुगतान बाकी है", encoding_type="unicode").encoding_type == "unicode"


def test_plain_text_with_gsm_extension_characters_is_accepted():
    assert build(body="Pay €120 [ref: 7] by 5 PM").encoding_type is None


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("sms_type", "promo", "SmsType"),
        ("priority", "urgent", "Priority"),
        ("encoding_type", "utf8", "EncodingType"),
    ],
)
def test_values_outside_the_documented_ones_are_refused(name, value, field):
    with pytest.raises(ExotelValidationError) as err:
        build(**{name: value})
    assert err.value.field == field


def test_a_missing_sender_names_the_connection_default():
    with pytest.raises(ExotelValidationError, match="caller_id"):
        build(from_number=None)


def test_the_description_for_logs_masks_the_number_and_omits_the_text():
    text = build().describe()
    assert "9876543210" not in text and "payment" not in text
    assert "+91XXXXXX3210" in text
