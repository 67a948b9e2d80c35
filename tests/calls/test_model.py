"""The Call object: terminal/priced rules, dict round trip for XCom, and a repr safe to log."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exotel_provider.calls import CALL_FIELDS, Call, CallStatus, parse_call
from exotel_provider.errors import ExotelResponseError

FULL = Call(
    sid="CA123",
    status=CallStatus.COMPLETED,
    raw_status="completed",
    parent_call_sid="PA1",
    date_created="2024-05-01 10:00:00",
    date_updated="2024-05-01 10:03:00",
    account_sid="exotel-acct",
    to="09812345678",
    from_="09876543210",
    phone_number_sid="08047112345",
    start_time="2024-05-01 10:00:01",
    end_time="2024-05-01 10:02:00",
    duration=119,
    price=1.5,
    direction="outbound-api",
    answered_by="human",
    forwarded_from=None,
    caller_name=None,
    uri="/v1/Accounts/exotel-acct/Calls/CA123",
    recording_url="https://recordings.example.com/CA123.mp3",
)


def test_to_dict_uses_exotel_field_names_in_documented_order():
    assert tuple(FULL.to_dict()) == CALL_FIELDS


def test_to_dict_is_json_serialisable_with_typed_numbers():
    values = json.loads(json.dumps(FULL.to_dict()))
    assert values["Price"] == 1.5
    assert values["Duration"] == 119
    assert values["Status"] == "completed"
    assert values["From"] == "09876543210"


def test_dict_round_trip_gives_the_same_call():
    assert Call.from_dict(FULL.to_dict()) == FULL


def test_round_trip_through_json_gives_the_same_call():
    assert Call.from_dict(json.loads(json.dumps(FULL.to_dict()))) == FULL


def test_details_are_included_in_dict_and_round_trip():
    call = dataclasses.replace(FULL, details={"ConversationDuration": 100, "Legs": []})
    values = call.to_dict()
    assert values["Details"] == {"ConversationDuration": 100, "Legs": []}
    assert Call.from_dict(values).details == call.details


def test_no_details_key_without_details():
    assert "Details" not in FULL.to_dict()


def test_unknown_status_survives_the_round_trip():
    call = Call(sid="CA9", status=None, raw_status="on-hold")
    values = call.to_dict()
    assert values["Status"] == "on-hold"
    again = Call.from_dict(values)
    assert again.status is None and again.raw_status == "on-hold"


def test_from_dict_of_non_dict_is_a_response_error():
    with pytest.raises(ExotelResponseError):
        Call.from_dict(["CA1"])  # type: ignore[arg-type]


def test_from_dict_without_sid_is_a_response_error():
    with pytest.raises(ExotelResponseError):
        Call.from_dict({"Status": "completed"})


@pytest.mark.parametrize("status", ["completed", "failed", "busy", "no-answer", "canceled"])
def test_terminal_statuses_make_the_call_terminal(status):
    assert Call.from_dict({"Sid": "a", "Status": status}).is_terminal


@pytest.mark.parametrize("status", ["queued", "ringing", "in-progress", None, ""])
def test_in_flight_or_missing_statuses_are_not_terminal(status):
    assert not Call.from_dict({"Sid": "a", "Status": status}).is_terminal


def test_is_priced_needs_price_duration_and_end_time():
    assert FULL.is_priced
    for missing in ("price", "duration", "end_time"):
        assert not dataclasses.replace(FULL, **{missing: None}).is_priced


def test_zero_price_counts_as_priced():
    assert dataclasses.replace(FULL, price=0.0, duration=0).is_priced


def test_repr_masks_phone_numbers():
    text = repr(FULL)
    assert "9876543210" not in text
    assert "9812345678" not in text
    assert "3210" in text and "5678" in text
    assert "CA123" in text and "completed" in text


def test_str_of_call_also_masks_numbers():
    assert "9876543210" not in str(FULL)
    assert "9876543210" not in f"{[FULL]}"


def test_call_is_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        FULL.price = 2.0  # type: ignore[misc]


def test_calls_equal_regardless_of_details():
    assert dataclasses.replace(FULL, details={"x": 1}) == FULL


def test_to_dict_matches_what_the_parser_reads():
    assert parse_call(json.dumps({"Call": FULL.to_dict()})) == FULL


# A field value as the parser would hand it back: stripped, non-empty text.
texts = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=20)
optional_texts = st.none() | texts


@settings(max_examples=200, deadline=None, database=None)
@given(
    sid=texts,
    status=st.none() | st.sampled_from(list(CallStatus)),
    to=optional_texts,
    end_time=optional_texts,
    duration=st.none() | st.integers(min_value=0, max_value=10**6),
    price=st.none() | st.floats(min_value=0, max_value=1e6, allow_nan=False),
    recording_url=optional_texts,
)
def test_round_trip_property(sid, status, to, end_time, duration, price, recording_url):
    call = Call(
        sid=sid,
        status=status,
        raw_status=status.value if status else None,
        to=to,
        end_time=end_time,
        duration=duration,
        price=price,
        recording_url=recording_url,
    )
    assert Call.from_dict(json.loads(json.dumps(call.to_dict()))) == call
