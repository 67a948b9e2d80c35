"""error_for_answer: every HTTP error status becomes a typed exception whose message says what to do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exotel_provider.client.error_mapping import (
    MAX_RETRY_AFTER_SECONDS,
    error_for_answer,
    retry_after_seconds,
)
from exotel_provider.errors import (
    ExotelAPIError,
    ExotelAuthenticationError,
    ExotelBadRequestError,
    ExotelConflictError,
    ExotelError,
    ExotelForbiddenError,
    ExotelNotFoundError,
    ExotelPaymentRequiredError,
    ExotelRateLimitError,
    ExotelServerError,
)

HOST = "api.exotel.com"
TOKEN = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"


def json_body(status: int, message: str) -> str:
    return f'{{"RestException": {{"Status": {status}, "Message": "{message}"}}}}'


def xml_body(status: int, message: str) -> str:
    return (
        f"<TwilioResponse><RestException><Status>{status}</Status><Message>{message}</Message>"
        "</RestException></TwilioResponse>"
    )


def error(status_code: int, body: bytes | str = "", headers=None, **kwargs) -> ExotelAPIError:
    return error_for_answer(
        status_code=status_code,
        body=body,
        headers=headers or {},
        host=kwargs.pop("host", HOST),
        action=kwargs.pop("action", "placing a call"),
        **kwargs,
    )


@pytest.mark.parametrize(
    ("status_code", "error_class"),
    [
        (400, ExotelBadRequestError),
        (401, ExotelAuthenticationError),
        (402, ExotelPaymentRequiredError),
        (403, ExotelForbiddenError),
        (404, ExotelNotFoundError),
        (409, ExotelConflictError),
        (429, ExotelRateLimitError),
        (500, ExotelServerError),
        (502, ExotelServerError),
        (503, ExotelServerError),
    ],
)
def test_each_status_maps_to_its_class(status_code, error_class):
    mapped = error(status_code, json_body(status_code, "nope"))
    assert type(mapped) is error_class
    assert isinstance(mapped, ExotelAPIError) and isinstance(mapped, ExotelError)
    assert mapped.status_code == status_code


def test_unlisted_client_error_is_a_generic_api_error():
    mapped = error(418, "teapot")
    assert type(mapped) is ExotelAPIError
    assert mapped.status_code == 418


def test_message_names_status_host_and_action():
    message = str(error(404, json_body(404, "Call not found"), action="reading call CA1"))
    assert "HTTP 404" in message
    assert HOST in message
    assert "reading call CA1" in message


def test_exotels_message_from_json_body():
    mapped = error(400, json_body(400, "Invalid From number"))
    assert mapped.exotel_message == "Invalid From number"
    assert "Invalid From number" in str(mapped)


def test_exotels_message_from_xml_body():
    mapped = error(403, xml_body(403, "Call blocked due to TRAI NDNC regulations"))
    assert mapped.exotel_message == "Call blocked due to TRAI NDNC regulations"
    assert "Call blocked due to TRAI NDNC regulations" in str(mapped)


def test_json_and_xml_error_bodies_give_the_same_message():
    assert str(error(403, json_body(403, "Forbidden"))) == str(error(403, xml_body(403, "Forbidden")))


def test_unparseable_body_is_quoted_as_an_excerpt():
    mapped = error(502, "<html><body>502 Bad Gateway</body></html>")
    assert mapped.exotel_message is None
    assert "502 Bad Gateway" in str(mapped)


def test_long_body_excerpt_is_truncated():
    mapped = error(500, "x" * 5000)
    assert len(str(mapped)) < 500


def test_empty_body_still_gives_a_useful_message():
    message = str(error(503, b""))
    assert message.startswith(f"HTTP 503 from {HOST} while placing a call. ")
    assert "try again" in message


def test_401_message_mentions_key_token_and_mumbai_region():
    message = str(error(401, json_body(401, "Authentication required")))
    assert "API key" in message and "API token" in message
    assert "mumbai" in message
    assert "api.in.exotel.com" in message


def test_402_message_mentions_plan_and_balance():
    message = str(error(402, json_body(402, "Payment required")))
    assert "plan" in message and "balance" in message


def test_403_message_mentions_dnd_ndnc():
    message = str(error(403, json_body(403, "Forbidden")))
    assert "DND" in message and "NDNC" in message


def test_404_message_mentions_sid():
    message = str(error(404, json_body(404, "Not found")))
    assert "Sid" in message and "account_sid" in message


def test_429_message_mentions_the_rate_limit():
    message = str(error(429, json_body(429, "Too many requests")))
    assert "200 requests per minute" in message


def test_5xx_message_says_try_again():
    assert "try again" in str(error(500, json_body(500, "Internal error")))


def test_token_scrubbed_if_exotel_message_echoes_it():
    mapped = error(401, json_body(401, f"Bad credentials api-key:{TOKEN}"), secrets=(TOKEN,))
    assert TOKEN not in str(mapped)
    assert TOKEN not in (mapped.exotel_message or "")
    assert "***" in str(mapped)


def test_token_scrubbed_if_raw_body_echoes_it():
    mapped = error(500, f"<html>debug: Authorization token={TOKEN}</html>", secrets=(TOKEN,))
    assert TOKEN not in str(mapped)


def test_empty_secret_is_ignored():
    assert "Bad From" in str(error(400, json_body(400, "Bad From"), secrets=("",)))


def test_token_never_in_error_message_even_partly_when_excerpt_cuts_it():
    body = "x" * 190 + TOKEN
    message = str(error(500, body, secrets=(TOKEN,)))
    assert TOKEN[:10] not in message


# --- Retry-After -----------------------------------------------------------------------------------


def test_429_carries_retry_after_seconds():
    mapped = error(429, json_body(429, "slow down"), headers={"Retry-After": "17"})
    assert isinstance(mapped, ExotelRateLimitError)
    assert mapped.retry_after == 17.0


def test_429_without_retry_after_has_none():
    mapped = error(429, "")
    assert isinstance(mapped, ExotelRateLimitError)
    assert mapped.retry_after is None


def test_retry_after_header_is_case_insensitive():
    assert retry_after_seconds({"retry-after": "5"}) == 5.0
    assert retry_after_seconds({"RETRY-AFTER": " 5 "}) == 5.0


def test_retry_after_absent_is_none():
    assert retry_after_seconds({}) is None
    assert retry_after_seconds({"X-RateLimit-Remaining": "0"}) is None


def test_retry_after_http_date_in_the_future():
    when = datetime.now(UTC) + timedelta(seconds=120)
    seconds = retry_after_seconds({"Retry-After": format_datetime(when, usegmt=True)})
    assert seconds is not None
    assert 110 <= seconds <= 120


def test_retry_after_http_date_in_the_past_is_zero():
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0


def test_retry_after_is_capped():
    assert retry_after_seconds({"Retry-After": "86400"}) == MAX_RETRY_AFTER_SECONDS
    far = format_datetime(datetime.now(UTC) + timedelta(days=2), usegmt=True)
    assert retry_after_seconds({"Retry-After": far}) == MAX_RETRY_AFTER_SECONDS


def test_negative_retry_after_is_zero():
    assert retry_after_seconds({"Retry-After": "-30"}) == 0.0


@pytest.mark.parametrize("value", ["soon", "", "nan", "Thursday"])
def test_unreadable_retry_after_is_none(value):
    assert retry_after_seconds({"Retry-After": value}) is None


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=40))
def test_retry_after_is_none_or_within_bounds(value):
    seconds = retry_after_seconds({"Retry-After": value})
    assert seconds is None or 0.0 <= seconds <= MAX_RETRY_AFTER_SECONDS


@settings(max_examples=200, deadline=None, database=None)
@given(
    status_code=st.integers(min_value=400, max_value=599),
    body=st.one_of(st.binary(max_size=200), st.text(max_size=200)),
)
def test_any_error_answer_maps_to_an_api_error_with_its_status(status_code, body):
    mapped = error(status_code, body, secrets=(TOKEN,))
    assert isinstance(mapped, ExotelAPIError)
    assert mapped.status_code == status_code
    assert f"HTTP {status_code} from {HOST}" in str(mapped)
