"""The window rule: which listed calls are candidates, and when one of them is proof."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from placement_doubles import T0, connect_request, listed_call

from exotel_provider.placement.reconciliation import (
    CLOCK_SKEW_SECONDS,
    ZONE_DOUBT_SECONDS,
    PlacementAttempt,
    Verdict,
    judge,
    parse_exotel_time,
)

UTC = ZoneInfo("UTC")


def attempt(**overrides) -> PlacementAttempt:
    values = {"request": connect_request(), "sent_at": T0, "settled_at": T0 + 30}
    values.update(overrides)
    return PlacementAttempt(**values)


def test_a_call_created_inside_the_window_is_a_candidate_and_one_outside_is_not():
    inside = listed_call("ours", T0 + 5)
    before = listed_call("older", T0 - CLOCK_SKEW_SECONDS - 60)
    after = listed_call("later", T0 + 30 + CLOCK_SKEW_SECONDS + 60)

    assert [c.sid for c in attempt().candidates([before, inside, after])] == ["ours"]


def test_another_number_or_another_exophone_is_never_a_candidate():
    other_number = listed_call("a", T0 + 5, from_="09999999999")
    other_exophone = listed_call("b", T0 + 5, exophone="08000000000")

    assert attempt().candidates([other_number, other_exophone]) == []


def test_a_call_that_started_before_the_window_is_not_ours():
    call = listed_call("old", T0 + 5)
    started_early = type(call)(**{**call.__dict__, "start_time": "2000-01-01 00:00:00"})

    assert attempt().candidates([started_early]) == []


def test_date_created_is_read_in_the_connection_zone():
    in_utc = listed_call("ours", T0 + 5, zone=UTC)

    assert attempt(time_zone=UTC).candidates([in_utc]) == [in_utc]
    assert attempt().candidates([in_utc]) == []  # read as India time it is 5.5 h off
    assert parse_exotel_time(in_utc.date_created, UTC) == int(T0 + 5)


def test_one_candidate_is_proof_only_once_every_call_of_the_window_is_listed():
    one = attempt()
    ours = [listed_call("ours", T0 + 5)]
    complete = one.certainly_listed_by()

    assert judge(one, ours, now=complete - 1) is Verdict.NOT_YET
    assert judge(one, ours, now=complete) is Verdict.ADOPT
    assert judge(one, [], now=complete - 1) is Verdict.NOT_YET
    assert judge(one, [], now=complete) is Verdict.NONE_PLACED


def test_two_candidates_are_never_told_apart():
    both = [listed_call("a", T0 + 2), listed_call("b", T0 + 9)]

    assert judge(attempt(), both, now=T0 + 10**6) is Verdict.AMBIGUOUS


def test_the_window_is_complete_after_queue_ring_time_limit_and_listing_delay():
    one = attempt(request=connect_request(time_limit=300, time_out=30))

    assert one.certainly_listed_by() == T0 + 30 + CLOCK_SKEW_SECONDS + 900 + 30 + 300 + 600


def test_listing_filters_ask_from_the_window_start_in_exotel_time():
    filters = attempt(time_zone=UTC).listing_filters()

    assert filters["from_numbers"] == ["+919876543210"]
    window_start = T0 - CLOCK_SKEW_SECONDS - ZONE_DOUBT_SECONDS  # wide enough to see a misread call
    assert filters["date_created"] == "gte:" + attempt(time_zone=UTC).exotel_time(window_start)
    assert filters["sort_by"] == "DateCreated:asc"


def test_no_candidate_but_a_call_hours_away_is_doubt_not_proof():
    one = attempt()
    misread = listed_call("ours-in-utc", T0 + 5, zone=UTC)  # read as India time: 5.5 h earlier

    nearby = one.nearby([misread])

    assert one.candidates([misread]) == [] and nearby == [misread]
    assert judge(one, [], now=one.certainly_listed_by(), nearby=nearby) is Verdict.DOUBT
