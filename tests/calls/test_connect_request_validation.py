"""Calls/connect requests are validated before anything is sent; each error names Exotel's field."""

from __future__ import annotations

import pytest

from exotel_provider.calls import build_connect_request, flow_url
from exotel_provider.errors import ExotelValidationError

ACCOUNT = "exotel-acct"
FLOW = "http://my.exotel.com/exotel-acct/exoml/start_voice/926"


def connect(**overrides):
    params = {
        "account_sid": ACCOUNT,
        "from_number": "+919876543210",
        "caller_id": "08047112345",
        "app_id": 926,
    }
    params.update(overrides)
    return build_connect_request(**params)


def field_of_error(**overrides) -> str:
    with pytest.raises(ExotelValidationError) as raised:
        connect(**overrides)
    return raised.value.field


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["+919876543210", "09876543210", "9876543210"])
def test_from_in_e164_and_national_forms_is_accepted_and_sent_as_e164(typed):
    assert connect(from_number=typed).from_number == "+919876543210"


def test_landline_from_with_std_code_is_accepted():
    assert connect(from_number="08041234567").from_number == "+918041234567"


@pytest.mark.parametrize("bad", ["98765", "0XXXXX30240", "not a number", ""])
def test_invalid_from_number_names_from(bad):
    assert field_of_error(from_number=bad) == "From"


def test_invalid_to_number_names_to():
    assert field_of_error(app_id=None, to_number="12345") == "To"


def test_missing_caller_id_names_caller_id():
    assert field_of_error(caller_id=None) == "CallerId"


def test_blank_caller_id_names_caller_id():
    assert field_of_error(caller_id="   ") == "CallerId"


def test_invalid_caller_id_names_caller_id():
    assert field_of_error(caller_id="12") == "CallerId"


def test_caller_id_is_sent_in_national_form():
    assert connect(caller_id="+918047112345").caller_id == "08047112345"


# --- the flow --------------------------------------------------------------------------------


def test_app_id_builds_the_documented_flow_url():
    assert connect(app_id=926).url == FLOW
    assert connect(app_id="926").url == FLOW


def test_flow_url_is_accepted_as_given():
    assert connect(app_id=None, url=FLOW).url == FLOW


def test_https_flow_url_is_accepted():
    url = f"https://my.exotel.com/{ACCOUNT}/exoml/start_voice/926"
    assert connect(app_id=None, url=url).url == url


def test_both_app_id_and_url_name_url():
    assert field_of_error(app_id=926, url=FLOW) == "Url"


def test_neither_app_id_nor_url_names_url():
    assert field_of_error(app_id=None, url=None) == "Url"


def test_empty_app_id_counts_as_missing():
    assert field_of_error(app_id="", url="") == "Url"


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/exoml/start_voice/926",
        "http://my.exotel.com/Exotel/exoml/start_voice/abc",
        "http://my.exotel.com/Exotel/exoml/start_voice/",
        "ftp://my.exotel.com/Exotel/exoml/start_voice/926",
        "my.exotel.com/Exotel/exoml/start_voice/926",
        "http://my.exotel.com.evil.example/Exotel/exoml/start_voice/926",
    ],
)
def test_bad_flow_url_shape_names_url(url):
    assert field_of_error(app_id=None, url=url) == "Url"


@pytest.mark.parametrize("app_id", ["abc", "92a6", "-1", "9 26", "1.5"])
def test_non_numeric_app_id_names_app_id(app_id):
    assert field_of_error(app_id=app_id) == "app_id"


def test_flow_url_helper_rejects_non_numeric_app_id():
    with pytest.raises(ExotelValidationError) as raised:
        flow_url(ACCOUNT, "landing")
    assert raised.value.field == "app_id"


def test_to_together_with_app_id_names_to():
    assert field_of_error(to_number="+919812345678") == "To"


def test_to_together_with_url_names_to():
    assert field_of_error(app_id=None, url=FLOW, to_number="+919812345678") == "To"


def test_two_number_call_takes_no_flow():
    request = connect(app_id=None, to_number="09812345678")
    assert request.connects_two_numbers
    assert request.to_number == "+919812345678"
    assert request.url is None


# --- TimeLimit / TimeOut -----------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 14401, -5, "abc", "1.5", 1.5, True])
def test_bad_time_limit_names_time_limit(value):
    assert field_of_error(time_limit=value) == "TimeLimit"


def test_time_limit_as_string_is_accepted():
    assert connect(time_limit="60").time_limit == 60


@pytest.mark.parametrize("value", [1, 14400])
def test_time_limit_bounds_are_accepted(value):
    assert connect(time_limit=value).time_limit == value


@pytest.mark.parametrize("value", [0, 61, "x"])
def test_bad_time_out_names_time_out(value):
    assert field_of_error(time_out=value) == "TimeOut"


