"""Reminder calls, the smallest complete example: place, wait for outcome and price, summarise.

One call per reminder (dynamic task mapping), one sensor per call that waits until Exotel has the
call's final status *and* its price, then a per-call outcome table. Busy and unanswered calls are
reported, not failed (``success_statuses=TERMINAL_STATUSES``).

Run it offline against the local Exotel simulator: ``make demo``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, task

from exotel_provider.calls import TERMINAL_STATUSES, mask_number
from exotel_provider.operators.exotel import ExotelConnectOperator
from exotel_provider.sensors.exotel import ExotelCallSensor

REMINDER_NUMBERS = ["+919876500001", "+919876500002", "+919876500003", "+919876500004"]
REMINDER_FLOW_APP_ID = "926"
EXOPHONE = "08047112345"

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
        map_index_template="{{ task.from_number[:3] }}XXXXXX{{ task.from_number[-4:] }}",
    ).expand(from_number=REMINDER_NUMBERS)

    wait_for_calls = ExotelCallSensor.partial(
        task_id="wait_for_call",
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
        """Print a per-call outcome table and return totals (also in XCom)."""
        calls = [calls[index] for index in range(len(calls))]  # one lookup per mapped sensor
        header = f"{'call':<10}{'number':<14}{'status':<11}{'duration s':>11}{'price':>7}"
        lines = [header, "-" * len(header)]
        for call in calls:
            duration = "-" if call["Duration"] is None else call["Duration"]
            price = "-" if call["Price"] is None else call["Price"]
            lines.append(
                f"{call['Sid'][:8]:<10}{mask_number(call['From']):<14}{call['Status']:<11}{duration:>11}{price:>7}"
            )
        total = sum(call["Price"] or 0 for call in calls)
        lines.append(
            f"{len(calls)} calls, {sum(c['Status'] == 'completed' for c in calls)} answered, "
            f"total cost {total:.2f}"
        )
        print("\n".join(lines))
        return {
            "calls": len(calls),
            "answered": sum(call["Status"] == "completed" for call in calls),
            "total_price": total,
            "outcomes": {call["Sid"]: call["Status"] for call in calls},
        }

    summarise(wait_for_calls.output)
