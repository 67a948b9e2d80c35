"""ExotelCallNotifier: phone someone (an on-call engineer) when a task or a DAG run fails, once per incident.

**Why Airflow Variables hold the claims.** Each worker runs its own tasks' failure callbacks, the
dag-processor runs the DAG's, the triggerer runs Deadline Alerts, and in Airflow 3 none of them may touch
the metadata database: they reach Airflow only through its execution API. Variables are the one store all
three can read and write there (XCom is written only by the owning task, ``task_state_store`` belongs to
one task instance, the asset state store needs an asset). Exotel cannot be the shared state either: its
listing shows a call only once it has ended, so a second callback a minute later would not see the first
call. A Variable write is a last-writer-wins upsert with no create-if-absent, so the claim is
write-then-read-back (:mod:`exotel_provider.paging.incidents`), and a file lock serialises the callbacks of
one machine. Residual window: two machines whose callbacks race and one of which stalls for more than
``settle_seconds`` between reading the empty key and writing its claim can both call.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseNotifier, Context

from exotel_provider.calls.connect_request import MAX_CUSTOM_FIELD_LENGTH
from exotel_provider.errors import ExotelAPIError, ExotelError, ExotelUnreachableError
from exotel_provider.hooks.exotel import ExotelHook, settings_for_connection
from exotel_provider.notifications.incident_claims import IncidentClaims
from exotel_provider.paging.escalation import (
    DEFAULT_ESCALATION_POLL_SECONDS,
    DEFAULT_ESCALATION_TIMEOUT,
)
from exotel_provider.paging.incidents import (
    DEFAULT_SETTLE_SECONDS,
    ClaimStore,
    Incident,
    PagePer,
)

if TYPE_CHECKING:
    from exotel_provider.calls.connect_request import ConnectRequest
    from exotel_provider.client.settings import ExotelSettings
    from exotel_provider.paging.escalation import EscalationChain


class ExotelCallNotifier(IncidentClaims, BaseNotifier):
    """Call ``to_number`` and connect it to a call flow (a "pipeline failed" message), once per incident.

    Use it as a callback in any DAG::

        on_failure_callback=ExotelCallNotifier(to_number="+919876500099", app_id="927")

    on the DAG, on tasks, or as a Deadline Alert's ``AsyncCallback`` (it runs in the triggerer then).
    The flow receives ``custom_field``, by default ``"<dag_id>/<task_id> failed"`` (task callbacks) or
    ``"<dag_id> failed"`` (DAG callbacks), so a Passthru applet can read out what broke.

    :param to_number: the number to call (E.164 or Indian national form).
    :param app_id: the call flow to connect the call to; or give ``url``.
    :param url: the flow URL itself.
    :param caller_id: the ExoPhone to call from; defaults to the connection's ``extra.caller_id``.
    :param custom_field: passed to the flow (templated, at most 128 characters).
    :param time_limit: cut the call after this many seconds.
    :param exotel_conn_id: the Exotel connection.
    :param per: ``"run"`` (default): one call per failed DAG run, however many tasks, map indexes and
        processes report it; ``"task"``: one per failed task of a run; ``"every"``: every callback calls.
    :param min_interval: a cooldown: at most one call per DAG (per DAG and task with ``per="task"``) in
        this many seconds (or a ``timedelta``), so a flapping DAG does not call every few minutes.
    :param escalate_to: numbers to call one after another while the previous call ends busy, unanswered
        or failed (judged like the sensor judges a call). Without it the call is placed, not waited for.
    :param escalation_timeout: seconds the whole escalation chain may take.
    :param escalation_poll_interval: seconds between looks at a call of the chain.
    :param settle_seconds: how long a claim waits before reading itself back (the race window).
    :param claim_store: where claims live; default: Airflow Variables (``exotel_page.*``).
    """

    template_fields: Sequence[str] = (
        "to_number",
        "app_id",
        "url",
        "caller_id",
        "custom_field",
        "exotel_conn_id",
        "escalate_to",
    )

    def __init__(
        self,
        *,
        to_number: str,
        app_id: str | int | None = None,
        url: str | None = None,
        caller_id: str | None = None,
        custom_field: str | None = None,
        time_limit: int | None = 120,
        exotel_conn_id: str = ExotelHook.default_conn_name,
        per: PagePer = "run",
        min_interval: float | datetime.timedelta | None = None,
        escalate_to: Sequence[str] = (),
        escalation_timeout: float = DEFAULT_ESCALATION_TIMEOUT,
        escalation_poll_interval: float = DEFAULT_ESCALATION_POLL_SECONDS,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
        claim_store: ClaimStore | None = None,
        context: Context | None = None,
    ) -> None:
        super().__init__(context)
        self.set_claim_options(
            per=per, min_interval=min_interval, settle_seconds=settle_seconds, claim_store=claim_store
        )
        self.to_number = to_number
        self.app_id = app_id
        self.url = url
        self.caller_id = caller_id
        self.custom_field = custom_field
        self.time_limit = time_limit
        self.exotel_conn_id = exotel_conn_id
        self.escalate_to = list(escalate_to)
        self.escalation_timeout = escalation_timeout
        self.escalation_poll_interval = escalation_poll_interval
        self._placed_sids: list[str] = []  # the calls this callback placed (a refused first call: none)

    @cached_property
    def hook(self) -> ExotelHook:
        """A hook for the notifier's connection."""
        return ExotelHook(self.exotel_conn_id)

    # --- the two ways Airflow runs a notifier ------------------------------------------------------

    def notify(self, context: Context) -> None:
        """In a worker (task callbacks) or the dag-processor (DAG callbacks)."""
        requests = self._connect_requests(self.hook.settings, context)  # bad input fails before anything
        page = self.claim_incident(context)
        if not page.won:
            self.log.info("Exotel: no call, %s", page.reason)
            return
        self._placed_sids = []
        try:
            if len(requests) == 1:
                self._log_call(self.hook.place_call(requests[0]))
            else:
                self._log_chain(self._escalate(requests))
        except ExotelError as err:
            if self._nothing_placed(err):
                page.release()
            raise

    async def async_notify(self, context: Context) -> None:
        """In the triggerer (Deadline Alerts): the connection and Exotel are reached asynchronously."""
        from exotel_provider.client.async_client import ExotelAsyncClient

        settings = await settings_for_connection(self.exotel_conn_id)
        requests = self._connect_requests(settings, context)
        # Variables: a sync SDK call, off the loop
        page = await asyncio.to_thread(self.claim_incident, context)
        if not page.won:
            self.log.info("Exotel: no call, %s", page.reason)
            return
        self._placed_sids = []
        try:
            async with ExotelAsyncClient(settings) as client:
                if len(requests) == 1:
                    self._log_call(await client.place_call(requests[0]))
                else:
                    self._log_chain(await self._aescalate(client, requests))
        except ExotelError as err:
            if self._nothing_placed(err):
                await asyncio.to_thread(page.release)
            raise

    # --- steps -------------------------------------------------------------------------------------

    def _connect_requests(self, settings: ExotelSettings, context: Context) -> list[ConnectRequest]:
        """One validated request per number of the chain (no network)."""
        from exotel_provider.calls.connect_request import build_connect_request

        return [
            build_connect_request(
                account_sid=settings.account_sid,
                caller_id=self.caller_id or settings.caller_id,
                from_number=number,
                app_id=self.app_id or None,
                url=self.url or None,
                custom_field=self.custom_field or failure_description(context),
                time_limit=self.time_limit,
            )
            for number in [self.to_number, *self.escalate_to]
        ]

    def _chain(self, requests: list[ConnectRequest]) -> EscalationChain:
        import time

        from exotel_provider.paging.escalation import EscalationChain

        return EscalationChain(
            [r.from_number for r in requests], deadline=time.time() + self.escalation_timeout
        )

    def _escalate(self, requests: list[ConnectRequest]) -> EscalationChain:
        from exotel_provider.paging.escalation import run_chain

        by_number = {request.from_number: request for request in requests}
        return run_chain(
            self._chain(requests),
            place=lambda number: self._log_call(self.hook.place_call(by_number[number])),
            read=self.hook.get_call,
            poll_seconds=self.escalation_poll_interval,
        )

    async def _aescalate(self, client: Any, requests: list[ConnectRequest]) -> EscalationChain:
        from exotel_provider.paging.escalation import arun_chain

        by_number = {request.from_number: request for request in requests}

        async def place(number: str) -> Any:
            return self._log_call(await client.place_call(by_number[number]))

        return await arun_chain(
            self._chain(requests),
            place=place,
            read=client.get_call,
            poll_seconds=self.escalation_poll_interval,
        )

    def _nothing_placed(self, error: ExotelError) -> bool:
        """Exotel refused the first call (an HTTP error answer), or was never reached (no connection):
        no call exists, so a later callback may try again. After a lost answer (the request reached
        Exotel: the call may exist) or a placed call the claim is kept."""
        return not self._placed_sids and isinstance(error, (ExotelAPIError, ExotelUnreachableError))

    def _log_call(self, call: Any) -> Any:
        from exotel_provider.calls.numbers import mask_number

        self._placed_sids.append(call.sid)
        self.log.info("Exotel: called %s about the failure (call %s)", mask_number(call.from_), call.sid)
        return call

    def _log_chain(self, chain: EscalationChain) -> None:
        steps = ", ".join(f"{call.sid} {call.raw_status}" for call in chain.calls)
        self.log.info("Exotel: escalation %s: %s", chain.outcome, steps)