def test_time_out_of_sixty_seconds_is_accepted():
    assert connect(time_out="60").time_out == 60


# --- other parameters ----------------------------------------------------------------------------


def test_custom_field_of_129_chars_names_custom_field():
    assert field_of_error(custom_field="x" * 129) == "CustomField"


def test_custom_field_of_128_chars_is_accepted():
    assert connect(custom_field="x" * 128).custom_field == "x" * 128


@pytest.mark.parametrize(
    "url",
    ["ftp://hooks.example.com/exotel", "/hooks/exotel", "hooks.example.com/x", "http://", "http://a b.com/"],
)
def test_bad_status_callback_names_status_callback(url):
    assert field_of_error(status_callback=url) == "StatusCallback"


def test_https_status_callback_is_accepted():
    assert (
        connect(status_callback="https://hooks.example.com/x?s=1").status_callback
        == "https://hooks.example.com/x?s=1"
    )


@pytest.mark.parametrize("events", ["completed", ["terminal", "ringing"]])
def test_unknown_status_callback_events_name_the_field(events):
    assert field_of_error(status_callback_events=events) == "StatusCallbackEvents"


def test_status_callback_events_are_deduplicated_in_order():
    request = connect(status_callback_events=["answered", "terminal", "answered"])
    assert request.status_callback_events == ("answered", "terminal")


def test_single_status_callback_event_string_is_accepted():
    assert connect(status_callback_events="terminal").status_callback_events == ("terminal",)


def test_unknown_status_callback_content_type_names_the_field():
    assert field_of_error(status_callback_content_type="text/xml") == "StatusCallbackContentType"


def test_promo_call_type_names_call_type():
    assert field_of_error(call_type="promo") == "CallType"


def test_trans_call_type_is_accepted():
    assert connect(call_type="trans").call_type == "trans"


def test_record_without_to_names_record():
    assert field_of_error(record=True) == "Record"


@pytest.mark.parametrize(
    ("param", "value", "field"),
    [
        ("recording_channels", "dual", "RecordingChannels"),
        ("recording_format", "mp3", "RecordingFormat"),
        ("wait_url", "https://example.com/wait", "WaitUrl"),
    ],
)
def test_two_number_options_without_to_name_their_field(param, value, field):
    assert field_of_error(**{param: value}) == field


def test_unknown_recording_channels_names_the_field():
    assert (
        field_of_error(app_id=None, to_number="09812345678", recording_channels="stereo")
        == "RecordingChannels"
    )


def test_validation_error_message_starts_with_the_field():
    with pytest.raises(ExotelValidationError) as raised:
        connect(time_limit=0)
    assert str(raised.value).startswith("TimeLimit: ")
    assert "14400" in str(raised.value)


# --- the form Exotel receives ----------------------------------------------------------------------


def test_minimal_flow_form_is_from_caller_id_url():
    assert connect().form() == [("From", "+919876543210"), ("CallerId", "08047112345"), ("Url", FLOW)]


def test_full_flow_form_shape():
    request = connect(
        call_type="trans",
        time_limit="120",
        time_out=30,
        status_callback="https://hooks.example.com/x",
        status_callback_events=["terminal", "answered"],
        status_callback_content_type="application/json",
        custom_field="order-42",
    )
    assert request.form() == [
        ("From", "+919876543210"),
        ("CallerId", "08047112345"),
        ("Url", FLOW),
        ("CallType", "trans"),
        ("TimeLimit", "120"),
        ("TimeOut", "30"),
        ("StatusCallback", "https://hooks.example.com/x"),
        ("StatusCallbackContentType", "application/json"),
        ("CustomField", "order-42"),
        ("StatusCallbackEvents[0]", "terminal"),
        ("StatusCallbackEvents[1]", "answered"),
    ]


def test_two_number_form_shape():
    request = connect(
        app_id=None,
        to_number="09812345678",
        record=True,
        recording_channels="dual",
        recording_format="mp3-hq",
        wait_url="https://example.com/wait.mp3",
    )
    assert request.form() == [
        ("From", "+919876543210"),
        ("To", "+919812345678"),
        ("CallerId", "08047112345"),
        ("Record", "true"),
        ("RecordingChannels", "dual"),
        ("RecordingFormat", "mp3-hq"),
        ("WaitUrl", "https://example.com/wait.mp3"),
    ]


def test_form_values_are_all_strings():
    request = connect(time_limit=60, time_out=20, status_callback_events="terminal")
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in request.form())


def test_describe_masks_numbers_by_default():
    text = connect().describe()
    assert "9876543210" not in text
    assert "3210" in text
    assert "+919876543210" in connect().describe(mask=False)
