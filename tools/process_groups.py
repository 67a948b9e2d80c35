"""The process groups this process started (Airflow components, PostgreSQL, Redis, simulators), ended
on every way out: a normal exit (``atexit``), Ctrl-C, and SIGTERM or SIGHUP once
:func:`stop_on_termination_signals` turned those into ``KeyboardInterrupt`` so that ``finally``
blocks and pytest's fixture teardowns run first.

Each server is started with ``start_new_session=True`` (its own process group, so that its children
go with it) and tracked here until it is stopped.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import threading
import time

_groups: dict[int, str] = {}
_lock = threading.Lock()
_owner = os.getpid()


def track(pid: int, name: str) -> None:
    """Remember the process group led by ``pid`` (a process started with ``start_new_session``)."""
    with _lock:
        _groups[pid] = name


def untrack(pid: int) -> None:
    with _lock:
        _groups.pop(pid, None)


def tracked() -> dict[int, str]:
    """The process groups still running, by leader pid."""
    with _lock:
        return dict(_groups)


def stop_all(grace: float = 5.0) -> list[str]:
    """SIGTERM every tracked group, SIGKILL what is left after ``grace`` seconds; the names stopped.

    Only in the process that started them: a forked child exiting must not stop its parent's servers.
    """
    if os.getpid() != _owner:
        return []
    with _lock:
        groups = dict(_groups)
        _groups.clear()
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(pgid) for pgid in groups):
        time.sleep(0.1)
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    return sorted(groups.values())


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pgid, os.WNOHANG)  # reap our own child, or it stays a zombie that looks alive
    return True


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def stop_on_termination_signals() -> None:
    """SIGTERM and SIGHUP raise KeyboardInterrupt (as Ctrl-C does), so cleanup code runs; main thread only."""
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, _interrupt)


atexit.register(stop_all)
