"""Pytest fixtures for tests (and users' DAG tests) that need a running Exotel simulator.

Registered as the ``exotel`` pytest11 entry point. Options come from the
``@pytest.mark.exotel_simulator(time_scale=..., rate_limit_per_minute=...)`` marker or from
indirect parametrisation (``request.param``, a dict of ``ExotelSimulator`` keyword arguments).
``exotel_connection_env`` also makes sure Airflow's metadata DB under ``$AIRFLOW_HOME`` exists and
is current (``exotel_airflow_db``), so ``dag.test()`` works from a fresh home.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from exotel_provider.simulator.server import ExotelSimulator

DEFAULT_TIME_SCALE = 60.0
CONNECTION_ENV_VAR = "AIRFLOW_CONN_EXOTEL_DEFAULT"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``exotel_simulator`` marker."""
    config.addinivalue_line(
        "markers",
        "exotel_simulator(**options): ExotelSimulator keyword arguments for the exotel_simulator fixture "
        "(time_scale, rate_limit_per_minute, account_sid, default_script, ...)",
    )


def simulator_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """time_scale 60 by default, then the marker's keyword arguments, then ``request.param``."""
    options: dict[str, Any] = {"time_scale": DEFAULT_TIME_SCALE}
    marker = request.node.get_closest_marker("exotel_simulator")
    if marker is not None:
        options.update(marker.kwargs)
    param = getattr(request, "param", None)
    if isinstance(param, dict):
        options.update(param)
    return options


@pytest.fixture
def exotel_simulator(request: pytest.FixtureRequest) -> Iterator[ExotelSimulator]:
    """A running Exotel simulator on a free port, stopped after the test: ``placed_calls()`` and
    ``sent_sms()`` show what it received, ``script()`` and ``script_sms()`` decide outcomes."""
    from exotel_provider.simulator.server import ExotelSimulator

    simulator = ExotelSimulator(**simulator_options(request)).start()
    try:
        yield simulator
    finally:
        simulator.stop(wait=False)


@pytest.fixture(scope="session")
def exotel_airflow_db() -> None:
    """Airflow's metadata DB under ``$AIRFLOW_HOME``, created or migrated once per session if needed."""
    from exotel_provider.simulator.run_dag import ensure_metadata_db

    ensure_metadata_db()


@pytest.fixture
def exotel_connection_env(
    exotel_simulator: ExotelSimulator, exotel_airflow_db: None, monkeypatch: pytest.MonkeyPatch
) -> ExotelSimulator:
    """Points Airflow's ``exotel_default`` connection at the simulator (``AIRFLOW_CONN_EXOTEL_DEFAULT``);
    the metadata DB is ready for ``dag.test()``."""
    monkeypatch.setenv(CONNECTION_ENV_VAR, exotel_simulator.connection_json())
    return exotel_simulator
