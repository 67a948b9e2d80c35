"""ExotelHook: reads the Airflow connection and hands out a configured Exotel client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import tzinfo
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from exotel_provider.calls.exotel_time import exotel_time_zone
from exotel_provider.calls.progress import (
    DEFAULT_POLL_INTERVAL_SECONDS,
    DEFAULT_PRICING_GRACE_SECONDS,
    DEFAULT_WAIT_TIMEOUT_SECONDS,
    Assessment,
    assess_call,
)
from exotel_provider.client.settings import ExotelSettings
from exotel_provider.connection_form import legacy_connection_form_widgets, legacy_ui_field_behaviour
from exotel_provider.errors import ExotelError, ExotelWaitTimeout
from exotel_provider.sms.model import DEFAULT_SMS_POLL_INTERVAL_SECONDS

if TYPE_CHECKING:  # the HTTP, retry and phone-number libraries load on first use, not in DAG files
    from exotel_provider.calls.connect_request import ConnectRequest
    from exotel_provider.calls.model import Call
    from exotel_provider.calls.parsing import CallPage
    from exotel_provider.client.retry_policy import RetryPolicy
    from exotel_provider.client.sync_client import ExotelClient
    from exotel_provider.placement.reconciliation import PlacementAttempt
    from exotel_provider.sms.bulk import BulkSmsResult
    from exotel_provider.sms.model import SmsMessage
    from exotel_provider.sms.send_request import SmsRequest


def settings_from_connection(connection: Any) -> ExotelSettings:
    """The connection contract: login = API key, password = API token, extra.account_sid,
    extra.region, optional host override, extra.caller_id / timeout / requests_per_minute."""
    return ExotelSettings.from_connection(
        login=connection.login,
        password=connection.password,
        host=connection.host,
        port=connection.port,
        extra=_plain_extra(connection.extra_dejson),
    )


async def settings_for_connection(exotel_conn_id: str) -> ExotelSettings:
    """The connection contract, read without blocking the event loop (triggers, ``async_notify``)."""
    return settings_from_connection(await BaseHook.aget_connection(exotel_conn_id))


def _plain_extra(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """Accept both plain keys and the UI's prefixed ``extra__exotel__<name>`` keys."""
    plain: dict[str, Any] = {}
    for key, value in (extra or {}).items():
        name = key.removeprefix("extra__exotel__")
        if name == key or name not in plain:
            plain[name] = value
    return plain


