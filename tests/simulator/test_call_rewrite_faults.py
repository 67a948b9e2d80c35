"""The faults that rewrite calls in an answer: an undocumented status, an unreadable entry."""

from __future__ import annotations

import pytest

from exotel_provider.simulator import CALL_PATH, LISTING_PATH
from exotel_provider.simulator.server import ExotelSimulator

pytestmark = pytest.mark.exotel_simulator(time_scale=0)


def test_undocumented_status_rewrites_one_call_read(exotel_simulator: ExotelSimulator, api) -> None:
    sid = api.place()
    exotel_simulator.inject_fault(
        "undocumented_status", method="GET", path=CALL_PATH, call_status="voicemail"
    )

    assert api.call(sid)["Status"] == "voicemail"
    assert api.call(sid)["Status"] == "queued"  # one time only


def test_unreadable_entry_spoils_only_the_named_call_of_a_listing(
    exotel_simulator: ExotelSimulator, api
) -> None:
    first, second = api.place(), api.place()
    exotel_simulator.advance(3600)
    exotel_simulator.inject_fault("unreadable_entry", method="GET", path=LISTING_PATH, sid=second)

    calls = {call["Sid"]: call for call in api.list_calls(Sid=f"{first},{second}").json()["Calls"]}

    assert calls[second]["Price"] == "N/A"
    assert calls[first]["Price"] != "N/A" and calls[first]["Status"] == "completed"


def test_a_rewrite_fault_cannot_strike_before_the_request_is_processed() -> None:
    from exotel_provider.simulator import Fault

    with pytest.raises(ValueError, match="after_processing"):
        Fault("unreadable_entry", after_processing=False)
