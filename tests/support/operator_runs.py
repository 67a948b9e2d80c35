"""The operator and sensor run by hand: an ExotelConnectOperator with test defaults, a small task
context, and a sensor poked until done while the (frozen) simulator's clock is stepped."""

from __future__ import annotations

from typing import Any

from exotel_provider.operators.exotel import ExotelConnectOperator
from exotel_provider.sensors.exotel import ExotelCallSensor
from exotel_provider.simulator.server import ExotelSimulator
from tests.support.task_doubles import DictStateStore, RecordingTaskInstance

CUSTOMER = "+919876543210"
EXOPHONE = "08047112345"


def context(store: DictStateStore | None = None, try_number: int = 1, dag_run: Any = None) -> dict[str, Any]:
    """What Airflow hands ``execute``/``poke``: a task instance, and the state store / DAG run if given."""
    values: dict[str, Any] = {"ti": RecordingTaskInstance(try_number)}
    if dag_run is not None:
        values["dag_run"] = dag_run
    if store is not None:
        values["task_state_store"] = store
    return values


def operator(**overrides: Any) -> ExotelConnectOperator:
    """An operator calling CUSTOMER from EXOPHONE into flow 926, with ``overrides``."""
    params: dict[str, Any] = {
        "task_id": "place_call",
        "from_number": CUSTOMER,
        "app_id": 926,
        "caller_id": EXOPHONE,
    }
    params.update(overrides)
    return ExotelConnectOperator(**params)


def poke_until_done(
    sensor: ExotelCallSensor, ctx: dict[str, Any], simulator: ExotelSimulator, step: float = 30
) -> Any:
    """Poke, then move the simulator ``step`` seconds on, until the sensor is done; its XCom value."""
    for _ in range(40):
        result = sensor.poke(ctx)
        if result.is_done:
            return result.xcom_value
        simulator.advance(step)
    raise AssertionError("the sensor never finished")
