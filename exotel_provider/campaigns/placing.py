"""Placing a campaign's calls so that nobody is called twice, whatever happens to the worker.

Each call of a campaign has its own key in the task's memory (Airflow 3.3's task_state_store):
a pending mark is written just before the request goes out, the Sid (or Exotel's refusal) once the
answer is in. A retry of the task reads the key first: a Sid is reused, a refusal is reported again,
and a pending mark (the worker died, or the answer was lost) is resolved by finding the call in
Exotel's listing before anything is dialled. No Airflow imports.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from exotel_provider.calls.connect_request import ConnectRequest
from exotel_provider.calls.model import Call
from exotel_provider.errors import (
    ExotelAPIError,
    ExotelAuthenticationError,
    ExotelCallOutcomeUnknownError,
    ExotelPaymentRequiredError,
    ExotelRateLimitError,
)
from exotel_provider.placement.reconciliation import PlacementAttempt, format_exotel_time

CALL_KEY_PREFIX = "exotel_campaign_call:"
"""task_state_store key of one campaign call: ``{"pending": sent_at}``, ``{"sid", "placed_at"}`` or
``{"refused": message}``."""
CAMPAIGN_STARTED_KEY = "exotel_campaign_started"
"""task_state_store key set when a campaign first starts placing: only then does a try look up each call."""


class PlacingClient(Protocol):
    """What placing needs from the hook."""

    def place_call(self, request: ConnectRequest) -> Call: ...

    def reconcile_placement(
        self,
        attempt: PlacementAttempt,
        *,
        timeout: float,
        poll_interval: float = ...,
        exclude: Iterable[str] = ...,
    ) -> list[Call]: ...

    def display_number(self, number: str | None) -> str: ...


class Memory(Protocol):
    """A task's memory across its retries (``TaskMemory``)."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...

    def delete(self, key: str) -> None: ...


@dataclass(frozen=True)
class Placement:
    """What came of one campaign call: its Sid, or why there is none."""

    key: str
    sid: str | None
    placed_at: float | None = None
    error: str | None = None
    unknown: bool = False
    """A call may exist but its Sid is not known: never dialled again, reported as unknown."""
    resumed: bool = False
    """An earlier try of the task placed (or was refused) this call."""


class CampaignPlacer:
    """Places each call of a campaign at most once across the retries of its task."""

    def __init__(
        self,
        client: PlacingClient,
        memory: Memory,
        *,
        resuming: bool | None = None,
        reconcile_timeout: float,
        poll_interval: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.memory = memory
        self.reconcile_timeout = reconcile_timeout
        self.poll_interval = poll_interval
        self._clock = clock
        self.resuming = bool(memory.get(CAMPAIGN_STARTED_KEY)) if resuming is None else resuming
        """An earlier try started this campaign: each call is looked up before it is placed."""

    def start(self) -> None:
        """Mark the campaign started, so that any later try looks up what this one placed."""
        if not self.resuming:
            self.memory.set(CAMPAIGN_STARTED_KEY, True)

    def recorded(self, key: str) -> Placement | None:
        """What an earlier try recorded for this call: a Sid or a refusal (None otherwise)."""
        record = self.memory.get(CALL_KEY_PREFIX + key) if self.resuming else None
        if not isinstance(record, dict):
            return None
        if record.get("sid"):
            return Placement(key, str(record["sid"]), record.get("placed_at"), resumed=True)
        if record.get("refused"):
            return Placement(key, None, error=str(record["refused"]), resumed=True)
        return None

    def place(self, key: str, request: ConnectRequest) -> Placement:
        """Place the call unless an earlier try did (or may have); raises only when nothing was placed
        and the whole campaign should stop (bad credentials, no balance, Exotel unreachable, 429)."""
        earlier = self.recorded(key)
        if earlier is not None:
            return earlier
        record = self.memory.get(CALL_KEY_PREFIX + key) if self.resuming else None
        if isinstance(record, dict) and record.get("pending") is not None:
            attempt = PlacementAttempt(request, float(record["pending"]))
            found = self._resolve(key, attempt, "An earlier try sent this call's placing request.")
            if found is not None:
                return found
        return self._send(key, request)

    def _send(self, key: str, request: ConnectRequest) -> Placement:
        sent_at = self._clock()
        self.memory.set(CALL_KEY_PREFIX + key, {"pending": sent_at})
        try:
            call = self.client.place_call(request)
        except ExotelCallOutcomeUnknownError as err:
            resolved = self._resolve(key, PlacementAttempt(request, sent_at), str(err))
            return resolved or self._unknown(key, PlacementAttempt(request, sent_at), str(err))
        except ExotelAPIError as err:
            if isinstance(
                err, (ExotelRateLimitError, ExotelAuthenticationError, ExotelPaymentRequiredError)
            ) or (err.status_code >= 500):
                self.memory.delete(CALL_KEY_PREFIX + key)  # refused before it took effect: no call
                raise
            self.memory.set(CALL_KEY_PREFIX + key, {"refused": str(err)})
            return Placement(key, None, error=str(err))
        except Exception:
            self.memory.delete(CALL_KEY_PREFIX + key)  # ExotelTransportError: never reached Exotel
            raise
        return self._record(key, call.sid, sent_at)

    def _resolve(self, key: str, attempt: PlacementAttempt, reason: str) -> Placement | None:
        """The call a lost request placed, if Exotel lists exactly one; None when dialling is safe."""
        found = self.client.reconcile_placement(
            attempt, timeout=self.reconcile_timeout, poll_interval=self.poll_interval
        )
        if len(found) == 1:
            return self._record(key, found[0].sid, attempt.sent_at)
        if not found and self._clock() >= attempt.certainly_listed_by():
            self.memory.delete(CALL_KEY_PREFIX + key)  # no call can exist: safe to dial
            return None
        return self._unknown(key, attempt, reason, several=[call.sid for call in found])

    def _unknown(
        self, key: str, attempt: PlacementAttempt, reason: str, several: list[str] | None = None
    ) -> Placement:
        number = self.client.display_number(attempt.request.from_number)
        since = format_exotel_time(attempt.sent_at)
        if several:
            detail = f"several calls from {number} since {since} could be it ({', '.join(several)})"
        else:
            detail = f"Exotel lists no call from {number} since {since} yet (it lists calls once ended)"
        return Placement(
            key,
            None,
            error=f"{reason} The call may have been placed: {detail}; not calling again.",
            unknown=True,
        )

    def _record(self, key: str, sid: str, placed_at: float) -> Placement:
        self.memory.set(CALL_KEY_PREFIX + key, {"sid": sid, "placed_at": placed_at})
        return Placement(key, sid, placed_at)
