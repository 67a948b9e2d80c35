"""ExotelCampaignTrigger: wait in the triggerer until every call of a campaign is final, in one deferral.

All the campaign's calls join the shared :class:`~exotel_provider.watching.watcher.CallWatcher` of the
connection, which asks Exotel about up to 100 of them per request within the account's request
budget. One event comes out, when the last call is final or at the deadline:

``{"status": "done", "calls": {sid: {call fields}}, "failed": {sid: message}}``

``calls`` holds the final details (:data:`EVENT_CALL_FIELDS`) of each call that became final;
``failed`` says why watching a call ended without them (a timeout, an unknown Sid).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import TriggerEvent

from exotel_provider import errors
from exotel_provider.calls.progress import DEFAULT_POLL_INTERVAL_SECONDS as DEFAULT_POLL_INTERVAL
from exotel_provider.calls.progress import DEFAULT_PRICING_GRACE_SECONDS, Assessment
from exotel_provider.campaigns.progress import PROGRESS_LOG_SECONDS
from exotel_provider.triggers.watching import CallWatchingTrigger

log = logging.getLogger(__name__)

DONE = "done"
EVENT_CALL_FIELDS = ("Sid", "Status", "From", "DateCreated", "StartTime", "EndTime", "Duration", "Price")
"""The fields of each final call the event carries (kept small: a campaign may have 10,000 calls)."""
RESOLVE_CHECK_SECONDS = 5.0
"""How often a wait for lost answers' windows reads the placement clock again (no request made)."""


class ExotelCampaignTrigger(CallWatchingTrigger):
    """Fires once every call in ``call_sids`` is final, or at ``deadline`` with what is known then.

    :param call_sids: the campaign's calls.
    :param exotel_conn_id: the Exotel connection (read asynchronously in the triggerer).
    :param deadline: wall-clock time (epoch seconds) after which the calls not final yet are reported
        under ``failed``.
    :param poll_interval: how often, at most, to ask about a call while it may change.
    :param pricing_grace_seconds: how long after a call was first seen ended to wait for its price.
    :param time_limit: the calls' ``TimeLimit`` if known (a call the listing never shows is looked
        up on its own after it).
    :param resolve_after: the event waits until then too (the watcher's clock, capped by the
        deadline): the moment every call whose placing answer was lost must be listed, so that the
        task resumes able to resolve them (adopted or proven not placed).
    """

    def __init__(
        self,
        call_sids: list[str],
        *,
        deadline: float,
        exotel_conn_id: str = "exotel_default",
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        pricing_grace_seconds: float = DEFAULT_PRICING_GRACE_SECONDS,
        time_limit: int | None = None,
        resolve_after: float | None = None,
    ) -> None:
        super().__init__(
            deadline=deadline,
            exotel_conn_id=exotel_conn_id,
            poll_interval=poll_interval,
            pricing_grace_seconds=pricing_grace_seconds,
            time_limit=time_limit,
        )
        self.call_sids = [str(sid) for sid in call_sids]
        self.resolve_after = None if resolve_after is None else float(resolve_after)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The trigger's class path and kwargs (no secrets)."""
        return self.serialized(call_sids=self.call_sids, resolve_after=self.resolve_after)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # The shared watcher is released before the event is yielded, whatever the triggerer does next.
        """Watch every call of the campaign; one event with all their outcomes."""
        yield TriggerEvent(await self._outcomes())

    async def _outcomes(self) -> dict[str, Any]:
        calls: dict[str, dict[str, Any]] = {}
        failed: dict[str, str] = {}
        try:
            async with self.shared_watcher() as watcher:
                waits = [self._wait_one(watcher, sid, calls, failed) for sid in dict.fromkeys(self.call_sids)]
                reporter = asyncio.ensure_future(self._report_progress(calls, failed))
                try:
                    await asyncio.gather(*waits)
                finally:
                    reporter.cancel()
                await self._until_resolvable(watcher.clock)
        except errors.ExotelError as err:  # the connection could not be read: no call was watched
            failed.update({sid: str(err) for sid in self.call_sids if sid not in calls})
        log.info("Exotel campaign: %d calls final, %d not", len(calls), len(failed))
        return {"status": DONE, "calls": calls, "failed": failed}

    async def _until_resolvable(self, clock: Any) -> None:
        """Wait (no request made) until the lost answers' windows are complete, or the deadline.

        The windows are on the placement clock (the guard's, which stands for Exotel's time): the
        wait ends once that clock, or the watcher's, has reached ``resolve_after``. In a deployment
        both are this machine's clock; a placement clock that runs faster (a simulated Exotel)
        shortens the wait as it shortens every call. The resumed task judges each window on the
        placement clock, so ending early never decides anything: it costs one more round.
        """
        if self.resolve_after is None:
            return
        from exotel_provider.placement import guard

        until = min(self.resolve_after, self.deadline)
        remaining = until - max(clock.now(), guard.DEFAULT_CLOCK.now())
        if remaining > 0:
            log.info(
                "Exotel campaign: waiting %.0f s until calls whose answer was lost are listed", remaining
            )
        while remaining > 0:
            await clock.sleep(min(remaining, RESOLVE_CHECK_SECONDS))
            remaining = until - max(clock.now(), guard.DEFAULT_CLOCK.now())

    async def _wait_one(
        self, watcher: Any, sid: str, calls: dict[str, dict[str, Any]], failed: dict[str, str]
    ) -> None:
        """Watch one call; its final details go to ``calls``, or why there are none to ``failed``."""
        watch = self.watch(watcher, sid)
        try:
            assessment: Assessment = await watcher.wait(watch, deadline=self.deadline)
        except errors.ExotelError as err:
            failed[sid] = str(err) or type(err).__name__
            return
        except Exception as err:
            log.exception("Exotel: watching call %s failed unexpectedly", sid)
            failed[sid] = f"{type(err).__name__}: {err}"
            return
        finally:
            watcher.unwatch(watch)
        details = assessment.call.to_dict()
        calls[sid] = {name: details.get(name) for name in EVENT_CALL_FIELDS}

    async def _report_progress(self, calls: dict[str, Any], failed: dict[str, str]) -> None:
        total = len(set(self.call_sids))
        while True:
            await asyncio.sleep(PROGRESS_LOG_SECONDS)
            log.info("Exotel campaign: %d/%d calls final so far", len(calls) + len(failed), total)
