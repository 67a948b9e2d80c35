"""200 requests per sliding real minute (at any time scale), then 429 with Retry-After."""

from __future__ import annotations

import time

import pytest
import xmltodict

from exotel_provider.simulator.server import ExotelSimulator


def burst(api, count: int) -> list[int]:
    return [api.list_calls().status_code for _ in range(count)]


@pytest.mark.exotel_simulator(time_scale=0)
def test_the_201st_request_in_a_minute_is_429_until_the_window_slides(
    exotel_simulator: ExotelSimulator, api
) -> None:
    assert set(burst(api, 200)) == {200}

    refused = api.list_calls()
    refused_again = api.list_calls()

    assert (refused.status_code, refused_again.status_code) == (429, 429)
    assert refused.json()["RestException"]["Status"] == 429
    assert 45 <= int(refused.headers["Retry-After"]) <= 60  # real seconds left in the window
    exotel_simulator.advance(60)
    assert api.list_calls().status_code == 200


@pytest.mark.exotel_simulator(time_scale=0, rate_limit_per_minute=5)
def test_refused_requests_do_not_count_and_old_ones_slide_out(exotel_simulator: ExotelSimulator, api) -> None:
    assert burst(api, 3) == [200] * 3
    exotel_simulator.advance(30)
    assert burst(api, 4) == [200, 200, 429, 429]
    exotel_simulator.advance(30)  # the first 3 leave the window; the 429s never entered it
    assert burst(api, 4) == [200, 200, 200, 429]


@pytest.mark.exotel_simulator(time_scale=0, rate_limit_per_minute=1)
def test_429_in_xml(api) -> None:
    api.list_calls()
    response = api.list_calls(json=False)

    error = xmltodict.parse(response.text)["TwilioResponse"]["RestException"]
    assert (response.status_code, error["Status"]) == (429, "429")


@pytest.mark.exotel_simulator(time_scale=600, rate_limit_per_minute=1)
def test_retry_after_is_in_real_seconds(api) -> None:
    api.list_calls()
    retry_after = int(api.list_calls().headers["Retry-After"])
    assert 59 <= retry_after <= 60  # a real minute, though ten simulated hours pass in it


@pytest.mark.exotel_simulator(time_scale=6000, rate_limit_per_minute=5)
def test_the_limit_counts_real_seconds_at_any_time_scale(exotel_simulator: ExotelSimulator, api) -> None:
    assert burst(api, 5) == [200] * 5
    sim_start = exotel_simulator.now()
    time.sleep(0.05)  # five simulated minutes
    assert exotel_simulator.now() - sim_start >= 300
    assert burst(api, 3) == [429, 429, 429]  # but not a real minute: the window has not moved


@pytest.mark.exotel_simulator(rate_limit_per_minute=1, send_retry_after=False)
def test_retry_after_can_be_left_out(api) -> None:
    api.list_calls()
    response = api.list_calls()
    assert response.status_code == 429
    assert "Retry-After" not in response.headers


@pytest.mark.exotel_simulator(time_scale=0, rate_limit_per_minute=None)
def test_no_limit_when_disabled(api) -> None:
    assert set(burst(api, 250)) == {200}


@pytest.mark.exotel_simulator(time_scale=0, rate_limit_per_minute=2)
def test_limit_covers_connect_and_refusals_are_logged(exotel_simulator: ExotelSimulator, api) -> None:
    api.place()
    api.place()

    assert api.connect().status_code == 429
    assert [r.status_code for r in exotel_simulator.requests] == [200, 200, 429]
    assert len(exotel_simulator.placed_calls()) == 2