def incident_from_context(context: Context | dict[str, Any]) -> Incident | None:
    """The (dag_id, run_id, task_id) a callback reports; the task is None for a DAG-level callback."""
    dag_run = context.get("dag_run")
    dag_id = _field(context.get("dag"), "dag_id") or _field(dag_run, "dag_id")
    run_id = _field(dag_run, "run_id") or _field(dag_run, "dag_run_id") or context.get("run_id")
    if not dag_id:
        return None
    return Incident(str(dag_id), str(run_id or ""), _failed_task_id(context))


def _field(source: Any, name: str) -> Any:
    """A field of a context object, or of its JSON form (Deadline Alerts get the run as a dict)."""
    return source.get(name) if isinstance(source, dict) else getattr(source, name, None)


def _failed_task_id(context: Context | dict[str, Any]) -> str | None:
    """A DAG callback's context says why the run ended (``reason``) and may carry *some* task instance
    of the run, not necessarily the one that failed, so it names no task."""
    ti = None if "reason" in context else context.get("ti") or context.get("task_instance")
    return getattr(ti, "task_id", None)


def failure_description(context: Context | dict[str, Any]) -> str:
    """``"<dag_id>/<task_id> failed"`` for a task callback, ``"<dag_id> failed"`` for a DAG callback."""
    incident = incident_from_context(context)
    dag_id = incident.dag_id if incident else "a DAG"
    task_id = incident.task_id if incident else None
    text = f"{dag_id}/{task_id} failed" if task_id else f"{dag_id} failed"
    return text[:MAX_CUSTOM_FIELD_LENGTH]


send_exotel_call = ExotelCallNotifier
"""The function-style name other providers use for their notifiers (``send_slack_notification``)."""
