"""Small values a task instance remembers across its own retries (Airflow 3.3's task_state_store).

On Airflow 3.1 and 3.2 there is no such store: :class:`TaskMemory` then remembers nothing
(``available`` is False), and a retry cannot know what an earlier try did.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from exotel_provider.placement.state_store import NEVER_EXPIRE, takes_retention

log = logging.getLogger(__name__)

__all__ = ["NEVER_EXPIRE", "TaskMemory"]


class TaskMemory:
    """A key/value memory scoped to one task instance, surviving its retries when Airflow allows.

    Satisfies :class:`~exotel_provider.placement.state_store.StateStore`. Keys are written never
    to expire where the store takes a ``retention`` (Airflow 3.3's does).
    """

    def __init__(self, context: Mapping[str, Any]) -> None:
        self._store = context.get("task_state_store")
        self._takes_retention = takes_retention(self._store)

    @property
    def available(self) -> bool:
        """True when the task has a state store (Airflow 3.3+)."""
        return self._store is not None

    def get(self, key: str) -> Any:
        """The task's value of ``key``, or None."""
        if self._store is None:
            return None
        return self._store.get(key)

    def set(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``, never expiring (nothing without a store)."""
        if self._store is None:
            return
        if self._takes_retention:
            self._store.set(key, value, retention=NEVER_EXPIRE)
        else:
            self._store.set(key, value)

    def delete(self, key: str) -> None:
        """Forget ``key`` (a no-op when absent or when there is no store)."""
        if self._store is None:
            return
        delete = getattr(self._store, "delete", None)
        if delete is not None:
            delete(key)  # Airflow's own delete is a no-op for an absent key: no read first
        elif self._store.get(key) is not None:
            self._store.set(key, None)
