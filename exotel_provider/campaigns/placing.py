"""Placing a campaign's calls so that nobody is called twice, whatever happens to the worker.

Each call of a campaign is placed through its own :class:`~exotel_provider.placement.PlacementGuard`,
under its own key prefix in the task's state store (Airflow 3.3's task_state_store): the guard's
pending mark and Sid apply call by call. A later try reuses every Sid an earlier try saved (without
asking Exotel again) and reports a refusal again without a second request. What no record settles
(a pending mark, or a later try with no usable store: Airflow 3.1/3.2, or a store emptied by a
clear) is resolved for the whole campaign in ONE listing pass (:meth:`CampaignPlacer.resolve_earlier`),
never one search per entry. A lost answer while placing holds no thread: the entry is recorded as
unknown with its window and resolved after the campaign's deferral. A circuit breaker stops placing
after a few outage failures in a row. No Airflow imports.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from exotel_provider.calls.connect_request import ConnectRequest
from exotel_provider.calls.exotel_time import DEFAULT_EXOTEL_TIME_ZONE as EXOTEL_TIME_ZONE
from exotel_provider.calls.numbers import mask_number
from exotel_provider.campaigns.breaker import PlacingBreaker
from exotel_provider.errors import (
    ExotelAPIError,
    ExotelAuthenticationError,
    ExotelCallOutcomeUnknownError,
    ExotelPaymentRequiredError,
    ExotelRateLimitError,
    ExotelTransportError,
)
from exotel_provider.placement import guard as guard_module
from exotel_provider.placement.batch_resolution import Intent, Resolution, Resolved, resolve_from_listing
from exotel_provider.placement.guard import CallSource, GuardPolicy, Log, PlacementGuard
from exotel_provider.placement.reconciliation import PlacementAttempt
from exotel_provider.placement.state_store import NEVER_EXPIRE, PlacementRecord, StateStore, takes_retention

CALL_KEY_PREFIX = "exotel_campaign_"
"""Each call's guard keeps its keys under ``exotel_campaign_<key>_`` (``placed_call_sid``, ...)."""
CAMPAIGN_STARTED_KEY = "exotel_campaign_started"
"""Set when a campaign first starts placing: a later try then looks up each call before placing it."""
REFUSED_SUFFIX = "refused"
"""``<call prefix>refused``: Exotel's refusal of the call (e.g. 403 DND), reported again by a retry."""


def call_prefix(key: str) -> str:
    return f"{CALL_KEY_PREFIX}{key}_"


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
    settled_at: float | None = None
    """Unknown: the latest its request can have been sent (``placed_at`` is the earliest)."""
    candidates: tuple[str, ...] = ()
    """Unknown: listed calls that may be this entry's."""


