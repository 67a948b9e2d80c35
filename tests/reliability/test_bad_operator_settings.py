"""Bad operator settings (the task's own durations) fail when the DAG is parsed: a typed error
naming the parameter, and no request ever sent."""

from __future__ import annotations

from typing import Any

import pytest

from exotel_provider.errors import ExotelValidationError
from exotel_provider.operators.exotel import ExotelConnectOperator
from tests.support.simulated_tasks import COUNTS, CUSTOMER, EXOPHONE

pytestmark = pytest.mark.exotel_simulator(time_scale=0)

DURATIONS = ("poll_interval", "reconcile_timeout", "pricing_grace_seconds", "wait_timeout")
BAD_VALUES: list[tuple[str, Any]] = [
    ("zero", 0),
    ("negative", -5),
    ("string", "30"),
    ("boolean", True),
    ("not-a-number", float("nan")),
    ("infinite", float("inf")),
    ("list", [30]),
]


def operator(**overrides: Any) -> ExotelConnectOperator:
    params: dict[str, Any] = {"task_id": "place_call", "from_number": CUSTOMER, "app_id": 926}
    params["caller_id"] = EXOPHONE
    params.update(overrides)
    return ExotelConnectOperator(**params)


@pytest.mark.parametrize("name", DURATIONS)
@pytest.mark.parametrize(("kind", "value"), BAD_VALUES, ids=[case[0] for case in BAD_VALUES])
def test_a_bad_duration_is_refused_naming_it_before_any_request(exotel_connection_env, name, kind, value):
    with pytest.raises(ExotelValidationError) as caught:
        operator(**{name: value})

    assert caught.value.field == name and name in caught.value.fix
    assert exotel_connection_env.requests == []
    COUNTS["bad input cases"] += 1


def test_good_durations_are_kept_as_seconds():
    task = operator(poll_interval=5, reconcile_timeout=60.5, pricing_grace_seconds=1, wait_timeout=None)

    assert (task.poll_interval, task.reconcile_timeout, task.pricing_grace_seconds) == (5.0, 60.5, 1.0)
    assert task.wait_timeout is None
