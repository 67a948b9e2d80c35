"""One call per incident: which incident a callback belongs to, and who may call about it.

Every callback that may page (a failed task on any worker, the DAG's callback in the dag-processor, a
Deadline Alert in the triggerer) first *claims* its incident in a store they all see. Airflow offers no
atomic create-if-absent to callbacks (its Variables, the one store workers, the dag-processor and the
triggerer can all read and write, are last-writer-wins upserts), so :func:`claim` uses
write-then-read-back: a callback that finds no live claim writes its own token, waits ``settle_seconds``
and reads the key again; it calls only if its token is still there. Racing callbacks that all found the
key empty all wrote before any of them reads back, so they all read the same last token and exactly one
wins. The residual window: a callback whose read-then-write gap exceeds ``settle_seconds`` (a stalled
process) can overwrite a claim already read back, and both call.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

PagePer = Literal["run", "task", "every"]
PAGE_PER_CHOICES: tuple[PagePer, ...] = ("run", "task", "every")
KEY_PREFIX = "exotel_page"
DEFAULT_SETTLE_SECONDS = 2.0


class ClaimStore(Protocol):
    """A string key-value store every paging process reads and writes (Airflow Variables in production)."""

    def read(self, key: str) -> str | None:
        """The stored value of ``key``, or None."""

    def write(self, key: str, value: str) -> None:
        """Store ``value`` under ``key`` (last writer wins is enough)."""

    def remove(self, key: str) -> None:
        """Delete ``key``."""


@dataclass(frozen=True)
class Incident:
    """What failed: a DAG run, or one task of it (all map indexes of a task are one incident)."""

    dag_id: str
    run_id: str
    task_id: str | None = None

    def describe(self) -> str:
        """``dag/task (run id)``: what failed, for the call's custom field and the log."""
        where = f"{self.dag_id}/{self.task_id}" if self.task_id else self.dag_id
        return f"{where} (run {self.run_id})"


@dataclass(frozen=True)
class ClaimKeys:
    """The store keys a page must win: the incident's own, and the cooldown's (if ``min_interval``)."""

    incident: str | None
    cooldown: str | None


def claim_keys(incident: Incident, *, per: PagePer, with_cooldown: bool) -> ClaimKeys:
    """``per="run"``: one call per (dag_id, run_id); ``"task"``: per (dag_id, run_id, task_id);
    ``"every"``: no deduplication. The cooldown is per DAG, or per DAG and task with ``per="task"``."""
    if per not in PAGE_PER_CHOICES:
        raise ValueError(f"per must be one of {', '.join(PAGE_PER_CHOICES)}, not {per!r}")
    task = incident.task_id if per == "task" else None
    incident_key = None if per == "every" else _key("incident", incident.dag_id, incident.run_id, task)
    cooldown_key = _key("cooldown", incident.dag_id, task) if with_cooldown else None
    return ClaimKeys(incident=incident_key, cooldown=cooldown_key)


def _key(kind: str, *parts: str | None) -> str:
    """A short, fixed-length key (Variable keys are limited to 250 characters; ids may be as long)."""
    digest = hashlib.sha256(json.dumps([kind, *parts]).encode()).hexdigest()[:32]
    return f"{KEY_PREFIX}.{kind}.{digest}"


@dataclass(frozen=True)
class Claim:
    """A claim as stored: who made it and when (wall clock, seconds)."""

    token: str
    claimed_at: float
    about: str = ""

    def dumps(self) -> str:
        """The claim as the JSON text stored in the claim store."""
        return json.dumps({"token": self.token, "claimed_at": self.claimed_at, "about": self.about})

    @classmethod
    def loads(cls, text: str | None) -> Claim | None:
        """A stored claim, or None for an empty key or one this code did not write."""
        try:
            data: Mapping[str, Any] = json.loads(text or "")
            return cls(str(data["token"]), float(data["claimed_at"]), str(data.get("about", "")))
        except (ValueError, TypeError, KeyError):
            return None


def new_token() -> str:
    """A random token that tells one callback's claim from another's."""
    return uuid.uuid4().hex


def claim(
    store: ClaimStore,
    key: str,
    token: str,
    *,
    about: str = "",
    live_for: float | None = None,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    lock: ContextManager[Any] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> bool:
    """Try to take ``key`` for ``token``; True if this caller won it.

    An existing claim blocks for ``live_for`` seconds after it was made (for ever when None). ``lock``
    (e.g. a file lock) serialises claimants on one machine, closing the window among them entirely.
    """
    with lock or contextlib.nullcontext():
        existing = Claim.loads(store.read(key))
        if existing is not None and (live_for is None or clock() - existing.claimed_at < live_for):
            return existing.token == token
        store.write(key, Claim(token, clock(), about).dumps())
        if settle_seconds > 0:
            sleep(settle_seconds)
        current = Claim.loads(store.read(key))
        return current is not None and current.token == token


def release(store: ClaimStore, key: str, token: str) -> None:
    """Give a claim back (the page could not be placed), so that a later callback may try again."""
    current = Claim.loads(store.read(key))
    if current is not None and current.token == token:
        store.remove(key)


@dataclass
class PageClaim:
    """The outcome of claiming a page: whether to call, why not, and the keys to give back on failure."""

    won: bool
    reason: str
    store: ClaimStore
    token: str
    held: list[str]

    def release(self) -> None:
        """Give back every claim held, so that the next failure pages again."""
        for key in self.held:
            release(self.store, key, self.token)


def claim_page(
    store: ClaimStore,
    incident: Incident | None,
    *,
    per: PagePer,
    min_interval: float | None,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    lock_for: Callable[[str], ContextManager[Any]] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PageClaim:
    """Claim the incident (unless ``per="every"`` or the run is unknown), then the cooldown."""
    token, held = new_token(), list[str]()
    keys = claim_keys(incident or Incident("", ""), per=per, with_cooldown=min_interval is not None)
    if incident is None or not incident.run_id:  # no run to deduplicate on: better a call than none
        keys = ClaimKeys(incident=None, cooldown=keys.cooldown if incident else None)
    steps = (
        (keys.incident, None, "another callback pages about"),
        (keys.cooldown, min_interval, "cooldown after a page about"),
    )
    about = incident.describe() if incident else "an unknown run"
    for key, live_for, lost_reason in steps:
        if key is None:
            continue
        lock = lock_for(key) if lock_for else None
        if not claim(
            store,
            key,
            token,
            about=about,
            live_for=live_for,
            settle_seconds=settle_seconds,
            lock=lock,
            sleep=sleep,
        ):
            previous = Claim.loads(store.read(key))
            return PageClaim(
                False, f"{lost_reason} {previous.about if previous else about}", store, token, held
            )
        held.append(key)
    return PageClaim(True, f"paging about {about}", store, token, held)
