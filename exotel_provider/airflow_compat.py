"""The few Airflow names whose import path differs between Airflow 3.1 and 3.3."""

from __future__ import annotations

try:  # Airflow 3.2+ (task SDK 1.2+)
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
except ImportError:  # Airflow 3.1
    from airflow.exceptions import AirflowFailException, AirflowSkipException  # type: ignore[no-redef]

__all__ = ["AirflowFailException", "AirflowSkipException"]
