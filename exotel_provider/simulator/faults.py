"""Injected faults: what a real network and a real Exotel sometimes do, on demand, per request.

A :class:`Fault` says what goes wrong (an error status, a slow or cut answer, an unreadable body,
credentials suddenly refused) and which requests it hits: the next ``times`` requests whose method
and path match, after letting ``skip`` of them through. Faults that happen *after* the simulator
processed the request leave its effect in place: a ``drop`` on ``POST .../Calls/connect`` places
the call, then closes the connection without an answer, as a lost response does.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class FaultKind(StrEnum):
    """What an injected fault does to a request's answer."""

    STATUS = "status"
    """Answer with ``status`` (429, 500, 502, 503 ...) and Exotel's RestException body."""
    DELAY = "delay"
    """Hold the answer ``delay_seconds`` (real seconds), e.g. past the client's timeout."""
    DROP = "drop"
    """Close the connection without any answer."""
    MALFORMED_JSON = "malformed_json"
    """A truncated JSON body."""
    XML_INSTEAD_OF_JSON = "xml_instead_of_json"
    """Exotel's XML answer although ``.json`` was asked for."""
    HTML_PAGE = "html_page"
    """An HTML error page, as a proxy or load balancer serves it (with ``message`` in it, as a
    debugging proxy echoes what it received)."""
    EMPTY_BODY = "empty_body"
    """No body at all."""
    CREDENTIALS_REJECTED = "credentials_rejected"
    """401 as if the API key/token had been revoked (give ``times=None`` for "from now on")."""
    UNDOCUMENTED_STATUS = "undocumented_status"
    """The calls in the answer (the one with Sid ``sid``, or all) report ``call_status``, a status
    Exotel's documentation does not list (JSON answers)."""
    UNREADABLE_ENTRY = "unreadable_entry"
    """One call in the answer (the one with Sid ``sid``, or the first) has ``Price`` "N/A": an entry
    no client can read, next to readable ones (JSON answers)."""


_BODY_KINDS = frozenset(
    {FaultKind.MALFORMED_JSON, FaultKind.XML_INSTEAD_OF_JSON, FaultKind.HTML_PAGE, FaultKind.EMPTY_BODY}
)
_CALL_REWRITES = frozenset({FaultKind.UNDOCUMENTED_STATUS, FaultKind.UNREADABLE_ENTRY})
_PROCESSED_BY_DEFAULT = _BODY_KINDS | _CALL_REWRITES | {FaultKind.DELAY, FaultKind.DROP}

CONNECT_PATH = r"/Calls/connect(\.json)?$"
"""``path`` pattern of the call-placing request."""
CALL_PATH = r"/Calls(\.json)?/[^/]+$"
"""``path`` pattern of one call's details (not ``Calls/connect``: that is a POST)."""
LISTING_PATH = r"/Calls(\.json)?$"
"""``path`` pattern of the bulk call-details listing."""

SMS_SEND_PATH = r"/Sms/(bulk)?send(\.json)?$"
"""``path`` pattern of the SMS-sending requests (``Sms/send``, ``Sms/bulksend``)."""
SMS_PATH = r"/SMS/Messages/[^/]+$"
"""``path`` pattern of one SMS's details."""

