"""The local deployment's placement clock (``tools/simulated_exotel_time``) follows the simulator: it
runs at the simulator's speed and, asking its health endpoint again, follows a clock moved on by hand."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SITECUSTOMIZE = Path(__file__).resolve().parents[2] / "tools" / "simulated_exotel_time" / "sitecustomize.py"


@pytest.fixture
def deployment_clock(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.delenv("EXOTEL_SIMULATED_TIME", raising=False)
    spec = importlib.util.spec_from_file_location("deployment_sitecustomize", SITECUSTOMIZE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def simulator_time(module: ModuleType, sim, health_url: str | None) -> Any:
    """The deployment's clock, anchored where the (frozen) simulator's clock is now."""
    return module.SimulatorTime(sim.now(), time.time(), 0.0, health_url)


@pytest.mark.exotel_simulator(time_scale=0)
def test_the_clock_follows_a_jump_once_it_asks_again_and_never_goes_back(
    deployment_clock, exotel_simulator, monkeypatch
):
    sim = exotel_simulator
    health = f"{sim.base_url}/_simulator/health"
    clock = simulator_time(deployment_clock, sim, health)
    start = clock.now()

    sim.advance(13 * 3600)  # the night, skipped by hand
    assert clock.now() - start < 60  # asked again only after RESYNC_SECONDS
    monkeypatch.setattr(deployment_clock, "RESYNC_SECONDS", 0.0)
    assert clock.now() - start == pytest.approx(13 * 3600, abs=5)

    stale = simulator_time(deployment_clock, sim, None)  # no health URL: the jump is not seen
    assert stale.now() == pytest.approx(sim.now(), abs=5)
    sim.advance(600)
    assert sim.now() - stale.now() == pytest.approx(600, abs=5)


@pytest.mark.exotel_simulator(time_scale=0)
def test_an_unanswering_simulator_leaves_the_last_position(deployment_clock, exotel_simulator, monkeypatch):
    monkeypatch.setattr(deployment_clock, "RESYNC_SECONDS", 0.0)
    clock = simulator_time(deployment_clock, exotel_simulator, "http://127.0.0.1:9/_simulator/health")
    first = clock.now()
    assert clock.now() >= first