class CampaignPlacer:
    """Places each call of a campaign at most once across the retries of its task."""

    def __init__(
        self,
        client: CallSource,
        store: StateStore | None,
        *,
        policy: GuardPolicy,
        earlier_tries_since: float | None = None,
        time_zone: Any = EXOTEL_TIME_ZONE,
        show_number: Callable[[str | None], str] = mask_number,
        logger: Log | None = None,
        clock: Callable[[], float] | None = None,
        breaker: PlacingBreaker | None = None,
    ) -> None:
        self.client = client
        self.store = _OneThreadAtATime(store) if store is not None else None
        self.policy = policy
        self.earlier_tries_since = earlier_tries_since
        self.time_zone = time_zone
        self.show_number = show_number
        self.logger = _WarningsOnly(logger) if logger is not None else None
        """Each call's guard warns as usual; its per-call info lines (thousands a day) are debug lines."""
        self._clock = clock or guard_module.DEFAULT_CLOCK.now
        self.breaker = breaker or PlacingBreaker()
        started = store is not None and bool(store.get(CAMPAIGN_STARTED_KEY))
        self.resuming = started or earlier_tries_since is not None
        # The campaign's own mark proves the store is intact: each call's keys tell all. Without it a
        # later try (an emptied store, or none) resolves every entry from the earlier tries' window.
        self._unrecorded_since = None if started else earlier_tries_since
        """An earlier try may have placed calls no record names: resolved in one pass first."""
        self._earlier: dict[str, Placement] = {}

    def start(self) -> None:
        """Mark the campaign started, so that any later try looks up what this one placed."""
        if self.store is not None and not self.store.get(CAMPAIGN_STARTED_KEY):
            self.store.set(CAMPAIGN_STARTED_KEY, True)

    def recorded(self, key: str) -> Placement | None:
        """What an earlier try left for this call: its Sid, Exotel's refusal, or an unknown that
        :meth:`resolve_earlier` could not settle (None otherwise)."""
        if not self.resuming:
            return None
        if key in self._earlier:
            return self._earlier[key]
        if self.store is None:
            return None
        sid = PlacementRecord(self.store, call_prefix(key)).sid()
        if sid:
            return Placement(key, sid, resumed=True)
        refused = self.store.get(call_prefix(key) + REFUSED_SUFFIX)
        return Placement(key, None, error=str(refused), resumed=True) if refused else None

    def resolve_earlier(self, requests: Sequence[tuple[str, ConnectRequest]]) -> int:
        """Settle, in ONE listing pass for the whole campaign, every entry an earlier try may have
        placed without a record: a pending mark, or any entry when the store is absent or emptied.

        Adopted entries keep their call, entries proven not placed are dialled as usual, the rest
        are unknown (never dialled here) and resolved after the deferral. No pass is made while no
        window can be complete yet: it could decide nothing. Returns the listing passes made (0/1).
        """
        intents = self._earlier_intents(requests) if self.resuming else []
        if not intents:
            return 0
        now = self._clock()
        passes = 0
        if any(now >= intent.attempt.certainly_listed_by() for intent in intents):
            resolutions = resolve_from_listing(self.client, intents, now=now)
            passes = 1
        else:
            resolutions = {
                i.key: Resolution(i.key, Resolved.OPEN, complete_at=i.attempt.certainly_listed_by())
                for i in intents
            }
        for intent in intents:
            self._settle_earlier(intent, resolutions[intent.key])
        return passes

    def _earlier_intents(self, requests: Sequence[tuple[str, ConnectRequest]]) -> list[Intent]:
        now = self._clock()
        intents = []
        for key, request in requests:
            if self.recorded(key) is not None:
                continue
            pending = PlacementRecord(self.store, call_prefix(key)).pending() if self.store else None
            if pending is not None:
                sent_at, settled_at = pending
                window = PlacementAttempt(request, sent_at, settled_at or now, self.time_zone)
            elif self._unrecorded_since is not None:
                window = PlacementAttempt(request, min(self._unrecorded_since, now), now, self.time_zone)
            else:
                continue
            intents.append(Intent(key, window))
        return intents

    def _settle_earlier(self, intent: Intent, resolution: Resolution) -> None:
        key, attempt = intent.key, intent.attempt
        record = PlacementRecord(self.store, call_prefix(key))
        if resolution.outcome is Resolved.ADOPTED and resolution.call is not None:
            record.save_sid(resolution.call.sid)
            self._earlier[key] = Placement(key, resolution.call.sid, resumed=True)
        elif resolution.outcome is Resolved.NOT_PLACED:
            record.clear_pending()
        else:
            record.mark_pending(attempt.sent_at, attempt.latest_send)  # kept: a clear never forgets it
            self._earlier[key] = Placement(
                key, None, attempt.sent_at, error="An earlier try may have placed this call; its Sid is "
                "not known yet.", unknown=True, resumed=True, settled_at=attempt.latest_send,
                candidates=resolution.candidates,
            )  # fmt: skip

    def place(self, key: str, request: ConnectRequest) -> Placement:
        """Reuse, or dial once. A lost answer returns an unknown Placement at once (no search here).
        Raises only when the whole campaign should stop (bad credentials, no balance, Exotel
        unreachable, the breaker open) or pause (429); nothing more is placed then."""
        earlier = self.recorded(key)
        if earlier is not None:
            return earlier
        self.breaker.check()
        guard = self._guard(key)
        sent_at = self._clock()
        try:
            placement = guard.dial(request, search=False)
        except ExotelCallOutcomeUnknownError as err:
            self.breaker.failed(err)
            return Placement(key, None, sent_at, str(err), unknown=True, settled_at=self._clock())
        except ExotelAPIError as err:
            if _stops_the_campaign(err):
                self.breaker.failed(err)
                raise
            self.breaker.succeeded()
            if self.store is not None:
                self.store.set(call_prefix(key) + REFUSED_SUFFIX, str(err))
            return Placement(key, None, error=str(err))
        except ExotelTransportError as err:
            self.breaker.failed(err)
            raise
        self.breaker.succeeded()
        assert placement is not None  # dial(search=False) never proves "none placed" itself
        return Placement(key, placement.call.sid, sent_at)

    def _guard(self, key: str) -> PlacementGuard:
        return PlacementGuard(
            self.store,
            _QuietPlacing(self.client),
            key_prefix=call_prefix(key),
            policy=self.policy,
            time_zone=self.time_zone,
            show_number=self.show_number,
            logger=self.logger,
        )


class _OneThreadAtATime:
    """The task's state store, used by one placing thread at a time.

    Airflow's worker serialises these requests itself, but ``dag.test()`` runs the task with an
    in-process supervisor that is not thread-safe (it swaps a module global for each request).
    """

    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._never_expire = {"retention": NEVER_EXPIRE} if takes_retention(store) else {}
        """Keys are kept whatever the retention settings say (as :class:`PlacementRecord` writes them)."""

    def get(self, key: str) -> Any:
        with self._lock:
            return self._store.get(key)

    def set(self, key: str, value: Any) -> None:
        with self._lock:
            self._store.set(key, value, **self._never_expire)

    def delete(self, key: str) -> None:
        with self._lock:
            self._store.delete(key)


class _QuietPlacing:
    """The campaign's client, placing each call without its own info line (progress lines count them)."""

    def __init__(self, client: CallSource) -> None:
        self._client = client
        try:
            parameters = inspect.signature(client.place_call).parameters
        except (TypeError, ValueError):
            parameters = {}  # type: ignore[assignment]
        self._quiet = {"announce": False} if "announce" in parameters else {}
        """Clients without the option (a test double) place as they are."""

    def place_call(self, request: ConnectRequest) -> Any:
        return self._client.place_call(request, **self._quiet)

    def get_call(self, call_sid: str) -> Any:
        return self._client.get_call(call_sid)

    def iter_calls(self, **filters: Any) -> Any:
        return self._client.iter_calls(**filters)


class _WarningsOnly:
    """A logger whose ``info`` lines become ``debug`` lines: the campaign logs progress instead."""

    def __init__(self, logger: Log) -> None:
        self._logger = logger

    def info(self, msg: Any, /, *args: Any) -> Any:
        debug = getattr(self._logger, "debug", None)
        return debug(msg, *args) if debug is not None else None

    def warning(self, msg: Any, /, *args: Any) -> Any:
        return self._logger.warning(msg, *args)


def _stops_the_campaign(error: ExotelAPIError) -> bool:
    """Errors about the account or Exotel itself, not about one call: no call was placed."""
    account_level = (ExotelRateLimitError, ExotelAuthenticationError, ExotelPaymentRequiredError)
    return isinstance(error, account_level) or error.status_code >= 500
