"""Placing a campaign's calls so that nobody is called twice, whatever happens to the worker.

Each call of a campaign is placed through its own :class:`~exotel_provider.placement.PlacementGuard`,
under its own key prefix in the task's state store (Airflow 3.3's task_state_store): the guard's
pending mark and Sid apply call by call. A later try reuses every Sid an earlier try saved (without
asking Exotel again) and reports a refusal again without a second request. What no record settles
(a pending mark, or a later try with no usable store: Airflow 3.1/3.2, or a store emptied by a
clear) is resolved for the whole campaign in ONE listing pass (:meth:`CampaignPlacer.resolve_earlier`),
never one search per entry. A lost answer while placing holds no thread: the entry is recorded as
unknown with its window and resolved after the campaign's deferral. A circuit breaker stops placing
after a few outage failures in a row.

Given a :class:`~exotel_provider.campaigns.ledger.CampaignBook` instead, the guard keeps its marks in
the call ledger (:class:`LedgerEntry`), which outlives the task: a later run, a clear or a redial
reads the same rows, and a ``placing`` or ``unknown`` row is resolved (in the same one pass) from the
``sent_at`` it recorded, the day's other Sids excluded. No Airflow imports.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from exotel_provider.calls.connect_request import ConnectRequest
from exotel_provider.calls.exotel_time import DEFAULT_EXOTEL_TIME_ZONE as EXOTEL_TIME_ZONE
from exotel_provider.calls.numbers import mask_number
from exotel_provider.campaigns.breaker import PlacingBreaker
from exotel_provider.campaigns.ledger import REFUSED, CampaignBook, LedgerRow
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
    """The state-store key prefix of one campaign entry's guard."""
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
    refusal: ExotelAPIError | None = field(default=None, compare=False, repr=False)
    """Exotel's refusal of this one call (e.g. 403 for a DND number), when it just refused it."""


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
        book: CampaignBook | None = None,
    ) -> None:
        self.client = client
        self.book = book
        """The call ledger's rows of this campaign: where the marks go when given (not the store)."""
        if book is not None:
            store, earlier_tries_since = None, None  # the ledger outlives the task: nothing unrecorded
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
        self.resuming = started or earlier_tries_since is not None or book is not None
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
        if self.book is not None:
            return _recorded_in(self.book.row(key))
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
            pending = self._pending(key)
            if pending is not None:
                sent_at, settled_at = pending
                window = PlacementAttempt(request, sent_at, settled_at or now, self.time_zone)
            elif self._unrecorded_since is not None:
                window = PlacementAttempt(request, min(self._unrecorded_since, now), now, self.time_zone)
            else:
                continue
            siblings = self.book.known_sids(besides=key) if self.book is not None else set()
            intents.append(Intent(key, window, frozenset(siblings)))
        return intents

    def _pending(self, key: str) -> tuple[float, float | None] | None:
        """The window of a request of an earlier try whose outcome is unknown (ledger or store)."""
        if self.book is not None:
            row = self.book.row(key)
            if row is None or not row.unresolved or row.sent_at is None:
                return None
            return row.sent_at, row.window_end
        return PlacementRecord(self.store, call_prefix(key)).pending() if self.store else None

    def _settle_earlier(self, intent: Intent, resolution: Resolution) -> None:
        key, attempt = intent.key, intent.attempt
        if resolution.outcome is Resolved.ADOPTED and resolution.call is not None:
            self.adopt(key, resolution.call.sid)
            self._earlier[key] = Placement(key, resolution.call.sid, attempt.sent_at, resumed=True)
        elif resolution.outcome is Resolved.NOT_PLACED:
            self.proven_not_placed(key)
        else:
            message = "An earlier try may have placed this call; its Sid is not known yet."
            self.still_unknown(key, attempt.sent_at, attempt.latest_send, resolution.candidates, message)
            self._earlier[key] = Placement(
                key, None, attempt.sent_at, error=message, unknown=True, resumed=True,
                settled_at=attempt.latest_send, candidates=resolution.candidates,
            )  # fmt: skip

    def adopt(self, key: str, sid: str) -> None:
        """Record that the listing proved ``sid`` to be this entry's call."""
        if self.book is not None:
            self.book.write(self.book.new_row(key).with_sid(sid))
        else:
            PlacementRecord(self.store, call_prefix(key)).save_sid(sid)

    def proven_not_placed(self, key: str) -> None:
        """Record that the listing proved no call was placed: the entry may be dialled."""
        if self.book is not None:
            self._note(key, lambda row: row.not_placed("the listing proved that no call was placed"))
        else:
            PlacementRecord(self.store, call_prefix(key)).clear_pending()

    def still_unknown(
        self, key: str, sent_at: float, settled_at: float, candidates: Sequence[str], message: str
    ) -> None:
        """Keep the window (and the candidates) of an entry whose call may exist: never forgotten."""
        if self.book is not None:
            self._note(key, lambda row: row.with_unknown(settled_at, candidates, message))
        else:
            PlacementRecord(self.store, call_prefix(key)).mark_pending(sent_at, settled_at)

    def place(self, key: str, request: ConnectRequest) -> Placement:
        """Reuse, or dial once. A lost answer returns an unknown Placement at once (no search here).
        Raises only when the whole campaign should stop (bad credentials, no balance, Exotel
        unreachable, the breaker open) or pause (429); nothing more is placed then."""
        earlier = self.recorded(key)
        if earlier is not None:
            return earlier
        self.breaker.check()
        guard = self._guard(key, request)
        sent_at = self._clock()
        try:
            placement = guard.dial(request, search=False)
        except ExotelCallOutcomeUnknownError as err:
            self.breaker.failed(err)
            settled_at, message = self._clock(), str(err)
            self._note(key, lambda row: row.with_unknown(settled_at, (), message))
            return Placement(key, None, sent_at, message, unknown=True, settled_at=settled_at)
        except ExotelAPIError as err:
            message = str(err)
            if _stops_the_campaign(err):
                self.breaker.failed(err)
                self._note(key, lambda row: row.not_placed(message))
                raise
            self.breaker.succeeded()
            if self.store is not None:
                self.store.set(call_prefix(key) + REFUSED_SUFFIX, message)
            self._note(key, lambda row: row.not_placed(message, refused=True))
            return Placement(key, None, error=message, refusal=err)
        except ExotelTransportError as err:  # never reached Exotel (the guard recorded: no call)
            self.breaker.failed(err)
            raise
        self.breaker.succeeded()
        assert placement is not None  # dial(search=False) never proves "none placed" itself
        return Placement(key, placement.call.sid, sent_at)

    def refuse(self, key: str, error: str) -> None:
        """Record in the ledger that this call was not attempted (invalid): not retried that day."""
        self._note(key, lambda row: row.not_placed(error, refused=True), create=True)

    def _note(self, key: str, change: Callable[[LedgerRow], LedgerRow], *, create: bool = False) -> None:
        if self.book is None:
            return
        row = self.book.row(key)
        if row is None and not create:
            return  # nothing was announced: nothing to change
        self.book.write(change(row or self.book.new_row(key)))

    def _guard(self, key: str, request: ConnectRequest) -> PlacementGuard:
        store: Any = self.store
        prefix = call_prefix(key)
        if self.book is not None:
            store, prefix = LedgerEntry(self.book, key, request.from_number, self._clock), ""
        return PlacementGuard(
            store,
            _QuietPlacing(self.client),
            key_prefix=prefix,
            policy=self.policy,
            time_zone=self.time_zone,
            show_number=self.show_number,
            logger=self.logger,
        )


