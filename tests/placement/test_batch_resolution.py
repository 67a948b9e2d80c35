"""Many lost answers resolved from one listing pass: adopted, not placed, open or ambiguous."""

from __future__ import annotations

from placement_doubles import T0, FakeExotel, StepClock, connect_request, listed_call

from exotel_provider.placement.batch_resolution import (
    MAX_NUMBERS_PER_LISTING,
    Intent,
    Resolved,
    listing_filters,
    open_until,
    resolve,
    resolve_from_listing,
)
from exotel_provider.placement.reconciliation import ZONE_DOUBT_SECONDS, PlacementAttempt


def phone(i: int) -> str:
    return f"+9198765{i:05d}"


def national(i: int) -> str:
    return f"098765{i:05d}"


def intent(key: str, i: int, *, sent_at: float = T0, siblings: frozenset[str] = frozenset()) -> Intent:
    attempt = PlacementAttempt(connect_request(from_number=phone(i)), sent_at, sent_at + 30)
    return Intent(key, attempt, siblings)


def complete(*intents: Intent) -> float:
    return max(one.attempt.certainly_listed_by() for one in intents)


def test_one_pass_adopts_each_lone_candidate_and_proves_the_others_placed_nothing():
    a, b = intent("R1", 1), intent("R2", 2)
    ours = listed_call("CA1", T0 + 5, from_=national(1))

    found = resolve([a, b], [ours], now=complete(a, b))

    assert found["R1"].outcome is Resolved.ADOPTED and found["R1"].call == ours
    assert found["R2"].outcome is Resolved.NOT_PLACED and found["R2"].may_dial


def test_with_the_default_reconcile_timeout_a_lost_answer_is_decided_once_its_window_is_complete():
    """With TimeLimit 300 the window is complete about 36 minutes after the request, not never."""
    one = intent("R1", 1)
    ours = listed_call("CA1", T0 + 5, from_=national(1))

    assert one.attempt.certainly_listed_by() - T0 < 40 * 60
    early = resolve([one], [ours], now=T0 + 600)
    late = resolve([one], [ours], now=one.attempt.certainly_listed_by())

    assert early["R1"].outcome is Resolved.OPEN and early["R1"].candidates == ("CA1",)
    assert not early["R1"].may_dial
    assert late["R1"].outcome is Resolved.ADOPTED


def test_a_siblings_sid_is_never_a_candidate():
    """The same phone due twice: the other reminder's call is excluded, so this one placed nothing."""
    one = intent("R1", 1, siblings=frozenset({"CA-sibling"}))
    sibling = listed_call("CA-sibling", T0 + 5, from_=national(1))

    assert resolve([one], [sibling], now=complete(one))["R1"].outcome is Resolved.NOT_PLACED
    assert resolve([intent("R1", 1)], [sibling], now=complete(one))["R1"].outcome is Resolved.ADOPTED


def test_known_sids_of_the_campaign_are_excluded_from_every_intent():
    one = intent("R1", 1)
    placed_with_answer = listed_call("CA-known", T0 + 5, from_=national(1))

    found = resolve([one], [placed_with_answer], now=complete(one), known_sids={"CA-known"})

    assert found["R1"].outcome is Resolved.NOT_PLACED


def test_a_call_two_intents_claim_is_adopted_by_neither():
    a, b = intent("R1", 1), intent("R1b", 1, sent_at=T0 + 10)
    shared = listed_call("CA1", T0 + 12, from_=national(1))

    found = resolve([a, b], [shared], now=complete(a, b))

    assert {found[k].outcome for k in ("R1", "R1b")} == {Resolved.AMBIGUOUS}
    assert found["R1"].candidates == ("CA1",)


def test_two_candidates_are_ambiguous_and_named():
    one = intent("R1", 1)
    calls = [listed_call("CA1", T0 + 2, from_=national(1)), listed_call("CA2", T0 + 9, from_=national(1))]

    found = resolve([one], calls, now=complete(one))["R1"]

    assert found.outcome is Resolved.AMBIGUOUS and found.candidates == ("CA1", "CA2")


def test_a_call_hours_off_is_named_not_dialled():
    one = intent("R1", 1)
    near = listed_call("CA-near", T0 - 3 * 3600, from_=national(1))

    found = resolve([one], [near], now=complete(one))["R1"]

    assert found.outcome is Resolved.AMBIGUOUS and found.candidates == ("CA-near",)


def test_open_until_is_when_the_last_open_window_is_complete():
    a, b = intent("R1", 1), intent("R2", 2, sent_at=T0 + 100)
    found = resolve([a, b], [], now=T0 + 60)
    assert open_until(found) == b.attempt.certainly_listed_by()
    assert open_until(resolve([a, b], [], now=complete(a, b))) is None


def test_few_numbers_are_one_filtered_request_and_many_are_the_date_range_alone():
    few = [intent(f"R{i}", i) for i in range(MAX_NUMBERS_PER_LISTING)]
    many = [intent(f"R{i}", i, sent_at=T0 + i) for i in range(200)]

    assert listing_filters(few)["from_numbers"] == [phone(i) for i in range(MAX_NUMBERS_PER_LISTING)]
    filters = listing_filters(many)
    assert "from_numbers" not in filters and filters["page_size"] == 100
    first, last = many[0].attempt, many[-1].attempt
    low = first.exotel_time(first.created_from - ZONE_DOUBT_SECONDS)
    high = last.exotel_time(last.created_until + ZONE_DOUBT_SECONDS)
    assert filters["date_created"] == f"gte:{low};lte:{high}"


def test_two_hundred_intents_cost_one_listing_pass():
    clock = StepClock(T0)
    exotel = FakeExotel(clock)
    intents = [intent(f"R{i}", i) for i in range(200)]
    for i in range(0, 200, 2):
        exotel.add(listed_call(f"CA{i}", T0 + 5, from_=national(i)), listed_at=T0 + 100)
    clock.time = complete(*intents)

    found = resolve_from_listing(exotel, intents, now=clock.now())

    assert exotel.listing_reads == 1
    assert sum(r.outcome is Resolved.ADOPTED for r in found.values()) == 100
    assert sum(r.may_dial for r in found.values()) == 100
    assert resolve_from_listing(exotel, [], now=clock.now()) == {} and exotel.listing_reads == 1
