"""What the call and SMS notifiers share: their once-per-incident options, the claim, the template env."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from exotel_provider.notifications.claim_store import AirflowVariableClaimStore
from exotel_provider.paging.incidents import PAGE_PER_CHOICES, ClaimStore, PageClaim, PagePer, claim_page

if TYPE_CHECKING:
    from airflow.sdk import Context


class IncidentClaims:
    """Mixed into a ``BaseNotifier``: ``per``, ``min_interval``, ``settle_seconds``, ``claim_store``,
    and :meth:`claim_incident` for the incident a callback reports (keys end in ``key_suffix``)."""

    key_suffix = ""
    """Appended to every claim key: notifiers of different kinds claim apart."""
    per: PagePer
    min_interval: float | None
    settle_seconds: float
    claim_store: ClaimStore | None

    def set_claim_options(
        self,
        *,
        per: PagePer,
        min_interval: float | datetime.timedelta | None,
        settle_seconds: float,
        claim_store: ClaimStore | None,
    ) -> None:
        """Validate and keep the once-per-incident options (``per`` must be a known choice)."""
        if per not in PAGE_PER_CHOICES:
            raise ValueError(f"per must be one of {', '.join(PAGE_PER_CHOICES)}, not {per!r}")
        self.per = per
        self.min_interval = (
            min_interval.total_seconds() if isinstance(min_interval, datetime.timedelta) else min_interval
        )
        self.settle_seconds = settle_seconds
        self.claim_store = claim_store

    def get_template_env(self, dag: Any = None) -> Any:
        """The notifier's template env; a DAG-level callback may get the scheduler's serialized DAG,
        which has none, so such a DAG is not asked for one."""
        return super().get_template_env(dag=dag if hasattr(dag, "get_template_env") else None)  # type: ignore[misc]

    def claim_incident(self, context: Context) -> PageClaim:
        """Claim the incident ``context`` reports (and the cooldown): whether to page, and what to give back."""
        from exotel_provider.notifications.exotel import incident_from_context
        from exotel_provider.paging.machine_lock import machine_lock

        store = self.claim_store or AirflowVariableClaimStore()
        return claim_page(
            store if not self.key_suffix else SuffixedClaimStore(store, self.key_suffix),
            incident_from_context(context),
            per=self.per,
            min_interval=self.min_interval,
            settle_seconds=self.settle_seconds,
            lock_for=lambda key: machine_lock(key + self.key_suffix),
        )


class SuffixedClaimStore:
    """A claim store whose keys all end in ``suffix``."""

    def __init__(self, store: ClaimStore, suffix: str) -> None:
        self._store = store
        self._suffix = suffix

    def read(self, key: str) -> str | None:
        """The stored value of ``key`` (suffixed), or None."""
        return self._store.read(key + self._suffix)

    def write(self, key: str, value: str) -> None:
        """Store ``value`` under ``key`` (suffixed)."""
        self._store.write(key + self._suffix, value)

    def remove(self, key: str) -> None:
        """Delete ``key`` (suffixed)."""
        self._store.remove(key + self._suffix)
