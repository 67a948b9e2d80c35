"""Reminder calls, the smallest complete example: place, wait for outcome and price, summarise.

One call per customer (dynamic task mapping), one sensor per call that waits until Exotel has the
call's final status *and* its price, then a per-customer outcome table. Each call carries the
customer id as its ``reference``, so results are joined to customers by that key, never by map
index. Busy and unanswered calls are reported, not failed (``success_statuses=TERMINAL_STATUSES``).

Run it offline against the local Exotel simulator: ``make demo``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, task

from exotel_provider.calls import TERMINAL_STATUSES, mask_number
from exotel_provider.calls.calling_hours import DEFAULT_CALLING_HOURS
from exotel_provider.operators.exotel import ExotelConnectOperator
from exotel_provider.sensors.exotel import ExotelCallSensor

REMINDERS = [
    {"reference": "C-1001", "from_number": "+919876500001"},
    {"reference": "C-1002", "from_number": "+919876500002"},
    {"reference": "C-1003", "from_number": "+919876500003"},
    {"reference": "C-1004", "from_number": "+919876500004"},
]
REMINDER_FLOW_APP_ID = "926"
EXOPHONE = "08047112345"
CALLING_HOURS = os.environ.get("EXOTEL_CALLING_HOURS", DEFAULT_CALLING_HOURS)
"""When customers may be called, India time (RBI: 08:00-19:00 for calls about overdue loans);
``EXOTEL_CALLING_HOURS``, e.g. ``08:00-19:00`` or ``09:00-18:00 mon-sat``."""

with DAG(
    dag_id="exotel_reminder_demo",
    schedule=None,
    catchup=False,
    tags=["exotel", "example"],
    doc_md=__doc__,
) as dag:
    place_calls = ExotelConnectOperator.partial(
        task_id="place_call",
        app_id=REMINDER_FLOW_APP_ID,
        caller_id=EXOPHONE,
        time_limit=300,
        custom_field="reminder-demo",
        calling_hours=CALLING_HOURS,
        map_index_template="{{ task.reference }}",
    ).expand_kwargs(REMINDERS)

    wait_for_calls = ExotelCallSensor.partial(
        task_id="wait_for_call",
        # the reference of the call this sensor waits for: same map index as its place_call
        reference="{{ ti.xcom_pull(task_ids='place_call', key='reference', map_indexes=ti.map_index) }}",
        map_index_template="{{ task.reference }}",
        success_statuses=TERMINAL_STATUSES,
        poke_interval=2,
        pricing_grace_seconds=30,
        timeout=600,
        retries=2,  # waiting only reads: a retry is safe (and absorbs Airflow's deferral race)
        retry_delay=timedelta(seconds=10),
        mode="reschedule",
    ).expand(call_sid=place_calls.output)

    @task
    def summarise(calls: list[dict[str, Any]]) -> dict[str, Any]:
        """Print a per-customer outcome table and return the outcome per customer (also in XCom)."""
        calls = list(calls[:])  # one read of all mapped results (iterating would probe past the end)
        header = f"{'customer':<10}{'number':<15}{'status':<11}{'duration s':>11}{'price':>7}"
        lines = [header, "-" * len(header)]
        for call in sorted(calls, key=lambda call: call["reference"]):
            lines.append(
                f"{call['reference']:<10}{mask_number(call['From']):<15}{call['Status']:<11}"
                f"{call['Duration'] if call['Duration'] is not None else '-':>11}"
                f"{call['Price'] if call['Price'] is not None else '-':>7}"
            )
        total = sum(call["Price"] or 0 for call in calls)
        answered = sum(call["Status"] == "completed" for call in calls)
        lines.append(f"{len(calls)} calls, {answered} answered, total cost {total:.2f}")
        print("\n".join(lines))
        return {
            "calls": len(calls),
            "answered": answered,
            "total_price": total,
            "outcomes": {call["reference"]: call["Status"] for call in calls},
        }

    summarise(wait_for_calls.output)
