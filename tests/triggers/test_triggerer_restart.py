"""A triggerer that restarts mid-wait runs the trigger again from its serialized kwargs: no harm done.

The call is placed once by the operator; the first trigger is cancelled while the call is still in
flight (the triggerer died), a new one is built from ``serialize()`` and delivers the final outcome,
which the sensor's ``execute_complete`` turns into the same XCom value as polling would.
"""

from __future__ import annotations

import asyncio
import importlib

from exotel_provider.calls import TERMINAL_STATUSES
from exotel_provider.operators.exotel import ExotelConnectOperator
from exotel_provider.sensors.exotel import ExotelCallSensor
from exotel_provider.triggers.exotel import ExotelCallTrigger
from exotel_provider.watching.registry import active_watchers
from tests.support.clock import VirtualClock, watchers_on
from tests.support.task_doubles import RecordingTaskInstance
from tests.support.trigger_helpers import first_event, number, wait_until


def rebuilt(trigger: ExotelCallTrigger) -> ExotelCallTrigger:
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)(**kwargs)


async def test_trigger_run_again_after_a_triggerer_restart_neither_redials_nor_loses_the_call(
    frozen_simulator,
):
    customer = number(7)
    frozen_simulator.script(customer, outcome="no-answer")
    sid = ExotelConnectOperator(
        task_id="place_call", from_number=customer, app_id=926, caller_id="08047112345"
    ).execute({"ti": RecordingTaskInstance()})

    clock = VirtualClock(1000)
    with watchers_on(clock):
        original = ExotelCallTrigger(sid, deadline=clock.now() + 7200, poll_interval=30.0)
        first_run = asyncio.ensure_future(first_event(original))
        await wait_until(lambda: len(active_watchers()) == 1)
        first_run.cancel()  # the triggerer process died mid-wait
        await asyncio.gather(first_run, return_exceptions=True)
        assert active_watchers() == []

        frozen_simulator.advance(1000)  # meanwhile the call ended and was priced
        event = await first_event(rebuilt(original))

    assert event["status"] == "final" and event["call_sid"] == sid
    assert len(frozen_simulator.placed_calls(customer)) == 1
    sensor = ExotelCallSensor(task_id="wait", call_sid=sid, success_statuses=TERMINAL_STATUSES)
    details = sensor.execute_complete({"ti": RecordingTaskInstance()}, event)
    assert details["Sid"] == sid and details["Status"] == "no-answer"
    assert details["Price"] is not None
