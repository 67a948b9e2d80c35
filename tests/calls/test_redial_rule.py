"""One rule for which calls are worth a redial: the campaign summary uses it."""

from __future__ import annotations

import pytest

from exotel_provider.calls import REDIAL_STATUSES, CallStatus, is_worth_redialling
from exotel_provider.calls.model import Call
from exotel_provider.campaigns import needs_redial


def test_only_busy_and_unanswered_calls_are_worth_a_redial():
    assert {status for status in CallStatus if is_worth_redialling(status)} == {
        CallStatus.BUSY,
        CallStatus.NO_ANSWER,
    }
    assert {CallStatus.BUSY, CallStatus.NO_ANSWER} == REDIAL_STATUSES
    assert not is_worth_redialling(None)  # a status Exotel does not document


@pytest.mark.parametrize("raw", ["completed", "failed", "canceled", "busy", "no-answer", "voicemail", ""])
def test_a_campaign_redials_exactly_what_the_rule_says(raw):
    call = Call.from_dict({"Sid": "c1", "Status": raw})
    assert needs_redial(call) is is_worth_redialling(call.status)
    assert needs_redial(call.to_dict()) is is_worth_redialling(call.status)