def _recorded_in(row: LedgerRow | None) -> Placement | None:
    if row is None:
        return None
    if row.call_sid:
        return Placement(row.key, row.call_sid, row.sent_at, resumed=True)
    if row.state == REFUSED:
        return Placement(row.key, None, error=row.error or "refused", resumed=True)
    return None


class LedgerEntry:
    """One campaign key's row in the call ledger, as the guard's state store (key prefix "").

    The pending mark is the row's ``placing`` state with its ``sent_at`` (and ``window_end`` once the
    answer was lost), the Sid its ``call_sid``; clearing the mark records that no call was placed. The
    ledger is never emptied, so the guard's "guarded" note always reads as present.
    """

    def __init__(
        self, book: CampaignBook, key: str, phone: str | None, clock: Callable[[], float] = time.time
    ) -> None:
        self.book, self.key, self.phone, self._clock = book, key, phone, clock
        names = PlacementRecord(None, "")
        self._sid, self._pending, self._guarded = names.sid_key, names.pending_key, names.guarded_key

    def get(self, name: str) -> Any:
        """The guard's key ``name``, read from the entry's ledger row."""
        row = self.book.row(self.key)
        if name == self._guarded:
            return {"ledger": True}
        if row is None:
            return None
        if name == self._sid:
            return row.call_sid
        if name == self._pending and row.unresolved and row.sent_at is not None:
            return {"sent_at": row.sent_at, "settled_at": row.window_end}
        return None

    def set(self, name: str, value: Any) -> None:
        """Record the guard's key ``name`` as the entry's ledger row (a Sid, a pending mark...)."""
        if name == self._sid:
            self.book.write(self.book.new_row(self.key).with_sid(str(value)))
        elif name == self._pending:
            sent_at, settled_at = float(value["sent_at"]), value.get("settled_at")
            self.book.write(self.book.new_row(self.key).placing(self.phone, sent_at, settled_at))

    def delete(self, name: str) -> None:
        """Drop a pending mark: the request provably placed no call, so the row becomes ``not placed``."""
        row = self.book.row(self.key)
        if name == self._pending and row is not None and row.unresolved:
            self.book.write(row.not_placed("no call was placed"))


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
