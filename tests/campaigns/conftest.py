"""Fixtures for campaign tests: the simulator as ``exotel_default``, with a request budget to match."""

from __future__ import annotations

import json

import pytest

FAST_BUDGET = 6000
"""Requests a minute: the simulator (not Exotel) is the other end, so the budget may exceed 200."""


@pytest.fixture
def campaign_connection(exotel_simulator, monkeypatch):
    """``exotel_default`` pointing at the simulator, with a caller ID and a large request budget."""
    connection = exotel_simulator.connection()
    connection["extra"].update(caller_id="08047112345", requests_per_minute=FAST_BUDGET)
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_DEFAULT", json.dumps(connection))
    return exotel_simulator
