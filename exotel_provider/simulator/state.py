"""Everything the simulator remembers: credentials, clock, scripts, calls and the request log."""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from exotel_provider.simulator.clock import DEFAULT_TIME_ZONE, SimulatedClock
from exotel_provider.simulator.connect_request import ConnectRequest
from exotel_provider.simulator.errors import ApiError
from exotel_provider.simulator.faults import FaultPlan
from exotel_provider.simulator.lifecycle import CallTimeline, SimulatedCall
from exotel_provider.simulator.phone_numbers import to_national
from exotel_provider.simulator.rate_limit import SlidingWindowLimiter
from exotel_provider.simulator.scripts import CallScript, ScriptBook
from exotel_provider.simulator.sms import SimulatedSms, SmsOutcome, SmsSendRequest

DEFAULT_ACCOUNT_SID = "exotel_sim"
DEFAULT_API_KEY = "sim-key"
DEFAULT_API_TOKEN = "sim-token"
DEFAULT_RATE_LIMIT_PER_MINUTE = 200
CONNECT_PATH_SUFFIXES = ("/Calls/connect", "/Calls/connect.json")
SMS_SEND_PATH_SUFFIXES = ("/Sms/send", "/Sms/send.json", "/Sms/bulksend", "/Sms/bulksend.json")


@dataclass(frozen=True)
class Credentials:
    """The one account the simulator serves."""

    account_sid: str = DEFAULT_ACCOUNT_SID
    api_key: str = DEFAULT_API_KEY
    api_token: str = DEFAULT_API_TOKEN


