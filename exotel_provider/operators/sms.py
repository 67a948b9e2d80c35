"""ExotelSmsOperator: send one SMS, push its Sid, and optionally wait for its final status."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import BaseOperator, Context

from exotel_provider.airflow_compat import conf
from exotel_provider.call_lifecycle import RETURN_VALUE_KEY, connection_errors
from exotel_provider.calls.durations import optional_positive_seconds, positive_seconds
from exotel_provider.calls.progress import DEFAULT_WAIT_TIMEOUT_SECONDS
from exotel_provider.errors import (
    ExotelError,
    ExotelSmsOutcomeUnknownError,
    ExotelValidationError,
    naming_sid,
)
from exotel_provider.hooks.exotel import ExotelHook
from exotel_provider.sms.model import DEFAULT_SMS_POLL_INTERVAL_SECONDS, SmsStatus
from exotel_provider.task_errors import InvalidSmsRequest, SmsNotSent, SmsOutcomeUnknown

if TYPE_CHECKING:
    from exotel_provider.sms.model import SmsMessage
    from exotel_provider.sms.send_request import SmsRequest

SMS_SID_KEY = "sms_sid"
"""XCom key of the sent SMS's Sid (also the operator's return value)."""
SMS_DETAILS_KEY = "sms"
"""XCom key of the final SMS details (Exotel's field names), when waiting."""
DEFERRAL_TIMEOUT_MARGIN_SECONDS = 300.0


class ExotelSmsOperator(BaseOperator):
    """Send one SMS through Exotel's ``Sms/send`` API and push its Sid to XCom.

    Every parameter is validated before anything is sent: ``to_number`` as a phone number (sent in
    E.164), ``body`` up to 2,000 characters, plain (GSM 7-bit) text unless ``encoding_type`` is
    ``unicode``, and for an Indian number the DLT ids TRAI requires. The Sid is pushed as the return
    value and under ``sms_sid`` as soon as Exotel accepts the message.

    A retry never sends the same message twice: the Sid is kept in the task's ``task_state_store``
    (Airflow 3.3+) and a retry reads that SMS back; a request whose answer was lost is never resent
    (Exotel documents no SMS listing to find it in), the task fails with :class:`SmsOutcomeUnknown`
    naming the number and time. Without a state store (Airflow 3.1/3.2) a retry fails the same way.

    :param to_number: the mobile number (E.164, or Indian national form).
    :param body: the text; in India it must match the registered DLT template exactly.
    :param from_number: an ExoPhone or an approved sender ID (header such as ``EXOTEL``); defaults
        to the connection's ``extra.caller_id``.
    :param dlt_entity_id: the sender's entity id on the DLT portal (required for Indian numbers).
    :param dlt_template_id: the registered template ``body`` matches (required for Indian numbers).
    :param sms_type: ``transactional``, ``transactional_opt_in`` or ``promotional``.
    :param encoding_type: ``plain`` (Exotel's default) or ``unicode`` (Hindi and other scripts).
    :param priority: ``normal`` (default) or ``high`` (OTPs only).
    :param custom_field: your own value, echoed in Exotel's status callback.
    :param status_callback: URL Exotel POSTs to once the message is final.
    :param wait_for_completion: also wait until the SMS is final (``sent``, ``failed`` or
        ``failed_dnd``); its details (status, price) go to XCom under ``sms``. ``failed`` fails the
        task (:class:`SmsNotSent`); ``failed_dnd`` (the number is on the DND registry) is an outcome,
        reported, not an error.
    :param poll_interval: seconds between reads while waiting.
    :param wait_timeout: give up waiting after this many seconds (the Sid stays in XCom).
    :param deferrable: wait in the triggerer instead of a worker slot (default:
        ``[operators] default_deferrable``); the result is the same.
    """

    template_fields: Sequence[str] = (
        "exotel_conn_id",
        "to_number",
        "from_number",
        "body",
        "dlt_entity_id",
        "dlt_template_id",
        "sms_type",
        "encoding_type",
        "priority",
        "custom_field",
        "status_callback",
    )
    ui_color = "#e8fff0"

    def __init__(
        self,
        *,
        to_number: str,
        body: str,
        from_number: str | None = None,
        dlt_entity_id: str | int | None = None,
        dlt_template_id: str | int | None = None,
        sms_type: str | None = None,
        encoding_type: str | None = None,
        priority: str | None = None,
        custom_field: str | None = None,
        status_callback: str | None = None,
        exotel_conn_id: str = ExotelHook.default_conn_name,
        wait_for_completion: bool = False,
        poll_interval: float = DEFAULT_SMS_POLL_INTERVAL_SECONDS,
        wait_timeout: float | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.to_number = to_number
        self.body = body
        self.from_number = from_number
        self.dlt_entity_id = dlt_entity_id
        self.dlt_template_id = dlt_template_id
        self.sms_type = sms_type
        self.encoding_type = encoding_type
        self.priority = priority
        self.custom_field = custom_field
        self.status_callback = status_callback
        self.exotel_conn_id = exotel_conn_id
        self.wait_for_completion = wait_for_completion
        self.poll_interval = positive_seconds("poll_interval", poll_interval)
        self.wait_timeout = optional_positive_seconds("wait_timeout", wait_timeout)
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> ExotelHook:
        """A hook for the operator's connection."""
        return ExotelHook(self.exotel_conn_id)

    def execute(self, context: Context) -> str:
        """Send the SMS through the never-twice guard, push its Sid, and optionally wait for its outcome."""
        request = self.build_request()
        sid = self._send(context, request)
        if not self.wait_for_completion:
            return sid
        if self.deferrable:
            self._defer_wait(sid)
        try:
            message = self.hook.wait_for_sms(sid, poll_interval=self.poll_interval, timeout=self.wait_timeout)
        except ExotelError as err:
            raise naming_sid(err, sid) from None
        return self.finish(context, message)

    def execute_complete(self, context: Context, event: Any = None, sms_sid: str | None = None) -> str:
        """Resume after the trigger: the same XCom and result (or typed error) as waiting in the worker."""
        from exotel_provider.triggers.sms import sms_from_event

        sid = sms_sid or (str(event.get(SMS_SID_KEY) or "") if isinstance(event, dict) else "")
        with connection_errors(self.exotel_conn_id):
            message = sms_from_event(event, sms_sid=sid)
        return self.finish(context, message)

    def build_request(self) -> SmsRequest:
        """Validate the rendered parameters; fails the task (no retry) on bad input. No network."""
        try:
            with connection_errors(self.exotel_conn_id):
                return self.hook.build_sms_request(
                    to_number=self.to_number,
                    from_number=self.from_number or None,
                    body=self.body,
                    dlt_entity_id=self.dlt_entity_id,
                    dlt_template_id=self.dlt_template_id,
                    sms_type=self.sms_type or None,
                    encoding_type=self.encoding_type or None,
                    priority=self.priority or None,
                    custom_field=self.custom_field,
                    status_callback=self.status_callback or None,
                )
        except ExotelValidationError as err:
            raise InvalidSmsRequest.from_error(err) from None

    def finish(self, context: Context, message: SmsMessage) -> str:
        """The final details to XCom; ``failed`` fails the task, ``failed_dnd`` is reported."""
        details = message.to_dict()
        context["ti"].xcom_push(key=SMS_DETAILS_KEY, value=details)
        if message.status is SmsStatus.FAILED:
            raise SmsNotSent(
                f"SMS {message.sid} failed ({message.detailed_status or 'no detail given'}).", sms=details
            )
        if message.status is SmsStatus.FAILED_DND:
            self.log.warning(
                "Exotel: SMS %s was not delivered: the number is on the DND registry (failed_dnd).",
                message.sid,
            )
        else:
            self.log.info("Exotel: SMS %s is %s (price %s).", message.sid, message.raw_status, message.price)
        return message.sid

    # --- steps -----------------------------------------------------------------------------------

    def _send(self, context: Context, request: SmsRequest) -> str:
        """Send through the never-twice guard; push the Sid."""
        from exotel_provider.placement.task_memory import TaskMemory
        from exotel_provider.sms.guard import SmsGuard

        memory = TaskMemory(context)
        ti = context["ti"]
        guard = SmsGuard(
            memory if memory.available else None,
            self.hook,
            earlier_try=int(getattr(ti, "try_number", 1) or 1) > 1,
        )
        try:
            with connection_errors(self.exotel_conn_id):
                sent = guard.send(request)
        except ExotelSmsOutcomeUnknownError as err:
            raise SmsOutcomeUnknown(str(err)) from None
        if sent.reused:
            self.log.info("Exotel: an earlier try sent SMS %s; not sending it again.", sent.message.sid)
        else:
            self.log.info("Exotel: sent SMS %s (%s).", sent.message.sid, sent.message.raw_status)
        ti.xcom_push(key=SMS_SID_KEY, value=sent.message.sid)
        ti.xcom_push(key=RETURN_VALUE_KEY, value=sent.message.sid)
        return sent.message.sid

    def _defer_wait(self, sid: str) -> NoReturn:
        from exotel_provider.triggers.sms import ExotelSmsTrigger

        wait_seconds = self.wait_timeout if self.wait_timeout is not None else DEFAULT_WAIT_TIMEOUT_SECONDS
        self.defer(
            trigger=ExotelSmsTrigger(
                sid,
                deadline=time.time() + wait_seconds,
                exotel_conn_id=self.exotel_conn_id,
                poll_interval=self.poll_interval,
            ),
            method_name="execute_complete",
            kwargs={SMS_SID_KEY: sid},
            timeout=timedelta(seconds=wait_seconds + DEFERRAL_TIMEOUT_MARGIN_SECONDS),
        )
