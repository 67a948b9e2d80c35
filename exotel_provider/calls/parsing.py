"""Reading Exotel's answers, JSON or XML, into :class:`Call` objects.

Exotel answers XML unless ``.json`` is asked for, and some proxies or error pages answer HTML or
nothing at all. Everything here is defensive: any body, however malformed, either parses or raises
:class:`~exotel_provider.errors.ExotelResponseError`; no other exception escapes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from exotel_provider.calls.model import Call
from exotel_provider.calls.status import parse_status
from exotel_provider.errors import ExotelError, ExotelResponseError

T = TypeVar("T")

_MAX_EXCERPT = 200


@dataclass(frozen=True)
class UnreadableEntry:
    """One entry of a listing page that could not be read (the others still were)."""

    sid: str | None
    """The entry's Sid when it has a readable one."""
    problem: str


@dataclass(frozen=True)
class CallPage:
    """One page of the bulk call-details listing, read entry by entry."""

    calls: tuple[Call, ...]
    total: int | None = None
    page_size: int | None = None
    next_page_uri: str | None = None
    prev_page_uri: str | None = None
    unreadable: tuple[UnreadableEntry, ...] = ()
    """Entries that could not be read: they affect only their own call."""

    def require_readable(self) -> CallPage:
        """This page, or :class:`ExotelResponseError` when any entry was unreadable (for callers
        that must see every listed call, such as the search for a lost call)."""
        if self.unreadable:
            first = self.unreadable[0]
            raise ExotelResponseError(
                f"{len(self.unreadable)} entries of Exotel's call listing could not be read "
                f"(first: {first.sid or 'no Sid'}: {first.problem})"
            )
        return self


@dataclass(frozen=True)
class ErrorBody:
    """Exotel's ``RestException``: the status it reports and its human message."""

    status: int | None
    message: str | None
    code: str | None = None


def parse_call(body: bytes | str) -> Call:
    """The Call in an answer to a call-placing or call-details request."""
    return _guarded(body, _call_from_document)


def parse_call_page(body: bytes | str) -> CallPage:
    """The calls and paging metadata in an answer to the bulk call-details request."""
    return _guarded(body, _page_from_document)


def parse_error_body(body: bytes | str) -> ErrorBody | None:
    """Exotel's ``RestException`` in an error answer, or None when the body holds none."""
    try:
        document = _load(body)
    except ExotelResponseError:
        return None
    try:
        exception = _unwrap(document).get("RestException") if isinstance(document, dict) else None
        if not isinstance(exception, dict):
            return None
        status = _as_int(exception.get("Status"), "Status")
        return ErrorBody(
            status=status, message=_as_str(exception.get("Message")), code=_as_str(exception.get("Code"))
        )
    except ExotelError:
        return None


def body_excerpt(body: bytes | str) -> str:
    """A short printable excerpt of an answer, for error messages."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return text if len(text) <= _MAX_EXCERPT else text[:_MAX_EXCERPT] + "..."


def call_from_fields(fields: dict[str, Any]) -> Call:
    """Build a Call from a mapping with Exotel's field names (as in ``{"Call": {...}}``)."""
    if not isinstance(fields, dict):
        raise ExotelResponseError(f"expected a Call object, got {type(fields).__name__}")
    sid = _as_str(fields.get("Sid"))
    if not sid:
        raise ExotelResponseError("the Call in Exotel's answer has no Sid")
    raw_status = _as_str(fields.get("Status"))
    details = fields.get("Details")
    return Call(
        sid=sid,
        status=parse_status(raw_status),
        raw_status=raw_status,
        parent_call_sid=_as_str(fields.get("ParentCallSid")),
        date_created=_as_str(fields.get("DateCreated")),
        date_updated=_as_str(fields.get("DateUpdated")),
        account_sid=_as_str(fields.get("AccountSid")),
        to=_as_str(fields.get("To")),
        from_=_as_str(fields.get("From")),
        phone_number_sid=_as_str(fields.get("PhoneNumberSid")),
        start_time=_as_str(fields.get("StartTime")),
        end_time=_as_str(fields.get("EndTime")),
        duration=_as_int(fields.get("Duration"), "Duration"),
        price=_as_float(fields.get("Price"), "Price"),
        direction=_as_str(fields.get("Direction")),
        answered_by=_as_str(fields.get("AnsweredBy")),
        forwarded_from=_as_str(fields.get("ForwardedFrom")),
        caller_name=_as_str(fields.get("CallerName")),
        uri=_as_str(fields.get("Uri")),
        recording_url=_as_str(fields.get("RecordingUrl")),
        details=details if isinstance(details, dict) else None,
    )


# --- documents -------------------------------------------------------------------------------


