"""Fixtures and the end-of-run counts of the reliability tests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from exotel_provider.client import request_budget, retry_policy, sync_client
from tests.support.simulated_tasks import COUNTS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if COUNTS:
        terminalreporter.write_sep("-", "reliability counts")
        terminalreporter.write_line(json.dumps(dict(sorted(COUNTS.items()))))


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Client retries without real waiting (Retry-After is capped by max_retry_after), and the request
    budget's pause after a 429 without ``Retry-After`` (5 s) as short (tests/client proves its length)."""
    monkeypatch.setattr(request_budget, "DEFAULT_PAUSE_AFTER_429_SECONDS", 0.02)
    monkeypatch.setattr(
        sync_client,
        "RetryPolicy",
        lambda: retry_policy.RetryPolicy(
            max_attempts=4, initial_wait=0.01, max_wait=0.02, max_retry_after=0.02
        ),
    )
