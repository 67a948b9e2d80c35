"""The test layers: unit tests (no server), ``integration`` (the simulator over real HTTP) and ``e2e``.

A test that uses a simulator fixture is marked ``integration`` here; any other test that is not
marked ``integration`` or ``e2e`` and starts a simulator fails, so the unit layer stays server-free.
"""

from __future__ import annotations

import pytest

SIMULATOR_FIXTURES = frozenset({"exotel_simulator", "frozen_simulator"})
"""Fixtures that start a simulator (``exotel_connection_env`` and ``api`` build on ``exotel_simulator``)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SIMULATOR_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def unit_tests_start_no_server(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside the integration and e2e layers, starting a simulator is an error."""
    if any(request.node.get_closest_marker(layer) for layer in ("integration", "e2e")):
        return
    from exotel_provider.simulator.server import ExotelSimulator

    def refuse(self: ExotelSimulator) -> ExotelSimulator:
        raise AssertionError(
            f"{request.node.nodeid} starts an Exotel simulator: mark it integration, or test without a server"
        )

    monkeypatch.setattr(ExotelSimulator, "start", refuse)
