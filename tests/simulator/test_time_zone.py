"""The simulator's time-zone option: the zone of every timestamp it gives and reads."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import pytest
import requests

from exotel_provider.simulator.__main__ import build_parser
from exotel_provider.simulator.server import ExotelSimulator

CUSTOMER = "+919876543210"
EXOTEL_TIME = "%Y-%m-%d %H:%M:%S"


def get(simulator: ExotelSimulator, path: str, **params: str) -> requests.Response:
    url = f"{simulator.base_url}/v1/Accounts/{simulator.account_sid}/{path}"
    return requests.get(url, params=params, auth=(simulator.api_key, simulator.api_token), timeout=5)


def place(simulator: ExotelSimulator) -> str:
    url = f"{simulator.base_url}/v1/Accounts/{simulator.account_sid}/Calls/connect.json"
    form = {
        "From": CUSTOMER,
        "CallerId": "08047112345",
        "Url": "http://my.exotel.com/exotel_sim/exoml/start_voice/1",
    }
    answer = requests.post(url, data=form, auth=(simulator.api_key, simulator.api_token), timeout=5)
    return answer.json()["Call"]["DateCreated"]


@pytest.mark.parametrize(
    ("exotel_simulator", "zone"),
    [({"time_scale": 0}, "Asia/Kolkata"), ({"time_scale": 0, "time_zone": "UTC"}, "UTC")],
    indirect=["exotel_simulator"],
    ids=["india-time", "utc"],
)
def test_timestamps_are_given_in_the_simulator_zone(exotel_simulator, zone):
    created = place(exotel_simulator)

    expected = datetime.fromtimestamp(int(exotel_simulator.now()), ZoneInfo(zone))
    assert created == expected.strftime(EXOTEL_TIME)


@pytest.mark.exotel_simulator(time_scale=0, time_zone="UTC")
def test_the_date_created_filter_is_read_in_the_simulator_zone(exotel_simulator):
    created = place(exotel_simulator)
    exotel_simulator.advance(3600)  # the call has ended: it is listed

    an_hour_later = datetime.strptime(created, EXOTEL_TIME) + timedelta(hours=1)

    since_created = get(exotel_simulator, "Calls.json", DateCreated=f"gte:{created}").json()["Calls"]
    since_later = get(exotel_simulator, "Calls.json", DateCreated=f"gte:{an_hour_later:{EXOTEL_TIME}}")

    assert len(since_created) == 1 and since_later.json()["Calls"] == []


@pytest.mark.exotel_simulator(time_scale=0)
def test_the_date_header_is_the_simulated_clock(exotel_simulator):
    exotel_simulator.advance(7200)

    date = parsedate_to_datetime(get(exotel_simulator, "Calls.json").headers["Date"]).timestamp()

    assert abs(date - exotel_simulator.now()) < 2


def test_the_cli_and_the_connection_carry_the_zone():
    assert build_parser().parse_args(["--time-zone", "UTC"]).time_zone == "UTC"
    assert build_parser().parse_args([]).time_zone == "Asia/Kolkata"
    utc = ExotelSimulator(time_zone="UTC")
    assert utc.connection()["extra"]["timezone"] == "UTC" and "timezone=UTC" in utc.connection_uri()
    assert "timezone" not in ExotelSimulator().connection()["extra"]
