"""What the triggers that wait through the shared batched watcher have in common.

Both :class:`~exotel_provider.triggers.exotel.ExotelCallTrigger` (one call) and
:class:`~exotel_provider.triggers.campaign.ExotelCampaignTrigger` (a campaign's calls) keep the same
watching settings, serialize them the same way, join the connection's shared
:class:`~exotel_provider.watching.watcher.CallWatcher` and watch each call with those settings;
:class:`~exotel_provider.triggers.sms.ExotelSmsTrigger` joins the same watcher
(:func:`shared_watcher_for`) for its SMS.
"""

from __future__ import annotations

import functools
from contextlib import AbstractAsyncContextManager
from typing import Any

from airflow.triggers.base import BaseTrigger

from exotel_provider.calls.progress import DEFAULT_POLL_INTERVAL_SECONDS, DEFAULT_PRICING_GRACE_SECONDS


def shared_watcher_for(exotel_conn_id: str) -> AbstractAsyncContextManager[Any]:
    """The connection's shared watcher in this triggerer process, for calls and SMS alike: the
    connection is read asynchronously when the watcher is created, then joined and released."""
    from exotel_provider.hooks.exotel import settings_for_connection
    from exotel_provider.watching.registry import shared_call_watcher

    return shared_call_watcher(exotel_conn_id, functools.partial(settings_for_connection, exotel_conn_id))


class CallWatchingTrigger(BaseTrigger):
    """A trigger that watches calls of one Exotel connection until ``deadline`` (epoch seconds)."""

    def __init__(
        self,
        *,
        deadline: float,
        exotel_conn_id: str = "exotel_default",
        poll_interval: float = DEFAULT_POLL_INTERVAL_SECONDS,
        pricing_grace_seconds: float = DEFAULT_PRICING_GRACE_SECONDS,
        time_limit: int | None = None,
    ) -> None:
        super().__init__()
        self.deadline = float(deadline)
        self.exotel_conn_id = str(exotel_conn_id)
        self.poll_interval = float(poll_interval)
        self.pricing_grace_seconds = float(pricing_grace_seconds)
        self.time_limit = None if time_limit is None else int(time_limit)

    def serialized(self, **own: Any) -> tuple[str, dict[str, Any]]:
        """``serialize()``'s answer: the trigger's own arguments plus the watching settings."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                **own,
                "deadline": self.deadline,
                "exotel_conn_id": self.exotel_conn_id,
                "poll_interval": self.poll_interval,
                "pricing_grace_seconds": self.pricing_grace_seconds,
                "time_limit": self.time_limit,
            },
        )

    def shared_watcher(self) -> AbstractAsyncContextManager[Any]:
        """The connection's watcher in this triggerer process (read asynchronously, joined, released)."""
        return shared_watcher_for(self.exotel_conn_id)

    def watch(self, watcher: Any, call_sid: str) -> Any:
        """Start watching one call with this trigger's settings (give it back with ``unwatch``)."""
        return watcher.watch(
            call_sid,
            poll_interval=self.poll_interval,
            pricing_grace_seconds=self.pricing_grace_seconds,
            time_limit=self.time_limit,
        )
