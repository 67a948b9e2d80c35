"""Daily reminder calls at 10:00 India time, from a SQL database, with one redial for busy and unanswered.

1. ``read_due_reminders`` reads the day's reminders from the ``reminders`` table of the
   ``exotel_reminders_db`` connection (any common-sql database; SQLite by default) and the day's call
   ledger, ``reminder_calls`` (created, or migrated, if needed), and leaves out everyone whose call is
   settled. The day is the run's logical date in India time, or the ``due_date`` param.
2. ``call`` (``ExotelCampaignOperator``) places those calls, paced within the Exotel connection's
   request budget, and waits for all of them in one deferral. Each call is in the ledger *before* it
   is placed and gets its Sid the moment Exotel answers, then its outcome.
3. ``plan_redials`` sees which calls were busy or not answered (never anyone who answered);
   ``wait_before_redial`` waits ``redial_after_minutes``; ``pick_redials`` reads the reminders again
   (a reminder deleted or re-numbered meanwhile is not redialled at its old number) and ``redial``
   calls those people once more.
4. ``report`` writes the day's summary to XCom and an HTML report with a PNG chart (the day's calls
   over time against the request budget, outcomes stacked, and the cost so far) to ``$EXOTEL_REPORTS_DIR`` (any ``ObjectStoragePath``; default
   ``$AIRFLOW_HOME/exotel_reports``) from the ledger, so every call placed counts, even when something
   failed; ``check_day`` then makes the run red if a step failed or a reminder was not reached
   (refused by Exotel, e.g. DND; invalid; outcome unknown; never placed).

A second run of the same day, a cleared run, a retry or a run after a red day calls nobody already
called: it reads the ledger first, watches the calls that have a Sid, looks for the call of a lost
answer from the moment its request was sent, and dials only those never placed. One phone due twice
on a day is called once.

Whom it may dial: never a number in the ``do_not_call`` table of the reminders database (a number
Exotel refuses as DND is added to it), at most 2 calls to one phone a day and 6 in 7 days (counted
from the ledger, whatever the reminder or run), and mobiles only (``EXOTEL_MOBILE_ONLY=false`` dials
landlines too). A reminder a rule keeps back is "not called" with the reason.

No task logs a phone number: the tasks that return reminders or calls (which carry numbers, for the
next task) do not log their return value.
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
from exotel_provider.calls.calling_hours import DEFAULT_CALLING_HOURS, CallingHours
from exotel_provider.campaigns import reminders as store
from exotel_provider.operators.campaign import ExotelCampaignOperator
from exotel_provider.operators.exotel import DEFAULT_RECONCILE_TIMEOUT

EXOPHONE = "08047112345"
POLL_SECONDS = float(os.environ.get("EXOTEL_POLL_SECONDS", DEFAULT_POLL_INTERVAL_SECONDS))
"""How often a call's status is checked (the local demo and the tests use a few seconds)."""
RECONCILE_SECONDS = float(os.environ.get("EXOTEL_RECONCILE_SECONDS", DEFAULT_RECONCILE_TIMEOUT))
"""How long a lost placing answer is looked for before that reminder fails safe (the local Airflow:
a minute)."""
RETRY_DELAY_SECONDS = float(os.environ.get("EXOTEL_RETRY_DELAY_SECONDS", "30"))
"""Wait before a campaign task's retry (the tests use a fraction of a second)."""
REDIAL_AFTER_MINUTES = float(os.environ.get("EXOTEL_REDIAL_AFTER_MINUTES", "30"))
"""Default wait before a redial (the tests use a fraction of a minute)."""
CALLING_HOURS = os.environ.get("EXOTEL_CALLING_HOURS", DEFAULT_CALLING_HOURS)
"""When customers may be called, India time (RBI: 08:00-19:00 for calls about overdue loans);
``EXOTEL_CALLING_HOURS``, e.g. ``08:00-19:00`` or ``09:00-18:00 mon-sat``."""
CAMPAIGN = {
    "caller_id": EXOPHONE,
    "time_limit": 300,
    "poll_interval": POLL_SECONDS,
    "reconcile_timeout": RECONCILE_SECONDS,
    "max_calls_in_flight": 500,
    "calling_hours": CALLING_HOURS,  # at the window's end a campaign waits (deferred) for the next one
    "retries": 2,  # a retry resumes the campaign: nobody already called is called again
    "retry_delay": datetime.timedelta(seconds=RETRY_DELAY_SECONDS),
    "do_not_call": "do_not_call",  # the table in the reminders database
    "max_calls_per_person": 2,  # a day: the first call and one redial
    "max_calls_per_week": 6,  # today and the six days before
    "mobile_only": os.environ.get("EXOTEL_MOBILE_ONLY", "true").lower() != "false",
}
SMS_FOLLOW_UP = os.environ.get("EXOTEL_SMS_FOLLOW_UP", "true").lower() != "false"
"""Send one SMS to each reminder whose calls ended unanswered after the redial (``EXOTEL_SMS_FOLLOW_UP``)."""
SMS_TEMPLATE = {
    "sender": os.environ.get("EXOTEL_SMS_SENDER", "EXOTEL"),
    "dlt_entity_id": os.environ.get("EXOTEL_SMS_DLT_ENTITY_ID", "1101456789012345678"),
    "dlt_template_id": os.environ.get("EXOTEL_SMS_DLT_TEMPLATE_ID", "1107161234567890123"),
    **({"body": os.environ["EXOTEL_SMS_BODY"]} if os.environ.get("EXOTEL_SMS_BODY") else {}),
}
"""The follow-up SMS: an approved sender ID, the DLT entity and template ids, and the template's
text (``EXOTEL_SMS_BODY``, ``{customer}``, ``{due_date}``, ``{reminder_id}`` filled in). The defaults
are examples: use your own registered ones."""
SHOWS_NO_NUMBERS = {"show_return_value_in_logs": False}
"""For tasks whose return value carries phone numbers: XCom keeps it, the task log does not show it."""


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


