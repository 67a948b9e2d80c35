"""Running an ExotelCampaignOperator's tries by hand, as a worker and the triggerer would, against the
simulator: execute until it defers, run the trigger on the simulator's clock, then execute_complete."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from exotel_provider.simulator.server import ExotelSimulator
from tests.support.clock import VirtualClock, watchers_on
from tests.support.task_doubles import DictStateStore, RecordingTaskInstance

try:
    from airflow.sdk.exceptions import TaskDeferred
except ImportError:  # Airflow 3.1
    from airflow.exceptions import TaskDeferred  # type: ignore[no-redef]

EXOPHONE = "08047112345"


def number(index: int) -> str:
    return f"+9198765{index:05d}"


class CampaignTaskInstance(RecordingTaskInstance):
    """A task instance that can also read back its own XCom (as a resumed deferred task does)."""

    task_id = "call"
    map_index = -1

    def xcom_pull(self, task_ids: str, key: str = "return_value", map_indexes: int = -1) -> Any:
        assert (task_ids, map_indexes) == (self.task_id, self.map_index)
        return self.xcom.get(key)


def context(store: DictStateStore | None, try_number: int = 1) -> dict[str, Any]:
    context: dict[str, Any] = {"ti": CampaignTaskInstance(try_number)}
    if store is not None:
        context["task_state_store"] = store
    return context


def run_try(operator: Any, ctx: dict[str, Any], simulator: ExotelSimulator) -> list[dict[str, Any]]:
    """One try: execute; if it defers, run the trigger (on the simulator's clock) and resume."""
    try:
        return operator.execute(ctx)
    except TaskDeferred as deferred:
        event = run_trigger(deferred.trigger, simulator)
        resume = getattr(operator, deferred.method_name)
        return resume(ctx, event=event, **(deferred.kwargs or {}))


def run_to_end(operator: Any, ctx: dict[str, Any], simulator: ExotelSimulator) -> list[dict[str, Any]]:
    """Execute, then every deferral's trigger and resume (a campaign may defer more than once)."""
    step = functools.partial(operator.execute, ctx)
    while True:
        try:
            return step()
        except TaskDeferred as deferred:
            event = run_trigger(deferred.trigger, simulator)
            resume = getattr(operator, deferred.method_name)
            step = functools.partial(resume, ctx, event=event, **(deferred.kwargs or {}))


def run_trigger(trigger: Any, simulator: ExotelSimulator) -> dict[str, Any]:
    """The one event of a trigger, its watcher running on compressed time like the simulator."""

    async def first_event() -> dict[str, Any]:
        events = [event async for event in trigger.run()]
        assert len(events) == 1, events
        return dict(events[0].payload)

    scale = simulator.state.clock.time_scale or 1.0
    with watchers_on(VirtualClock(scale, start=simulator.now())):
        return asyncio.run(first_event())


def posts(simulator: ExotelSimulator) -> list[Any]:
    """The call-placing requests the simulator received (refused ones included)."""
    return [r for r in simulator.requests if r.method == "POST" and "Calls/connect" in r.path]
