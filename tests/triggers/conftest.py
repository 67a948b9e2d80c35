"""Fixtures for trigger tests."""

from __future__ import annotations

from typing import Any

import pytest

from exotel_provider.simulator.server import ExotelSimulator


@pytest.fixture
def frozen_simulator(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """A simulator whose clock moves only with ``advance()``, as ``exotel_default``; no rate limit
    unless the test's ``exotel_simulator`` marker sets one."""
    marker = request.node.get_closest_marker("exotel_simulator")
    options: dict[str, Any] = {"time_scale": 0, "rate_limit_per_minute": None}
    if marker is not None:
        options.update(marker.kwargs)
    simulator = ExotelSimulator(**options).start()
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_DEFAULT", simulator.connection_json())
    try:
        yield simulator
    finally:
        simulator.stop(wait=False)
