"""The call ledger a campaign task records its calls in, built when the task runs.

A DAG gives ``ExotelCampaignOperator(ledger=...)`` either a ledger object or a small serialisable
spec, ``{"conn_id": "exotel_reminders_db", "day": "2026-08-03", "attempt": 1}`` (its values may be
templates or an upstream task's XCom), for the SQL ledger in that common-sql connection's database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from exotel_provider.campaigns.ledger import CallLedger
from exotel_provider.campaigns.ledger_sql import LEDGER_TABLE, SqlCallLedger
from exotel_provider.task_errors import InvalidCallRequest

SPEC_FIELDS = frozenset({"conn_id", "day", "attempt", "table"})


def call_ledger(ledger: CallLedger | Mapping[str, Any] | None) -> CallLedger | None:
    """The ledger itself, the SQL ledger a spec names, or None (no ledger: the task state store)."""
    if ledger is None or not isinstance(ledger, Mapping):
        return ledger
    unknown = sorted(set(ledger) - SPEC_FIELDS)
    missing = sorted({"conn_id", "day"} - {name for name, value in ledger.items() if value})
    if unknown or missing:
        raise InvalidCallRequest(
            "ledger",
            f"unknown fields {unknown}" if unknown else f"no {', '.join(missing)}",
            'Give {"conn_id": <common-sql connection id>, "day": "YYYY-MM-DD", "attempt": 1}.',
        )
    from airflow.sdk import BaseHook

    db = BaseHook.get_connection(str(ledger["conn_id"])).get_hook()
    return SqlCallLedger(
        db, day=str(ledger["day"]), attempt=int(ledger.get("attempt") or 1),
        table=str(ledger.get("table") or LEDGER_TABLE),
    )  # fmt: skip
