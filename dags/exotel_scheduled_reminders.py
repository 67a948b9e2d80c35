"""Daily reminder calls at 10:00 India time, from a SQL database, with one redial for busy and unanswered.

1. ``read_due_reminders`` reads the day's reminders from the ``reminders`` table of the
   ``exotel_reminders_db`` connection (any common-sql database; SQLite by default) and leaves out
   anyone already called that day (``reminder_calls``). The day is the run's logical date in India
   time, or the ``due_date`` param.
2. ``call`` (``ExotelCampaignOperator``) places all those calls, paced within the Exotel
   connection's request budget, and waits for all of them in one deferral; ``record_calls`` writes
   one ``reminder_calls`` row per call placed.
3. ``plan_redials`` picks the calls that were busy or not answered (never anyone who answered);
   ``wait_before_redial`` waits ``redial_after_minutes``; ``redial`` / ``record_redials`` call those
   people once more.
4. ``report`` writes the day's summary to XCom and an HTML report with a PNG chart (outcomes and cost
   per hour) to ``$EXOTEL_REPORTS_DIR`` (any ``ObjectStoragePath``; default
   ``$AIRFLOW_HOME/exotel_reports``), even when something failed; ``check_day`` then makes the run red
   if a step failed or a reminder could not be attempted (refused by Exotel, e.g. DND; invalid).

A second run of the same day, a cleared task or a retry calls nobody already called: the
``reminder_calls`` rows and, for calls in flight, the campaign's task_state_store keep the record.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

import pendulum
from airflow.providers.standard.sensors.date_time import DateTimeSensor
from airflow.sdk import DAG, BaseHook, ObjectStoragePath, Param, task

from exotel_provider.airflow_compat import AirflowFailException, AirflowNotFoundException
from exotel_provider.calls import DEFAULT_POLL_INTERVAL_SECONDS
from exotel_provider.campaigns import reminders as store
from exotel_provider.campaigns.outcomes import was_attempted
from exotel_provider.operators.campaign import ExotelCampaignOperator
from exotel_provider.operators.exotel import DEFAULT_RECONCILE_TIMEOUT

EXOPHONE = "08047112345"
POLL_SECONDS = float(os.environ.get("EXOTEL_POLL_SECONDS", DEFAULT_POLL_INTERVAL_SECONDS))
"""How often a call's status is checked (the local demo and the tests use a few seconds)."""
RECONCILE_SECONDS = float(os.environ.get("EXOTEL_RECONCILE_SECONDS", DEFAULT_RECONCILE_TIMEOUT))
"""How long a lost placing answer is looked for before that reminder fails safe (the local Airflow:
a minute)."""
REDIAL_AFTER_MINUTES = float(os.environ.get("EXOTEL_REDIAL_AFTER_MINUTES", "30"))
"""Default wait before a redial (the tests use a fraction of a minute)."""
CAMPAIGN = {
    "caller_id": EXOPHONE,
    "time_limit": 300,
    "poll_interval": POLL_SECONDS,
    "reconcile_timeout": RECONCILE_SECONDS,
    "max_calls_in_flight": 500,
    "retries": 2,  # a retry resumes the campaign: nobody already called is called again
    "retry_delay": datetime.timedelta(seconds=30),
}


def reminders_db() -> Any:
    """The common-sql hook of the ``exotel_reminders_db`` connection (no fallback to sample data)."""
    try:
        connection = BaseHook.get_connection(store.REMINDERS_CONN_ID)
    except AirflowNotFoundException:
        raise AirflowFailException(
            f"No Airflow connection {store.REMINDERS_CONN_ID!r}. Create one for the database that holds "
            "the reminders table, e.g. SQLite: airflow connections add exotel_reminders_db "
            "--conn-type sqlite --conn-host /path/to/reminders.db (or set "
            "AIRFLOW_CONN_EXOTEL_REMINDERS_DB=sqlite:///path/to/reminders.db)."
        ) from None
    return connection.get_hook()


def reports_folder() -> ObjectStoragePath:
    """``$EXOTEL_REPORTS_DIR`` (a local folder or an object-storage URL), else ``$AIRFLOW_HOME/exotel_reports``."""
    home = os.path.expanduser(os.environ.get("AIRFLOW_HOME", "~/airflow"))
    folder = os.environ.get("EXOTEL_REPORTS_DIR") or os.path.join(home, "exotel_reports")
    return ObjectStoragePath(folder if "://" in folder else f"file://{os.path.abspath(folder)}")


