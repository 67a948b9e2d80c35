"""One CallWatcher per (connection, event loop) in a triggerer process, shared by all its triggers,
those waiting for calls and those waiting for SMS.

The first trigger for a connection reads the connection (asynchronously) and creates the watcher;
later ones join it; the last one to leave closes it and its HTTP client. Every watcher's client asks
the account's request budget (:func:`~exotel_provider.client.request_budget.account_budget`), the
same one the hook's client in this process uses, so two connections to one account share it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from exotel_provider.client.request_budget import Clock, account_budget

if TYPE_CHECKING:
    from exotel_provider.client.settings import ExotelSettings
    from exotel_provider.watching.watcher import CallWatcher

SettingsLoader = Callable[[], Awaitable["ExotelSettings"]]
"""Reads a connection's settings without blocking the event loop (the trigger passes its hook's)."""


@dataclass(eq=False)
class _Entry:
    loop: asyncio.AbstractEventLoop
    ready: asyncio.Future[CallWatcher]
    users: int = 0
    closing: bool = False


_watchers: dict[tuple[str, int], _Entry] = {}
_clock: Clock | None = None
"""The clock new watchers run on; None: the wall clock, shared with the hook's budget in this
process (tests and the benchmark put a simulated one here)."""


def active_watchers() -> list[CallWatcher]:
    """The watchers currently open in this process (for tests and diagnostics)."""
    return [
        entry.ready.result()
        for entry in _watchers.values()
        if entry.ready.done() and not entry.ready.cancelled() and entry.ready.exception() is None
    ]


@contextlib.asynccontextmanager
async def shared_call_watcher(
    exotel_conn_id: str, load_settings: SettingsLoader
) -> AsyncIterator[CallWatcher]:
    """The shared watcher for this connection, held for the duration of the block.

    ``load_settings`` reads the connection when the watcher is first created (the Airflow adapter
    supplies it, so that watching itself knows nothing of Airflow).
    """
    loop = asyncio.get_running_loop()
    key = (exotel_conn_id, id(loop))
    entry = _watchers.get(key)
    creating = entry is None or entry.loop is not loop or entry.closing
    if creating:
        entry = _watchers[key] = _Entry(loop=loop, ready=loop.create_future())
    assert entry is not None
    entry.users += 1
    try:
        if creating:
            try:
                entry.ready.set_result(await _create_watcher(load_settings))
            except BaseException as err:
                if _watchers.get(key) is entry:
                    del _watchers[key]
                failure = (
                    err
                    if isinstance(err, Exception)
                    else RuntimeError("creating the shared Exotel watcher was interrupted")
                )
                entry.ready.set_exception(failure)
                entry.ready.exception()  # marks it retrieved; triggers that joined re-raise it
                raise
        yield await asyncio.shield(entry.ready)
    finally:
        await _leave(key, entry)


async def _leave(key: tuple[str, int], entry: _Entry) -> None:
    entry.users -= 1
    if entry.users > 0 or entry.closing:
        return
    entry.closing = True
    if _watchers.get(key) is entry:
        del _watchers[key]
    if entry.ready.done() and not entry.ready.cancelled() and entry.ready.exception() is None:
        await entry.ready.result().aclose()


async def _create_watcher(load_settings: SettingsLoader) -> CallWatcher:
    from exotel_provider.client.async_client import ExotelAsyncClient
    from exotel_provider.watching.watcher import CallWatcher

    settings = await load_settings()
    budget = account_budget(settings, _clock)
    client = ExotelAsyncClient(settings, budget=budget, clock=budget.clock)
    return CallWatcher(client, clock=budget.clock)
