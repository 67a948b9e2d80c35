"""The pytest plugin's fixtures and the Airflow connection the simulator hands out."""

from __future__ import annotations

import json
import os

import pytest

from exotel_provider.simulator.pytest_plugin import CONNECTION_ENV_VAR
from exotel_provider.simulator.server import ExotelSimulator


def test_fixture_defaults_to_60x_time(exotel_simulator: ExotelSimulator) -> None:
    assert exotel_simulator.state.clock.time_scale == 60
    assert exotel_simulator.base_url == f"http://127.0.0.1:{exotel_simulator.port}"
    assert exotel_simulator.port != 0


@pytest.mark.exotel_simulator(time_scale=600, rate_limit_per_minute=7)
def test_marker_overrides_options(exotel_simulator: ExotelSimulator) -> None:
    assert exotel_simulator.state.clock.time_scale == 600
    assert exotel_simulator.state.rate_limit_per_minute == 7


@pytest.mark.parametrize("exotel_simulator", [{"time_scale": 5}], indirect=True)
def test_indirect_parametrisation_overrides_options(exotel_simulator: ExotelSimulator) -> None:
    assert exotel_simulator.state.clock.time_scale == 5


def test_connection_env_points_airflow_at_the_simulator(exotel_connection_env: ExotelSimulator) -> None:
    connection = json.loads(os.environ[CONNECTION_ENV_VAR])

    assert connection == {
        "conn_type": "exotel",
        "login": "sim-key",
        "password": "sim-token",
        "host": exotel_connection_env.base_url,
        "extra": {"account_sid": "exotel_sim"},
    }


def test_connection_uri_round_trips_through_airflow() -> None:
    connection_module = pytest.importorskip("airflow.models.connection")
    simulator = ExotelSimulator(port=5555, account_sid="acme", api_token="t/o:k+en")

    connection = connection_module.Connection(conn_id="exotel_default", uri=simulator.connection_uri())

    assert (connection.conn_type, connection.host, connection.port) == ("exotel", "127.0.0.1", 5555)
    assert (connection.login, connection.password) == ("sim-key", "t/o:k+en")
    assert connection.extra_dejson == {"account_sid": "acme", "scheme": "http"}


@pytest.mark.integration
def test_stopped_simulator_can_be_restarted_on_a_new_port() -> None:
    simulator = ExotelSimulator(time_scale=0)
    with simulator:
        first = simulator.port
    with simulator:
        assert simulator.port != 0
    assert first != 0
