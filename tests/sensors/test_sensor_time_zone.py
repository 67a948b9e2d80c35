"""The sensor reads a call's end in the connection's zone (``extra.timezone``), not always India time."""

from __future__ import annotations

import time
from datetime import tzinfo
from zoneinfo import ZoneInfo

from exotel_provider.calls.exotel_time import format_exotel_time
from exotel_provider.calls.model import Call
from exotel_provider.calls.status import CallStatus
from exotel_provider.sensors.exotel import ExotelCallSensor
from tests.support.task_doubles import DictStateStore, RecordingTaskInstance


class ZonedHook:
    """The hook's two answers the poke uses: the call, and the connection's zone."""

    def __init__(self, call: Call, time_zone: tzinfo) -> None:
        self.call, self.time_zone = call, time_zone

    def get_call(self, sid: str) -> Call:
        return self.call


def poke_ended_call(connection_zone: str) -> bool:
    """Poke a call that ended 100 s ago, unpriced, its EndTime written in UTC."""
    zone = ZoneInfo(connection_zone)
    ended = format_exotel_time(time.time() - 100, ZoneInfo("UTC"))
    call = Call(
        sid="c1", status=CallStatus.COMPLETED, raw_status="completed", end_time=ended, date_updated=ended
    )
    sensor = ExotelCallSensor(task_id="wait", call_sid="c1", pricing_grace_seconds=600)
    sensor.__dict__["hook"] = ZonedHook(call, zone)
    context = {"ti": RecordingTaskInstance(), "task_state_store": DictStateStore()}
    return sensor.poke(context).is_done  # type: ignore[arg-type]


def test_an_end_time_in_the_connections_zone_leaves_the_pricing_grace_period_running():
    assert poke_ended_call("UTC") is False  # ended 100 s ago: still waiting for its price


def test_the_same_end_time_read_in_india_time_is_hours_old():
    assert poke_ended_call("Asia/Kolkata") is True  # read 5.5 h earlier: grace period over, unpriced