def settled_ledger(day: str) -> list[dict[str, Any]]:
    """The day's ledger rows, the calls placed but never seen to end completed from Exotel first
    (a run that stopped part-way still reports every call it placed, and its cost)."""
    from exotel_provider.campaigns.ledger import settle_placed
    from exotel_provider.campaigns.ledger_sql import SqlCallLedger
    from exotel_provider.errors import ExotelError
    from exotel_provider.hooks.exotel import ExotelHook

    db = reminders_db()
    ledger = SqlCallLedger(db, day=day)
    try:
        settle_placed(ledger, ExotelHook().get_ended_calls)
    except ExotelError as err:
        print(f"Could not read the final outcome of calls placed but not seen to end: {err}")
    finally:
        ledger.close()
    return store.recorded_calls(db, day)


def settled_sms(day: str) -> dict[str, Any]:
    """The day's SMS count and cost for the summary, their final status and price read first."""
    from exotel_provider.campaigns.sms_follow_up import SqlSmsBook, settle_sms, sms_summary
    from exotel_provider.errors import ExotelError
    from exotel_provider.hooks.exotel import ExotelHook

    book = SqlSmsBook(reminders_db(), day=day)
    try:
        settle_sms(book, ExotelHook().get_sms)
    except ExotelError as err:
        print(f"Could not read the final status of the day's SMS: {err}")
    finally:
        book.close()
    return sms_summary(book.rows().values())


def calling_window() -> Any:
    """``EXOTEL_CALLING_HOURS`` in India time (None: any hour)."""
    from zoneinfo import ZoneInfo

    from exotel_provider.calls.calling_hours import CallingWindow

    hours = CallingHours.parse(CALLING_HOURS)
    return CallingWindow(hours, ZoneInfo("Asia/Kolkata")) if hours is not None else None