with DAG(
    dag_id="exotel_scheduled_reminders",
    schedule="0 10 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Kolkata"),
    catchup=False,
    max_active_runs=1,
    params={
        "due_date": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Due date",
            description="Call the reminders due on this day (YYYY-MM-DD). Empty: the run's date in India time.",
        ),
        "redial_after_minutes": Param(
            REDIAL_AFTER_MINUTES,
            type="number",
            minimum=0,
            maximum=600,
            title="Redial after (minutes)",
            description="How long to wait before calling busy / unanswered numbers once more.",
        ),
    },
    tags=["exotel", "example"],
    doc_md=__doc__,
) as dag:

    @task(multiple_outputs=True)
    def read_due_reminders(params: dict[str, Any], dag_run: Any = None) -> dict[str, Any]:
        """The day, its reminders, and the calls to place: everyone due and not called yet that day."""
        day = store.india_day(params.get("due_date"), dag_run.logical_date, dag_run.run_after)
        db = reminders_db()
        store.ensure_calls_table(db)
        due, recorded = store.due_reminders(db, day), store.recorded_calls(db, day)
        calls = store.first_calls(due, recorded)
        print(
            f"{len(due)} reminders due on {day}; {len(calls)} to call ({len(due) - len(calls)} already called)"
        )
        return {"day": day, "reminders": due, "calls": calls}

    @task
    def record_calls(day: str, outcomes: list[dict[str, Any]] | None, attempt: int) -> int:
        """One reminder_calls row per placed call of this attempt."""
        recorded = store.record_calls(reminders_db(), day, attempt, outcomes or [])
        print(f"Recorded {recorded} calls (attempt {attempt}) for {day}")
        return recorded

    @task(multiple_outputs=True)
    def plan_redials(day: str, reminders: list[dict[str, str]], params: dict[str, Any]) -> dict[str, Any]:
        """Busy and unanswered first calls of the day not redialled yet, and when to redial them."""
        calls = store.redial_calls(reminders, store.recorded_calls(reminders_db(), day))
        delay = datetime.timedelta(minutes=float(params["redial_after_minutes"]) if calls else 0)
        print(f"Redialling {len(calls)} of {len(reminders)} reminders in {delay}")
        return {"calls": calls, "redial_at": (pendulum.now("UTC") + delay).isoformat()}

    plan = read_due_reminders()
    call = ExotelCampaignOperator(task_id="call", calls=plan["calls"], **CAMPAIGN)
    first_recorded = record_calls(plan["day"], call.output, 1)
    redials = plan_redials(plan["day"], plan["reminders"])
    wait_before_redial = DateTimeSensor(
        task_id="wait_before_redial",  # gives busy people time to finish their other call
        target_time=redials["redial_at"],
        mode="reschedule",
        poke_interval=POLL_SECONDS,
    )
    redial = ExotelCampaignOperator(task_id="redial", calls=redials["calls"], **CAMPAIGN)
    redials_recorded = record_calls.override(task_id="record_redials")(plan["day"], redial.output, 2)
    first_recorded >> redials >> wait_before_redial >> redial

    @task(trigger_rule="all_done")
    def report(
        day: str | None,
        reminders: list[dict[str, str]] | None,
        first: list[dict[str, Any]] | None,
        again: list[dict[str, Any]] | None,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        """The day's summary (XCom) and report (HTML + PNG), whatever failed before it."""
        from exotel_provider.campaigns import summarise_attempts
        from exotel_provider.campaigns.report_files import write_report

        rows = store.recorded_calls(reminders_db(), day) if day else []
        outcomes = [*(first or []), *({**o, "attempt": 2} for o in again or [])]
        summary = summarise_attempts(store.day_attempts(reminders or [], rows, outcomes))
        summary.update(day=day, not_attempted=sum(not was_attempted(o) for o in outcomes))
        name = f"reminders-{day or 'unknown-day'}-{run_id}".replace(":", "_").replace("+", "_")
        title = f"Reminder calls, {day}" if day else "Reminder calls: reading the reminders failed"
        page, chart = write_report(reports_folder(), name, summary, rows, title=title)
        summary.update(report_path=str(page), chart_path=str(chart))
        print(
            f"{summary['entries']} reminders: {summary['answered']} answered, {summary['not_answered']} not "
            f"answered, {summary['failed']} failed; {summary['calls']} calls cost {summary['total_cost']:.2f}"
        )
        print(f"Report: {page}")
        return summary

    @task
    def check_day(summary: dict[str, Any]) -> None:
        """Red when a reminder could not be attempted (every failed step upstream is red already)."""
        if summary["not_attempted"]:
            raise AirflowFailException(
                f"{summary['not_attempted']} reminders could not be attempted (refused by Exotel, invalid "
                f"number, or outcome unknown); see the report: {summary['report_path']}"
            )

    summary = report(plan["day"], plan["reminders"], call.output, redial.output)
    [first_recorded, redials_recorded] >> summary
    [redials_recorded, summary] >> check_day(summary)
