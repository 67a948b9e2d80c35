"""X-RateLimit-* headers (unconfirmed in Exotel's docs): sent only when asked, counting real seconds."""

from __future__ import annotations

import pytest

from exotel_provider.simulator.rate_limit import busiest_window


@pytest.mark.exotel_simulator(time_scale=0, rate_limit_per_minute=3, send_rate_limit_headers=True)
def test_headers_count_down_to_the_429_and_announce_the_reset(exotel_simulator, api) -> None:
    answers = [api.list_calls() for _ in range(4)]

    remaining = [answer.headers["X-RateLimit-Remaining"] for answer in answers]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert remaining == ["2", "1", "0", "0"]
    assert {answer.headers["X-RateLimit-Limit"] for answer in answers} == {"3"}
    assert answers[3].headers["X-RateLimit-Reset"] == "60"
    exotel_simulator.advance(60)
    assert api.list_calls().headers["X-RateLimit-Remaining"] == "2"


@pytest.mark.exotel_simulator(time_scale=0, rate_limit_per_minute=3)
def test_no_headers_unless_asked(api) -> None:
    answer = api.list_calls()
    assert answer.status_code == 200
    assert not [name for name in answer.headers if name.lower().startswith("x-ratelimit")]


def test_busiest_window_counts_requests_within_any_60_seconds() -> None:
    assert busiest_window([]) == 0
    assert busiest_window([0, 59.9, 60, 119.9, 120]) == 2
    assert busiest_window([5, 1, 3, 200, 2]) == 4
