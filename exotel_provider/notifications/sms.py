"""ExotelSmsNotifier: text someone when a task or a DAG run fails, once per incident.

The same once-per-incident claims as :class:`~exotel_provider.notifications.exotel.ExotelCallNotifier`
(Airflow Variables, write-then-read-back; see that module), under keys of their own: an SMS notifier and
a call notifier on the same DAG each reach the on-call person once, the SMS typically first.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from airflow.sdk import BaseNotifier, Context

from exotel_provider.errors import ExotelAPIError, ExotelError, ExotelUnreachableError
from exotel_provider.hooks.exotel import ExotelHook, settings_for_connection
from exotel_provider.notifications.exotel import failure_description
from exotel_provider.notifications.incident_claims import IncidentClaims
from exotel_provider.paging.incidents import (
    DEFAULT_SETTLE_SECONDS,
    ClaimStore,
    PagePer,
)

if TYPE_CHECKING:
    from exotel_provider.client.settings import ExotelSettings
    from exotel_provider.sms.model import SmsMessage
    from exotel_provider.sms.send_request import SmsRequest

SMS_CLAIM_SUFFIX = ".sms"
"""Appended to the paging keys, so SMS claims never block (or are blocked by) call claims."""


class ExotelSmsNotifier(IncidentClaims, BaseNotifier):
    """Send ``body`` to ``to_number`` by SMS, once per incident::

        on_failure_callback=ExotelSmsNotifier(
            to_number="+919876500099", body="Airflow: {{ dag.dag_id }} failed",
            dlt_entity_id="1101456780000012345", dlt_template_id="1107161234567890123",
        )

    :param to_number: the mobile number (E.164 or Indian national form).
    :param body: the text (templated); by default ``"<dag_id>/<task_id> failed"``. In India it must
        match the registered DLT template.
    :param from_number: an ExoPhone or approved sender ID; defaults to the connection's ``extra.caller_id``.
    :param dlt_entity_id: the sender's DLT entity id (required for Indian numbers).
    :param dlt_template_id: the DLT template ``body`` matches (required for Indian numbers).
    :param sms_type: ``transactional``, ``transactional_opt_in`` or ``promotional``.
    :param encoding_type: ``plain`` or ``unicode``.
    :param exotel_conn_id: the Exotel connection.
    :param per: ``"run"`` (default): one SMS per failed DAG run; ``"task"``: per failed task; ``"every"``.
    :param min_interval: at most one SMS per DAG (per DAG and task with ``per="task"``) in this many seconds.
    :param settle_seconds: how long a claim waits before reading itself back.
    :param claim_store: where claims live; default: Airflow Variables.
    """

    key_suffix = SMS_CLAIM_SUFFIX
    template_fields: Sequence[str] = (
        "to_number",
        "body",
        "from_number",
        "dlt_entity_id",
        "dlt_template_id",
        "exotel_conn_id",
    )

    def __init__(
        self,
        *,
        to_number: str,
        body: str | None = None,
        from_number: str | None = None,
        dlt_entity_id: str | int | None = None,
        dlt_template_id: str | int | None = None,
        sms_type: str | None = None,
        encoding_type: str | None = None,
        exotel_conn_id: str = ExotelHook.default_conn_name,
        per: PagePer = "run",
        min_interval: float | datetime.timedelta | None = None,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
        claim_store: ClaimStore | None = None,
        context: Context | None = None,
    ) -> None:
        super().__init__(context)
        self.set_claim_options(
            per=per, min_interval=min_interval, settle_seconds=settle_seconds, claim_store=claim_store
        )
        self.to_number = to_number
        self.body = body
        self.from_number = from_number
        self.dlt_entity_id = dlt_entity_id
        self.dlt_template_id = dlt_template_id
        self.sms_type = sms_type
        self.encoding_type = encoding_type
        self.exotel_conn_id = exotel_conn_id

    @cached_property
    def hook(self) -> ExotelHook:
        """A hook for the notifier's connection."""
        return ExotelHook(self.exotel_conn_id)

    def notify(self, context: Context) -> None:
        """In a worker (task callbacks) or the dag-processor (DAG callbacks)."""
        request = self._request(self.hook.settings, context)  # bad input fails before anything
        page = self.claim_incident(context)
        if not page.won:
            self.log.info("Exotel: no SMS, %s", page.reason)
            return
        try:
            self._log_sent(self.hook.send_sms(request))
        except ExotelError as err:
            if isinstance(err, (ExotelAPIError, ExotelUnreachableError)):
                page.release()  # refused or never reached Exotel: nothing was sent
            raise

    async def async_notify(self, context: Context) -> None:
        """In the triggerer (Deadline Alerts): the connection and Exotel are reached asynchronously."""
        from exotel_provider.client.async_client import ExotelAsyncClient

        settings = await settings_for_connection(self.exotel_conn_id)
        request = self._request(settings, context)
        page = await asyncio.to_thread(
            self.claim_incident, context
        )  # Variables: a sync SDK call, off the loop
        if not page.won:
            self.log.info("Exotel: no SMS, %s", page.reason)
            return
        try:
            async with ExotelAsyncClient(settings) as client:
                self._log_sent(await client.send_sms(request))
        except ExotelError as err:
            if isinstance(err, (ExotelAPIError, ExotelUnreachableError)):
                await asyncio.to_thread(page.release)
            raise

    def _request(self, settings: ExotelSettings, context: Context) -> SmsRequest:
        from exotel_provider.sms.send_request import build_sms_request

        options = ("to_number", "dlt_entity_id", "dlt_template_id", "sms_type", "encoding_type")
        return build_sms_request(
            **{name: getattr(self, name) for name in options},
            from_number=self.from_number or settings.caller_id,
            body=self.body or failure_description(context),
        )

    def _log_sent(self, message: SmsMessage) -> None:
        from exotel_provider.calls.numbers import mask_number

        self.log.info("Exotel: texted %s about the failure (SMS %s)", mask_number(message.to), message.sid)


send_exotel_sms = ExotelSmsNotifier
"""The function-style name other providers use for their notifiers (``send_slack_notification``)."""