HTML_ERROR_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n"
)


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour and the requests it applies to.

    :param kind: a :class:`FaultKind` (or its value).
    :param method: HTTP method to match (any when None).
    :param path: regular expression searched in the request path (any when None); see
        :data:`CONNECT_PATH`, :data:`CALL_PATH`, :data:`LISTING_PATH`.
    :param times: how many matching requests it hits; None: every one from now on.
    :param skip: let this many matching requests through untouched first.
    :param status: the HTTP status (``status`` faults; body faults default to 200).
    :param retry_after: ``Retry-After`` header value in seconds (omitted when None).
    :param delay_seconds: real seconds to hold the answer (``delay`` faults).
    :param after_processing: whether the request takes effect before the fault strikes
        (a call is placed). Defaults: True for delay, drop and body faults, False for statuses.
    :param message: the RestException message of ``status`` faults; text shown in an ``html_page``.
    :param sid: the call an ``undocumented_status`` or ``unreadable_entry`` fault rewrites.
    :param call_status: the status an ``undocumented_status`` fault reports.
    """

    kind: str
    method: str | None = None
    path: str | None = None
    times: int | None = 1
    skip: int = 0
    status: int | None = None
    retry_after: float | None = None
    delay_seconds: float = 0.0
    after_processing: bool | None = None
    message: str | None = None
    sid: str | None = None
    call_status: str = "on-hold"

    def __post_init__(self) -> None:
        try:
            kind = FaultKind(self.kind)
        except ValueError:
            allowed = ", ".join(k.value for k in FaultKind)
            raise ValueError(f"kind must be one of {allowed}; got {self.kind!r}") from None
        object.__setattr__(self, "kind", kind.value)
        if self.method is not None:
            object.__setattr__(self, "method", self.method.upper())
        if self.path is not None:
            re.compile(self.path)
        if self.times is not None and self.times < 1:
            raise ValueError(f"times must be >= 1 or None, got {self.times}")
        if self.skip < 0:
            raise ValueError(f"skip must be >= 0, got {self.skip}")
        if kind is FaultKind.STATUS and (self.status is None or not 400 <= self.status <= 599):
            raise ValueError(f"a status fault needs an HTTP error status (4xx/5xx), got {self.status}")
        if self.status is not None and not 200 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status, got {self.status}")
        if self.delay_seconds < 0:
            raise ValueError(f"delay_seconds must be >= 0, got {self.delay_seconds}")
        if kind is FaultKind.DELAY and self.delay_seconds == 0:
            raise ValueError("a delay fault needs delay_seconds > 0")
        if kind in _CALL_REWRITES and self.after_processing is False:
            raise ValueError(f"a {kind.value} fault rewrites an answer: it needs after_processing")

    @property
    def fault_kind(self) -> FaultKind:
        """The fault's kind as a :class:`FaultKind`."""
        return FaultKind(self.kind)

    @property
    def processes_request(self) -> bool:
        """Whether the request takes effect (e.g. the call is placed) before the fault strikes."""
        if self.after_processing is not None:
            return self.after_processing
        return self.fault_kind in _PROCESSED_BY_DEFAULT

    @property
    def answer_status(self) -> int:
        """The HTTP status the fault answers with."""
        if self.fault_kind is FaultKind.CREDENTIALS_REJECTED:
            return 401
        if self.status is not None:
            return self.status
        return 502 if self.fault_kind is FaultKind.HTML_PAGE else 200

    def matches(self, method: str, path: str) -> bool:
        """True when the fault applies to a request of ``method`` on ``path``."""
        if self.method is not None and self.method != method.upper():
            return False
        return self.path is None or re.search(self.path, path) is not None

    def describe(self) -> str:
        """A one-line description, for logs and ``GET /_simulator/faults``."""
        target = f"{self.method or '*'} {self.path or '*'}"
        detail = f" {self.answer_status}" if self.fault_kind is FaultKind.STATUS else ""
        return f"{self.kind}{detail} on {target}"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Fault:
        """Build from a JSON object; unknown keys are an error."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown Fault fields: {', '.join(unknown)}")
        if "kind" not in data:
            raise ValueError("a fault needs a kind")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """The fault as JSON-ready fields."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class InjectedFault:
    """A fault that struck one request (what the request log and counters report)."""

    fault: Fault
    method: str
    path: str


class FaultPlan:
    """The armed faults, in the order they were added; thread-safe.

    Each request consults the plan once: the first armed fault that matches and has no ``skip``
    left strikes (and loses one of its ``times``); matching faults still skipping count this
    request as one skipped.
    """

    def __init__(self) -> None:
        self._armed: list[list[Any]] = []  # [fault, remaining times (None: unlimited), skips left]
        self._injected: list[InjectedFault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        """Arm ``fault``."""
        with self._lock:
            self._armed.append([fault, fault.times, fault.skip])
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if any (consumed), or None."""
        with self._lock:
            chosen: Fault | None = None
            for entry in self._armed:
                fault, remaining, skips = entry
                if not fault.matches(method, path):
                    continue
                if skips > 0:
                    entry[2] = skips - 1
                    continue
                if chosen is None:
                    chosen = fault
                    if remaining is not None:
                        entry[1] = remaining - 1
            self._armed = [entry for entry in self._armed if entry[1] is None or entry[1] > 0]
            if chosen is not None:
                self._injected.append(InjectedFault(chosen, method.upper(), path))
            return chosen

    def armed(self) -> list[Fault]:
        """The faults armed and not used up."""
        with self._lock:
            return [entry[0] for entry in self._armed]

    @property
    def injected(self) -> list[InjectedFault]:
        """Every fault that struck a request, oldest first."""
        with self._lock:
            return list(self._injected)

    def clear(self) -> None:
        """Disarm every fault and forget the injected ones."""
        with self._lock:
            self._armed.clear()
            self._injected.clear()
