"""Fixtures for the simulator's own tests: they talk to it over real HTTP with ``requests`` only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from exotel_provider.simulator import pytest_plugin
from exotel_provider.simulator.pytest_plugin import exotel_connection_env, exotel_simulator  # noqa: F401
from exotel_provider.simulator.server import ExotelSimulator
from tests.support.simulator_api import ExotelApi


def pytest_configure(config: pytest.Config) -> None:
    """Register the plugin's marker when the installed pytest11 entry point did not load it."""
    if not config.pluginmanager.hasplugin("exotel"):
        pytest_plugin.pytest_configure(config)


@pytest.fixture
def api(exotel_simulator: ExotelSimulator) -> Iterator[ExotelApi]:  # noqa: F811
    client = ExotelApi(exotel_simulator)
    yield client
    client.session.close()