@dataclass(frozen=True)
class RecordedRequest:
    """One API request as received, with the status it was answered with."""

    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    status_code: int
    sim_time: float
    real_time: float
    fault: str | None = None
    """The injected fault that struck this request (``Fault.describe()``), if any."""

    @property
    def is_connect(self) -> bool:
        """True for a call-placing request (``Calls/connect``)."""
        return self.method == "POST" and self.path.endswith(CONNECT_PATH_SUFFIXES)

    @property
    def is_sms_send(self) -> bool:
        """True for an SMS-sending request (``Sms/send`` or ``Sms/bulksend``)."""
        return self.method == "POST" and self.path.endswith(SMS_SEND_PATH_SUFFIXES)

    def to_dict(self) -> dict[str, Any]:
        """The request as JSON-ready fields (``GET /_simulator/requests``)."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "form": self.form,
            "status_code": self.status_code,
            "sim_time": self.sim_time,
            "real_time": self.real_time,
            "fault": self.fault,
        }


class SimulatorState:
    """Thread-safe store shared by the HTTP handlers and the test thread.

    Calls are kept in a dict by Sid (insertion order = creation order), so one-call and Sid-filter
    lookups cost O(1) per Sid whatever the number of calls.
    """

    def __init__(
        self,
        *,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        api_key: str = DEFAULT_API_KEY,
        api_token: str = DEFAULT_API_TOKEN,
        time_scale: float = 1.0,
        clock: SimulatedClock | None = None,
        rate_limit_per_minute: int | None = DEFAULT_RATE_LIMIT_PER_MINUTE,
        send_retry_after: bool = True,
        send_rate_limit_headers: bool = False,
        default_script: CallScript | None = None,
        time_zone: str = DEFAULT_TIME_ZONE,
    ) -> None:
        self.credentials = Credentials(account_sid, api_key, api_token)
        self.clock = clock or SimulatedClock(time_scale, time_zone=time_zone)
        self.scripts = ScriptBook(default_script)
        self.send_retry_after = send_retry_after
        self.send_rate_limit_headers = send_rate_limit_headers
        self.faults = FaultPlan()
        self._limiter = SlidingWindowLimiter(rate_limit_per_minute)
        self._calls: dict[str, SimulatedCall] = {}
        self._sms: dict[str, SimulatedSms] = {}
        self._sms_outcomes: dict[str, SmsOutcome] = {}
        self._log: list[RecordedRequest] = []
        self._sequence = 0
        self._lock = threading.RLock()

    @property
    def rate_limit_per_minute(self) -> int | None:
        """Requests a minute admitted per account (None: no limit)."""
        return self._limiter.limit

    # --- the API's needs ---------------------------------------------------------------------

    def is_authorised(self, api_key: str | None, api_token: str | None) -> bool:
        """True for the simulator's own API key and token."""
        return api_key == self.credentials.api_key and api_token == self.credentials.api_token

    def admit(self, account_sid: str) -> float | None:
        """Count a request against the rate limit; None if admitted, else real seconds to wait.

        Exotel's limit (200 a minute) is wall-clock, so it counts real seconds whatever the time
        scale: at x60 it still admits 200 requests a real minute, not 200 a real second.
        ``advance()`` still moves it (a test's "time passes").
        """
        with self._lock:
            return self._limiter.try_admit(account_sid, self.clock.wall_seconds())

    def rate_limit_headers(self, account_sid: str) -> dict[str, str]:
        """``X-RateLimit-Limit/-Remaining/-Reset`` (seconds) for an answer, when asked to send them."""
        limit = self.rate_limit_per_minute
        if not self.send_rate_limit_headers or limit is None:
            return {}
        with self._lock:
            remaining, reset_in = self._limiter.headroom(account_sid, self.clock.wall_seconds())
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(math.ceil(reset_in)),
        }

    def place_call(self, request: ConnectRequest) -> SimulatedCall:
        """Create the call the script allows, or raise the script's refusal as an :class:`ApiError`."""
        script, leg = self.scripts.for_call(request.from_number, request.to_number)
        if script.reject_status is not None:
            raise ApiError(script.reject_status, script.rejection_message)
        with self._lock:
            self._sequence += 1
            now = self.clock.now()
            call = SimulatedCall(
                sid=uuid.uuid4().hex,
                account_sid=self.credentials.account_sid,
                sequence=self._sequence,
                request=request,
                script=script,
                scripted_leg=leg,
                timeline=CallTimeline.plan(script, now, request),
            )
            self._calls[call.sid] = call
            return call

    def get_call(self, sid: str) -> SimulatedCall | None:
        """The call ``sid``, or None."""
        with self._lock:
            return self._calls.get(sid)

    def calls_by_sids(self, sids: Iterable[str]) -> list[SimulatedCall]:
        """The known calls among ``sids``, in creation order; O(k) for k Sids."""
        with self._lock:
            found = [self._calls[sid] for sid in sids if sid in self._calls]
        return sorted(found, key=lambda call: call.sequence)

    def all_calls(self) -> list[SimulatedCall]:
        """Every call, ongoing ones included, in creation order."""
        with self._lock:
            return list(self._calls.values())

    def send_sms(self, requests: list[SmsSendRequest]) -> list[SimulatedSms]:
        """Accept messages (already validated); each one's number decides its final status."""
        with self._lock:
            now = self.clock.now()
            sent = []
            for request in requests:
                self._sequence += 1
                outcome = self._sms_outcomes.get(request.to_number, SmsOutcome.SENT)
                message = SimulatedSms(uuid.uuid4().hex, self._sequence, request, now, outcome)
                self._sms[message.sid] = message
                sent.append(message)
            return sent

    def get_sms(self, sid: str) -> SimulatedSms | None:
        """The message sent with Sid ``sid``, or None."""
        with self._lock:
            return self._sms.get(sid)

    def record(self, request: RecordedRequest) -> None:
        """Add ``request`` to the request log."""
        with self._lock:
            self._log.append(request)

    # --- the test's needs ---------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the request log, oldest first (rejected requests included)."""
        with self._lock:
            return list(self._log)

    def placed_calls(self, number: str | None = None) -> list[SimulatedCall]:
        """Calls created by ``POST /Calls/connect``, optionally only those whose From is ``number``
        (any accepted form: ``+9198...``, ``098...``, ``98...``)."""
        calls = self.all_calls()
        if number is None:
            return calls
        national = to_national(number)
        return [call for call in calls if call.from_number == national]

    def sent_sms(self, number: str | None = None) -> list[SimulatedSms]:
        """Every message accepted, in order, optionally only those to ``number`` (any accepted form)."""
        with self._lock:
            messages = list(self._sms.values())
        if number is None:
            return messages
        national = to_national(number)
        return [message for message in messages if message.request.to_number == national]

    def script_sms(self, number: str, outcome: str) -> str:
        """Messages to ``number`` end ``outcome`` (sent, failed, failed_dnd); returns it in national form."""
        chosen = SmsOutcome(outcome)
        national = to_national(number)
        with self._lock:
            self._sms_outcomes[national] = chosen
        return national

    def set_script(self, number: str, script: CallScript) -> str:
        """Script calls to ``number``; returns it in national form."""
        return self.scripts.set(number, script)

    def advance(self, seconds: float) -> float:
        """Move the simulated clock forward by ``seconds``; the new time."""
        return self.clock.advance(seconds)

    def reset(self) -> None:
        """Forget calls, SMS, the request log, scripts, faults and the rate-limit window (the clock keeps going)."""
        with self._lock:
            self.faults.clear()
            self._calls.clear()
            self._sms.clear()
            self._sms_outcomes.clear()
            self._log.clear()
            self._limiter.clear()
            self.scripts.clear()
