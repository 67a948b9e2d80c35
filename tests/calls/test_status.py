"""Call statuses: parsing Exotel's strings, which are terminal, and coercing user input."""

from __future__ import annotations

import pytest

from exotel_provider.calls import (
    DEFAULT_SUCCESS_STATUSES,
    TERMINAL_STATUSES,
    UNANSWERED_STATUSES,
    CallStatus,
    coerce_statuses,
    parse_status,
)
from exotel_provider.errors import ExotelValidationError


def test_documented_terminal_statuses():
    assert {s.value for s in TERMINAL_STATUSES} == {"completed", "failed", "busy", "no-answer", "canceled"}


def test_in_flight_statuses_are_not_terminal():
    assert {s.value for s in set(CallStatus) - TERMINAL_STATUSES} == {"queued", "ringing", "in-progress"}


def test_unanswered_statuses_are_terminal():
    assert UNANSWERED_STATUSES <= TERMINAL_STATUSES
    assert CallStatus.COMPLETED not in UNANSWERED_STATUSES


def test_default_success_is_completed():
    assert frozenset({CallStatus.COMPLETED}) == DEFAULT_SUCCESS_STATUSES


def test_status_compares_equal_to_exotel_string():
    assert CallStatus.NO_ANSWER == "no-answer"
    assert CallStatus.IN_PROGRESS == "in-progress"


@pytest.mark.parametrize("status", list(CallStatus))
def test_every_documented_status_parses(status):
    assert parse_status(status.value) is status


@pytest.mark.parametrize("text", [" Completed ", "COMPLETED", "completed\n"])
def test_parse_status_ignores_case_and_whitespace(text):
    assert parse_status(text) is CallStatus.COMPLETED


@pytest.mark.parametrize("text", [None, "", "on-hold", "no_answer", "cancelled"])
def test_missing_or_undocumented_status_parses_as_none(text):
    assert parse_status(text) is None


def test_coerce_single_status_string():
    assert coerce_statuses("completed") == frozenset({CallStatus.COMPLETED})


def test_coerce_list_of_statuses_and_enums():
    assert coerce_statuses(["busy", CallStatus.NO_ANSWER, "Completed"]) == frozenset(
        {CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.COMPLETED}
    )


@pytest.mark.parametrize(
    "value", ["ringing", ["completed", "in-progress"], "queued", "not a status", "9lives"]
)
def test_coerce_rejects_in_flight_statuses_and_non_status_words(value):
    with pytest.raises(ExotelValidationError) as raised:
        coerce_statuses(value)
    assert raised.value.field == "success_statuses"


def test_coerce_rejects_empty_list_with_given_field():
    with pytest.raises(ExotelValidationError) as raised:
        coerce_statuses([], field="failure_statuses")
    assert raised.value.field == "failure_statuses"
    assert "no status" in str(raised.value)
