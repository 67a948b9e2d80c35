"""Stand-ins for the task instance and task_state_store that operators and sensors use, for tests
that call ``execute``/``poke`` directly (e.g. to replay a retry precisely)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


class RecordingTaskInstance:
    """The bits of a task instance the operator and sensor use; XCom is per try, as in Airflow."""

    def __init__(self, try_number: int = 1) -> None:
        self.try_number = try_number
        self.xcom: dict[str, Any] = {}
        self.start_date = datetime.now(UTC)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


class DictStateStore:
    """Stands in for Airflow 3.3's task_state_store: it survives retries because the test keeps it."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any, **_: Any) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)