class ExotelHook(BaseHook):
    """Interact with Exotel's Voice v1 API: calls and SMS.

    :param exotel_conn_id: an Airflow connection of type ``exotel``: login = API key,
        password = API token, extra ``account_sid`` (required), ``region`` (``singapore`` or
        ``mumbai``), optional host override, ``caller_id``, ``timeout``.
    :param retry_policy: backoff for retried requests.
    """

    conn_name_attr = "exotel_conn_id"
    default_conn_name = "exotel_default"
    conn_type = "exotel"
    hook_name = "Exotel"

    def __init__(
        self,
        exotel_conn_id: str = default_conn_name,
        *,
        retry_policy: RetryPolicy | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.exotel_conn_id = exotel_conn_id
        self.retry_policy = retry_policy

    def __repr__(self) -> str:
        return f"ExotelHook(exotel_conn_id={self.exotel_conn_id!r})"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """How Airflow's connection form shows the standard fields (relabelled, hidden)."""
        return legacy_ui_field_behaviour()

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The Exotel fields of the connection form (account SID, region, caller ID...)."""
        return legacy_connection_form_widgets()

    @cached_property
    def settings(self) -> ExotelSettings:
        """The connection's settings, checked before any request is sent."""
        return settings_from_connection(self.get_connection(self.exotel_conn_id))

    @property
    def time_zone(self) -> tzinfo:
        """The zone Exotel's timestamps are in for this connection (``extra.timezone``, else India time)."""
        return exotel_time_zone(self.settings.time_zone)

    @cached_property
    def client(self) -> ExotelClient:
        """The sync client for this connection, within the account's request budget (created once)."""
        from exotel_provider.client.request_budget import account_budget
        from exotel_provider.client.sync_client import ExotelClient

        return ExotelClient(
            self.settings, retry_policy=self.retry_policy, budget=account_budget(self.settings)
        )

    def get_conn(self) -> ExotelClient:
        """The sync client (:attr:`client`)."""
        return self.client

    def close(self) -> None:
        """Close the client's HTTP session, if one was opened."""
        if "client" in self.__dict__:
            self.client.close()
            del self.__dict__["client"]

    # --- calls -----------------------------------------------------------------------------------

    def build_connect_request(self, *, caller_id: str | None = None, **parameters: Any) -> ConnectRequest:
        """Validate a ``Calls/connect`` request (caller_id defaults from the connection). No network."""
        from exotel_provider.calls.connect_request import build_connect_request

        return build_connect_request(
            account_sid=self.settings.account_sid,
            caller_id=caller_id or self.settings.caller_id,
            **parameters,
        )

    def place_call(self, request: ConnectRequest, *, announce: bool = True) -> Call:
        """Send a validated request. See :meth:`ExotelClient.place_call` for the retry rules
        (``announce=False``: the "placing" log line is a debug line)."""
        return self.client.place_call(request, announce=announce)

    def connect_to_flow(
        self,
        from_number: str,
        *,
        app_id: str | int | None = None,
        url: str | None = None,
        caller_id: str | None = None,
        **optional: Any,
    ) -> Call:
        """Call ``from_number`` and, once picked up, connect it to a call flow (Exotel's documented API)."""
        request = self.build_connect_request(
            from_number=from_number, app_id=app_id, url=url, caller_id=caller_id, **optional
        )
        return self.place_call(request)

    def connect_two_numbers(
        self, from_number: str, to_number: str, *, caller_id: str | None = None, **optional: Any
    ) -> Call:
        """Call ``from_number`` and, once picked up, connect it to ``to_number``."""
        request = self.build_connect_request(
            from_number=from_number, to_number=to_number, caller_id=caller_id, **optional
        )
        return self.place_call(request)

    def get_call(self, call_sid: str, *, details: bool = False) -> Call:
        """Read one call by its Sid (``details``: with its leg details)."""
        return self.client.get_call(call_sid, details=details)

    def list_calls(self, **filters: Any) -> CallPage:
        """One page of the bulk call-details listing (filters as in :meth:`ExotelClient.list_calls`)."""
        return self.client.list_calls(**filters)

    def iter_calls(self, **filters: Any) -> Iterator[Call]:
        """Every call the listing gives for ``filters``, page after page."""
        return self.client.iter_calls(**filters)

    def get_ended_calls(self, sids: Iterable[str]) -> dict[str, Call]:
        """Ended calls among ``sids`` via bulk details (100 Sids per request); ongoing ones are absent."""
        return self.client.get_ended_calls(sids)

    def wait_for_call(
        self,
        call_sid: str,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL_SECONDS,
        pricing_grace_seconds: float = DEFAULT_PRICING_GRACE_SECONDS,
        timeout: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> Assessment:
        """Poll one call until :func:`assess_call` says it is final (ended, and priced or past grace).

        Holds the caller's worker slot while it waits; deferrable mode does not. Without ``timeout``
        it gives up after ``DEFAULT_WAIT_TIMEOUT_SECONDS``.
        """
        if timeout is None:
            timeout = DEFAULT_WAIT_TIMEOUT_SECONDS
        started = clock()
        ended_seen_at: float | None = None
        while True:
            call = self.get_call(call_sid)
            now = clock()
            if call.is_terminal and ended_seen_at is None:
                ended_seen_at = now
            assessment = assess_call(
                call, ended_seen_at=ended_seen_at, now=now, pricing_grace_seconds=pricing_grace_seconds
            )
            if assessment.is_final:
                return assessment
            self.log.info("Exotel: %s", assessment.message)
            if now - started + poll_interval > timeout:
                raise ExotelWaitTimeout(
                    f"Call {call_sid} was not final after waiting {now - started:.0f} s (timeout {timeout:.0f} s): "
                    f"{assessment.message}. Its Sid is kept in XCom; a sensor can resume waiting.",
                    call_sid=call_sid,
                )
            sleep(poll_interval)

    def find_placed_calls(self, attempt: PlacementAttempt, *, exclude: Iterable[str] = ()) -> list[Call]:
        """Calls Exotel lists that ``attempt`` may have placed (one pass over the listing)."""
        return attempt.candidates(self.iter_calls(**attempt.listing_filters()), exclude=exclude)

    def reconcile_placement(
        self,
        attempt: PlacementAttempt,
        *,
        timeout: float,
        poll_interval: float = DEFAULT_POLL_INTERVAL_SECONDS,
        exclude: Iterable[str] = (),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> list[Call]:
        """Look for the call a lost placing request may have made until one is listed or ``timeout``.

        Exotel lists a call only once it has ended, so this waits for the call to end; failed reads
        count as "not listed yet". Returns the candidates found (empty if none appeared in time);
        whether one of them may be adopted is :func:`exotel_provider.placement.judge`'s decision.
        """
        from exotel_provider.placement.guard import FunctionClock, listed_candidates

        return listed_candidates(
            self,
            attempt,
            timeout=timeout,
            poll_interval=poll_interval,
            exclude=exclude,
            clock=FunctionClock(clock, sleep),
            logger=self.log,
        )

    # --- SMS -------------------------------------------------------------------------------------

    def build_sms_request(self, *, from_number: str | None = None, **parameters: Any) -> SmsRequest:
        """Validate an ``Sms/send`` request (From defaults to the connection's caller_id). No network."""
        from exotel_provider.sms.send_request import build_sms_request

        return build_sms_request(from_number=from_number or self.settings.caller_id, **parameters)

    def send_sms(self, request: SmsRequest) -> SmsMessage:
        """Send a validated SMS within the account's request budget (see :meth:`ExotelClient.send_sms`)."""
        return self.client.send_sms(request)

    def send_sms_bulk(self, requests: Sequence[SmsRequest]) -> list[BulkSmsResult]:
        """Send up to 100 validated SMS sharing DLT ids and type in one ``Sms/bulksend`` request, within
        the account's request budget (see :meth:`ExotelClient.send_sms_bulk`)."""
        return self.client.send_sms_bulk(requests)

    def get_sms(self, sms_sid: str) -> SmsMessage:
        """Read one SMS by its Sid: its status, detailed status and price."""
        return self.client.get_sms(sms_sid)

    def iter_sms(self, sms_sids: Iterable[str]) -> Iterator[SmsMessage]:
        """Read each of ``sms_sids`` (distinct, in order) one by one: Exotel documents no SMS listing."""
        return self.client.iter_sms(sms_sids)

    def wait_for_sms(
        self,
        sms_sid: str,
        *,
        poll_interval: float = DEFAULT_SMS_POLL_INTERVAL_SECONDS,
        timeout: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> SmsMessage:
        """Poll one SMS until its status is final (sent, failed, failed_dnd); holds the worker slot."""
        if timeout is None:
            timeout = DEFAULT_WAIT_TIMEOUT_SECONDS
        started = clock()
        while True:
            message = self.get_sms(sms_sid)
            if message.is_final:
                return message
            now = clock()
            if now - started + poll_interval > timeout:
                raise ExotelWaitTimeout(
                    f"SMS {sms_sid} was not final after waiting {now - started:.0f} s (status "
                    f"{message.raw_status!r}). Its Sid is kept in XCom.",
                    call_sid=sms_sid,
                )
            sleep(poll_interval)

    def display_number(self, number: str | None) -> str:
        """A phone number as logs may show it: masked unless the connection's extra says otherwise."""
        from exotel_provider.calls.numbers import mask_number

        return mask_number(number) if self.settings.mask_phone_numbers else (number or "")

    def test_connection(self) -> tuple[bool, str]:
        """Used by the UI's and CLI's connection test: one authenticated listing request, and a
        warning when Exotel's clock (or the zone of its timestamps) disagrees with ours."""
        from exotel_provider.placement.exotel_clock import clock_warnings

        try:
            check = self.client.check_access()
        except ExotelError as err:
            return False, str(err)
        message = f"Connected to Exotel account {self.settings.account_sid} at {self.settings.host}"
        warnings = clock_warnings(
            our_time=check.answered_at,
            server_date=check.server_date,
            newest_call_time=check.newest_call_time,
            time_zone=self.time_zone,
            zone_name=self.settings.time_zone,
        )
        for warning in warnings:
            self.log.warning("Exotel: %s", warning)
        return True, " ".join([message + ".", *(f"Warning: {w}" for w in warnings)]) if warnings else message


__all__: Sequence[str] = ("ExotelHook", "settings_from_connection")