def request_budget() -> int | None:
    """The Exotel connection's requests a minute, drawn on the report's chart (None if unreadable)."""
    from exotel_provider.errors import ExotelError
    from exotel_provider.hooks.exotel import ExotelHook

    try:
        return ExotelHook().settings.requests_per_minute
    except (ExotelError, AirflowNotFoundException):
        return None


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

    def ledger(day: Any, attempt: int) -> dict[str, Any]:
        """Where a campaign records its calls: the day's ledger in the reminders database."""
        return {"conn_id": store.REMINDERS_CONN_ID, "day": day, "attempt": attempt}

    @task(multiple_outputs=True, **SHOWS_NO_NUMBERS)
    def read_due_reminders(params: dict[str, Any], dag_run: Any = None) -> dict[str, Any]:
        """The day, its reminders, and the calls to make: everyone due whose call is not settled."""
        day = store.india_day(params.get("due_date"), dag_run.logical_date, dag_run.run_after)
        db = reminders_db()
        store.ensure_calls_table(db)
        due, recorded = store.due_reminders(db, day), store.recorded_calls(db, day)
        calls = store.first_calls(due, recorded)
        print(
            f"{len(due)} reminders due on {day}; {len(calls)} to call or settle ({len(due) - len(calls)} done)"
        )
        return {"day": day, "reminders": due, "calls": calls}

    @task
    def plan_redials(day: str, params: dict[str, Any]) -> str:
        """When to redial: after ``redial_after_minutes`` if a first call was busy or not answered."""
        db = reminders_db()
        calls = store.redial_calls(store.due_reminders(db, day), store.recorded_calls(db, day))
        delay = datetime.timedelta(minutes=float(params["redial_after_minutes"]) if calls else 0)
        print(f"{len(calls)} reminders to redial in {delay}")
        return (pendulum.now("UTC") + delay).isoformat()

    @task(**SHOWS_NO_NUMBERS)
    def pick_redials(day: str) -> list[dict[str, Any]]:
        """The redials, from the reminders as they are now (after the wait) and the ledger."""
        db = reminders_db()
        calls = store.redial_calls(store.due_reminders(db, day), store.recorded_calls(db, day))
        print(f"Redialling {len(calls)} reminders")
        return calls

    plan = read_due_reminders()
    call = ExotelCampaignOperator(
        task_id="call", calls=plan["calls"], ledger=ledger(plan["day"], 1), **CAMPAIGN
    )
    redial_at = plan_redials(plan["day"])
    wait_before_redial = DateTimeSensor(
        task_id="wait_before_redial",  # gives busy people time to finish their other call
        target_time=redial_at,
        mode="reschedule",
        poke_interval=POLL_SECONDS,
        retries=2,  # it only reads the clock: a retry is safe (and absorbs the scheduler's requeue race)
        retry_delay=datetime.timedelta(seconds=RETRY_DELAY_SECONDS),
    )
    redials = pick_redials(plan["day"])
    redial = ExotelCampaignOperator(
        task_id="redial", calls=redials, ledger=ledger(plan["day"], 2), **CAMPAIGN
    )
    call >> redial_at
    wait_before_redial >> redials

    @task(trigger_rule="all_done")
    def report(
        day: str | None, reminders: list[dict[str, str]] | None, run_id: str | None = None
    ) -> dict[str, Any]:
        """The day's summary (XCom: totals, no row per call) and report (HTML + PNG, a row per call) from
        the ledger, whatever failed before it."""
        from exotel_provider.campaigns import summarise_attempts
        from exotel_provider.campaigns.report_files import write_report
        from exotel_provider.campaigns.sms_follow_up import sms_summary

        rows = settled_ledger(day) if day else []
        summary = summarise_attempts(store.day_attempts(reminders or [], rows))
        summary.update(settled_sms(day) if day else sms_summary([]))
        summary.update(day=day, not_attempted=len(store.not_reached(reminders or [], rows)))
        name = f"reminders-{day or 'unknown-day'}-{run_id}".replace(":", "_").replace("+", "_")
        title = f"Reminder calls, {day}" if day else "Reminder calls: reading the reminders failed"
        page, chart = write_report(
            reports_folder(),
            name,
            summary,
            rows,
            title=title,
            budget_per_minute=request_budget(),
            calling_hours=CallingHours.parse(CALLING_HOURS),
        )
        summary.update(report_path=str(page), chart_path=str(chart))
        print(
            f"{summary['entries']} reminders: {summary['answered']} answered, {summary['not_answered']} not "
            f"answered, {summary['failed']} failed; {summary['calls']} calls cost {summary['total_cost']:.2f}; "
            f"{summary['sms_sent']} SMS cost {summary['sms_cost']:.2f}"
        )
        print(f"Report: {page}")
        del summary["per_call"]  # a row per call is the page's: 2 MB of XCom for 10,000 calls
        return summary

    @task
    def check_day(summary: dict[str, Any]) -> None:
        """Red when a reminder was not reached (every failed step upstream is red already); one a calling
        rule kept back (do-not-call, a cap...) was handled as the rules say and is counted in the report."""
        if summary["not_attempted"]:
            raise AirflowFailException(
                f"{summary['not_attempted']} reminders were not reached (refused by Exotel, invalid "
                f"number, outcome unknown, or never placed); see the report: {summary['report_path']}"
            )

    @task
    def sms_follow_up(day: str) -> dict[str, int]:
        """One SMS to each reminder whose calls ended unanswered after the redial, within calling hours;
        recorded in ``reminder_sms`` before it is sent, so no run of the day sends a second one."""
        from exotel_provider.campaigns import sms_follow_up as follow_up
        from exotel_provider.hooks.exotel import ExotelHook

        db = reminders_db()
        reminders = follow_up.unanswered_reminders(
            store.due_reminders(db, day), store.recorded_calls(db, day)
        )
        if not SMS_FOLLOW_UP:
            print(f"SMS follow-up off (EXOTEL_SMS_FOLLOW_UP=false): {len(reminders)} unanswered reminders")
            return {}
        book, hook = follow_up.SqlSmsBook(db, day=day), ExotelHook()
        try:
            states = follow_up.send_follow_ups(
                book,
                reminders,
                template=follow_up.SmsTemplate(**SMS_TEMPLATE),
                send=hook.send_sms,
                send_bulk=hook.send_sms_bulk,  # up to 100 SMS a request
                window=calling_window(),
            )
        finally:
            book.close()
        print(f"{len(reminders)} reminders unanswered after the redial; SMS of the day by state: {states}")
        return states

    follow_ups = sms_follow_up(plan["day"])
    redial >> follow_ups
    summary = report(plan["day"], plan["reminders"])
    [call, redial, follow_ups] >> summary
    [redial, summary] >> check_day(summary)
