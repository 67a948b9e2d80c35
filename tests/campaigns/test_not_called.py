from exotel_provider.campaigns.not_called import (
    CAP_REACHED,
    DO_NOT_CALL,
    NOT_CALLED,
    OUTSIDE_CALLING_HOURS,
    count_not_called,
    not_called_error,
    not_called_outcome,
    reason_not_called,
)
from exotel_provider.campaigns.outcomes import was_attempted


def test_an_entry_not_called_is_not_attempted_and_names_its_reason() -> None:
    outcome = not_called_outcome("R-1", DO_NOT_CALL)

    assert outcome["status"] == NOT_CALLED
    assert outcome["sid"] is None and outcome["price"] is None
    assert outcome["error"] == "not called: do-not-call"
    assert not was_attempted(outcome)
    assert reason_not_called(outcome) == DO_NOT_CALL


def test_a_ledger_record_gives_its_reason_from_the_error_text() -> None:
    assert reason_not_called({"state": "not placed", "error": not_called_error(CAP_REACHED)}) == CAP_REACHED
    assert reason_not_called({"state": "not placed", "error": "Exotel refused the number"}) is None


def test_reasons_are_counted_in_report_order() -> None:
    records = [
        not_called_outcome("a", DO_NOT_CALL),
        not_called_outcome("b", OUTSIDE_CALLING_HOURS),
        not_called_outcome("c", DO_NOT_CALL),
        {"status": "completed", "error": None},
    ]

    assert list(count_not_called(records).items()) == [(OUTSIDE_CALLING_HOURS, 1), (DO_NOT_CALL, 2)]
