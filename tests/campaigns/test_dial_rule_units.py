"""The calling rules about the person, unit by unit: which refusal is DND, which number is a mobile,
which ledger rows count as calls, how the caps are checked, and the order the rules are asked in."""

from __future__ import annotations

import datetime

import pytest

from exotel_provider.calls.numbers import is_indian_mobile
from exotel_provider.campaigns.call_caps import (
    DEFAULT_MAX_CALLS_PER_PERSON,
    DEFAULT_MAX_CALLS_PER_WEEK,
    CallCaps,
    count_calls,
)
from exotel_provider.campaigns.dial_rules import DialRules
from exotel_provider.campaigns.do_not_call import DO_NOT_CALL_TABLE, is_dnd_refusal, stored_forms
from exotel_provider.campaigns.ledger import LedgerRow
from exotel_provider.campaigns.not_called import CAP_REACHED, DO_NOT_CALL, NOT_A_MOBILE
from exotel_provider.errors import ExotelForbiddenError, ExotelValidationError
from exotel_provider.operators import campaign_rules

INDIA = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
NOON = datetime.datetime(2026, 8, 3, 12, tzinfo=INDIA).timestamp()
PHONE = "+919876500101"


def forbidden(message: str | None) -> ExotelForbiddenError:
    return ExotelForbiddenError(f"HTTP 403: {message}. The number may be on India's NDNC/DND list",
                                status_code=403, exotel_message=message)  # fmt: skip


def test_only_a_403_whose_message_names_dnd_is_a_dnd_refusal():
    assert is_dnd_refusal(forbidden("Call blocked by TRAI NDNC/DND regulations"))
    assert is_dnd_refusal(forbidden("Number is in NDNC registry"))
    assert not is_dnd_refusal(forbidden("Your API key has no access to this resource"))
    assert not is_dnd_refusal(forbidden(None))  # the advice mentions DND; Exotel's message does not
    assert not is_dnd_refusal(ValueError("DND"))


def test_a_landline_or_a_foreign_mobile_is_not_an_indian_mobile():
    assert is_indian_mobile("+919876543210") and is_indian_mobile("09876543210")
    assert not is_indian_mobile("+91 12345 67890") and not is_indian_mobile("08041234567")
    assert not is_indian_mobile("+447911123456") and not is_indian_mobile("not a number")


def test_a_listed_number_is_looked_up_in_e164_and_the_indian_national_forms():
    assert stored_forms("09876500101") == (PHONE, "919876500101", "09876500101", "9876500101")


def row(key: str, sid: str | None, state: str, attempt: int = 1) -> LedgerRow:
    return LedgerRow(key, "2026-08-03", attempt, state=state, phone=PHONE, call_sid=sid, sent_at=NOON)


def test_a_call_shared_by_two_reminders_counts_once_and_rows_never_dialled_not_at_all():
    rows = [
        row("R1", "CA1", "ended"), row("R2", "CA1", "ended"),  # one call, two reminders
        row("R1", None, "unknown", attempt=2),  # sent, answer lost: may exist
        row("R3", None, "not placed"), row("R4", None, "refused"),
    ]  # fmt: skip
    assert count_calls(rows) == 2


class Ledger:
    def __init__(self, rows: list[LedgerRow]) -> None:
        self.day, self.attempt, self.saved, self.asked = "2026-08-03", 1, rows, []

    def rows(self) -> list[LedgerRow]:
        return self.saved

    def write(self, row: LedgerRow) -> None:
        self.saved.append(row)

    def calls_to(self, phone: str, since: float, until: float) -> list[LedgerRow]:
        self.asked.append((phone, since, until))
        return [r for r in self.saved if r.phone == phone and since <= (r.sent_at or -1) < until]


def test_the_caps_count_the_india_day_and_the_six_days_before():
    yesterday = LedgerRow(
        "R0", "2026-08-02", 1, state="ended", phone=PHONE, call_sid="CA0", sent_at=NOON - 86400
    )
    ledger = Ledger([yesterday, row("R1", "CA1", "ended")])

    assert not CallCaps(2, 3).reached(ledger, PHONE, NOON)
    assert CallCaps(1, None).reached(ledger, PHONE, NOON)  # one today
    assert CallCaps(None, 2).reached(ledger, PHONE, NOON)  # two this week
    [(_, since, until)] = ledger.asked[-1:]
    assert datetime.datetime.fromtimestamp(since, INDIA) == datetime.datetime(2026, 7, 28, tzinfo=INDIA)
    assert datetime.datetime.fromtimestamp(until, INDIA) == datetime.datetime(2026, 8, 4, tzinfo=INDIA)


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "2"])
def test_a_cap_that_is_not_a_positive_whole_number_is_refused(value):
    with pytest.raises(ExotelValidationError, match="max_calls_per_person"):
        CallCaps(value, None)


class Listed:
    def __init__(self, numbers: dict[str, str]) -> None:
        self.numbers = numbers

    def reason(self, phone: str) -> str | None:
        return self.numbers.get(phone)

    def add(self, phone: str, reason: str) -> None:
        self.numbers.setdefault(phone, reason)


def test_the_rules_are_asked_mobile_first_then_the_list_then_the_caps_and_dnd_refusals_are_listed():
    ledger = Ledger([row("R1", "CA1", "ended"), row("R1", "CA2", "ended", attempt=2)])
    listed = Listed({"+918041234567": "opted out", PHONE: "opted out"})
    rules = DialRules(
        lambda: NOON, do_not_call=listed, ledger=ledger, caps=CallCaps(2, None), mobile_only=True
    )

    assert rules.reason_not_to_dial("+918041234567") == NOT_A_MOBILE
    assert rules.reason_not_to_dial(PHONE) == DO_NOT_CALL
    del listed.numbers[PHONE]
    assert rules.reason_not_to_dial(PHONE) == CAP_REACHED
    assert rules.reason_not_to_dial("+919876500102") is None

    assert not rules.refused("+919876500102", forbidden("no access to this resource"))
    assert rules.refused("+919876500102", forbidden("Call blocked by TRAI NDNC/DND regulations"))
    assert listed.numbers["+919876500102"] == "DND"


def test_the_operators_defaults_are_the_rules_own():
    assert campaign_rules.MAX_CALLS_PER_PERSON == DEFAULT_MAX_CALLS_PER_PERSON == 2
    assert campaign_rules.MAX_CALLS_PER_WEEK == DEFAULT_MAX_CALLS_PER_WEEK
    assert campaign_rules.DO_NOT_CALL_TABLE == DO_NOT_CALL_TABLE


def test_the_rules_parameters_take_default_args_and_partial_like_the_operators_own():
    from airflow.sdk import DAG

    from exotel_provider.operators.campaign import ExotelCampaignOperator

    start = datetime.datetime(2026, 1, 1)
    with DAG("rules", schedule=None, start_date=start, default_args={"max_calls_per_week": 4}):
        one = ExotelCampaignOperator(task_id="one", calls=[], max_calls_per_person=1)
        mapped = ExotelCampaignOperator.partial(task_id="many", mobile_only=True, app_id=926).expand(
            calls=[[{"key": "R1", "from_number": PHONE}]]
        )
    assert (one.max_calls_per_person, one.max_calls_per_week, one.do_not_call) == (1, 4, "do_not_call")
    assert mapped.partial_kwargs["mobile_only"] is True
