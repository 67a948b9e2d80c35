"""What the guard keeps for one call in a small key/value state store (and the store's protocol)."""

from __future__ import annotations

import inspect
from datetime import timedelta
from typing import Any, Protocol

DEFAULT_KEY_PREFIX = "exotel_"
"""One call per task: keys ``exotel_placed_call_sid``, ``exotel_pending_placement``, ``exotel_guarded``."""


NEVER_EXPIRE = timedelta.max
"""Airflow's ``airflow.sdk.NEVER_EXPIRE`` (the same object): a key kept whatever
``[state_store] default_retention_days`` says."""


class StateStore(Protocol):
    """A key/value store that survives the retries of one task (Airflow 3.3's task_state_store)."""

    def get(self, key: str) -> Any:
        """The value of ``key``, or None."""

    def set(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``, durably."""

    def delete(self, key: str) -> None:
        """Delete ``key``."""


class PlacementRecord:
    """The keys of one guarded call (``<prefix>placed_call_sid`` ...); a None store keeps nothing."""

    def __init__(self, store: StateStore | None, prefix: str = DEFAULT_KEY_PREFIX) -> None:
        self.store = store
        self._takes_retention = takes_retention(store)
        self.sid_key = f"{prefix}placed_call_sid"
        """The Sid Exotel answered with, written before anything else happens."""
        self.pending_key = f"{prefix}pending_placement"
        """``{"sent_at": t}`` once a request is about to be sent; ``settled_at`` once it failed with an
        unknown outcome. A saved Sid supersedes it (read the Sid first); it is deleted when the request
        provably placed no call."""
        self.guarded_key = f"{prefix}guarded"
        """Written when the guard first runs: its absence on a retry means the state was emptied."""

    @property
    def available(self) -> bool:
        """True when there is a store to remember in (Airflow 3.3+, or a campaign's ledger)."""
        return self.store is not None

    def sid(self) -> str | None:
        """The Sid of the call an earlier try placed, if any."""
        value = self._get(self.sid_key)
        return str(value) if value else None

    def save_sid(self, sid: str) -> None:
        """Remember the placed call's Sid (it supersedes the pending mark)."""
        self._set(self.sid_key, sid)

    def pending(self) -> tuple[float, float | None] | None:
        """``(sent_at, settled_at)`` of a request whose outcome is unknown, if any."""
        value = self._get(self.pending_key)
        if not isinstance(value, dict) or value.get("sent_at") is None:
            return None
        settled = value.get("settled_at")
        return float(value["sent_at"]), None if settled is None else float(settled)

    def mark_pending(self, sent_at: float, settled_at: float | None = None) -> None:
        """Mark a request as sent (``sent_at``) before it goes out; ``settled_at``: when its outcome became
        unknown."""
        value: dict[str, float] = {"sent_at": sent_at}
        if settled_at is not None:
            value["settled_at"] = settled_at
        self._set(self.pending_key, value)

    def clear_pending(self) -> None:
        """Forget the pending mark (one delete; deleting an absent key is a no-op)."""
        if self.store is not None:
            self.store.delete(self.pending_key)

    def was_guarded(self) -> bool:
        """True when an earlier try of this task ran under the guard (its state was not cleared)."""
        return self._get(self.guarded_key) is not None

    def mark_guarded(self, now: float) -> None:
        """Record that this task runs under the guard, once."""
        if self.store is not None and self.store.get(self.guarded_key) is None:
            self._set(self.guarded_key, {"since": now})

    def _get(self, key: str) -> Any:
        return None if self.store is None else self.store.get(key)

    def _set(self, key: str, value: Any) -> None:
        """Written never to expire where the store takes a ``retention`` (Airflow 3.3's does)."""
        if self.store is None:
            return
        if self._takes_retention:
            self.store.set(key, value, retention=NEVER_EXPIRE)  # type: ignore[call-arg]
        else:
            self.store.set(key, value)


class CarriedStateStore:
    """A :class:`StateStore` in a dict, for a task without Airflow's store (3.1/3.2): the pending mark
    of a request whose outcome is unknown, carried across the task's own deferral in its kwargs."""

    def __init__(
        self, pending: tuple[float, float | None] | None = None, prefix: str = DEFAULT_KEY_PREFIX
    ) -> None:
        self.values: dict[str, Any] = {}
        if pending is not None:
            PlacementRecord(self, prefix).mark_pending(*pending)

    def get(self, key: str) -> Any:
        """The value kept under ``key`` (None if none)."""
        return self.values.get(key)

    def set(self, key: str, value: Any) -> None:
        """Keep ``value`` under ``key`` for this try and its deferrals."""
        self.values[key] = value

    def delete(self, key: str) -> None:
        """Forget ``key`` (nothing if it was not kept)."""
        self.values.pop(key, None)


def takes_retention(store: Any) -> bool:
    """Does ``store.set`` accept ``retention=`` (Airflow 3.3's task_state_store)?"""
    setter = getattr(store, "set", None)
    if setter is None:
        return False
    try:
        parameters = inspect.signature(setter).parameters
    except (TypeError, ValueError):
        return False
    return "retention" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())
