"""Page claims kept in Airflow Variables: the one store that workers, the dag-processor and the triggerer
can all read and write in Airflow 3 (through the execution API; no metadata-database access needed)."""

from __future__ import annotations

import sys
from typing import Any

CLAIM_DESCRIPTION = "ExotelCallNotifier: who paged about this incident (safe to delete once it is over)"


class AirflowVariableClaimStore:
    """Read, write and remove claims as Airflow Variables.

    Inside an Airflow process (task runner, dag-processor, triggerer) this goes through the Task SDK and
    the execution API; elsewhere (``dag.test()`` helpers, scripts) straight to the metadata database.
    """

    def read(self, key: str) -> str | None:
        """The Variable ``key``, or None."""
        value = self._variables().get(key, None)
        return None if value is None else str(value)

    def write(self, key: str, value: str) -> None:
        """Set the Variable ``key`` (last writer wins)."""
        self._variables().set(key, value, description=CLAIM_DESCRIPTION)

    def remove(self, key: str) -> None:
        """Delete the Variable ``key``."""
        self._variables().delete(key)

    @staticmethod
    def _variables() -> Any:
        if hasattr(sys.modules.get("airflow.sdk.execution_time.task_runner"), "SUPERVISOR_COMMS"):
            from airflow.sdk import Variable

            return Variable
        from airflow.models.variable import Variable as MetadataVariable

        return MetadataVariable