def _guarded(body: bytes | str, read: Callable[[Any], T]) -> T:
    """Run a reader over a loaded document; anything unexpected becomes ExotelResponseError."""
    document = _load(body)
    try:
        return read(document)
    except ExotelError:
        raise
    except Exception as err:  # a shape no reader expected: still only our own error type escapes
        raise ExotelResponseError(
            f"unexpected shape in Exotel's answer ({type(err).__name__}): {body_excerpt(body)}"
        ) from None


def _load(body: bytes | str) -> Any:
    """Decode a JSON or XML body (sniffed from its first character) into plain Python data."""
    try:
        text = body.decode("utf-8-sig") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise ExotelResponseError("Exotel's answer is not UTF-8 text") from None
    stripped = text.strip()
    if not stripped:
        raise ExotelResponseError("Exotel's answer is empty")
    lowered = stripped[:200].lower()
    if lowered.startswith("<!doctype html") or lowered.startswith("<html"):
        raise ExotelResponseError(f"Exotel's answer is an HTML page, not an API answer: {body_excerpt(text)}")
    if stripped[0] == "<":
        import xmltodict  # only XML answers need it; keeps DAG-file imports light

        malformed: tuple[type[Exception], ...] = (ValueError, RecursionError, xmltodict.expat.ExpatError)
    else:
        malformed = (ValueError, RecursionError)
    try:
        if stripped[0] in "{[":
            return json.loads(stripped)
        if stripped[0] == "<":
            return xmltodict.parse(stripped, disable_entities=True)
    except malformed as err:
        kind = "JSON" if stripped[0] in "{[" else "XML"
        raise ExotelResponseError(
            f"Exotel's answer is malformed {kind} ({err}): {body_excerpt(text)}"
        ) from None
    raise ExotelResponseError(f"Exotel's answer is neither JSON nor XML: {body_excerpt(text)}")


def _unwrap(document: Any) -> Any:
    """Strip the XML root ``TwilioResponse`` so JSON and XML documents look alike."""
    if isinstance(document, dict) and set(document) == {"TwilioResponse"}:
        inner = document["TwilioResponse"]
        return inner if isinstance(inner, dict) else {}
    return document


def _call_from_document(document: Any) -> Call:
    document = _unwrap(document)
    if not isinstance(document, dict) or "Call" not in document:
        raise ExotelResponseError("Exotel's answer holds no Call")
    call = document["Call"]
    if isinstance(call, list) and len(call) == 1:
        call = call[0]
    return call_from_fields(call)


def _page_from_document(document: Any) -> CallPage:
    document = _unwrap(document)
    if not isinstance(document, dict):
        raise ExotelResponseError("Exotel's call listing is not an object")
    entries = document.get("Calls", document.get("Call"))
    if isinstance(entries, dict):  # XML: <Calls><Call/>...</Calls>, or a single <Call>
        entries = entries.get("Call", entries) if "Sid" not in entries else [entries]
    if entries is None:
        entries = []
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        raise ExotelResponseError("Exotel's call listing holds no list of calls")
    metadata = document.get("Metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    calls: list[Call] = []
    unreadable: list[UnreadableEntry] = []
    for entry in entries:
        try:
            calls.append(call_from_fields(entry))
        except Exception as err:  # one bad entry is that call's problem, not the page's
            sid = _as_str(entry.get("Sid")) if isinstance(entry, dict) else None
            problem = str(err) if isinstance(err, ExotelError) else f"unexpected shape ({type(err).__name__})"
            unreadable.append(UnreadableEntry(sid, problem))
    return CallPage(
        calls=tuple(calls),
        unreadable=tuple(unreadable),
        total=_as_int(metadata.get("Total"), "Total"),
        page_size=_as_int(metadata.get("PageSize"), "PageSize"),
        next_page_uri=_as_str(metadata.get("NextPageUri")),
        prev_page_uri=_as_str(metadata.get("PrevPageUri")),
    )


# --- fields ----------------------------------------------------------------------------------


def _as_str(value: Any) -> str | None:
    if isinstance(value, dict):  # XML element with attributes
        value = value.get("#text")
    if value is None or isinstance(value, (list, dict)):
        return None
    text = str(value).strip()
    return text or None


def _as_float(value: Any, name: str) -> float | None:
    if isinstance(value, bool):
        raise ExotelResponseError(f"{name} in Exotel's answer is not a number: {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = _as_str(value)
        if text is None or text.lower() in {"null", "none"}:
            return None
        try:
            number = float(text)
        except ValueError:
            raise ExotelResponseError(f"{name} in Exotel's answer is not a number: {text[:40]!r}") from None
    if not math.isfinite(number):
        raise ExotelResponseError(f"{name} in Exotel's answer is not a finite number")
    return number


def _as_int(value: Any, name: str) -> int | None:
    number = _as_float(value, name)
    return None if number is None else int(number)
