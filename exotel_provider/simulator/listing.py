"""``GET /Calls``: the bulk call details filters, sorting and cursor paging."""

from __future__ import annotations

import base64
import binascii
import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any
from urllib.parse import urlencode

from exotel_provider.simulator.clock import INDIA_TIME, parse_exotel_time
from exotel_provider.simulator.errors import ApiError
from exotel_provider.simulator.lifecycle import DIRECTION, CallStatus, SimulatedCall
from exotel_provider.simulator.phone_numbers import InvalidPhoneNumber, to_national

MAX_SIDS = 100
MAX_NUMBERS = 5
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
DEFAULT_WINDOW_SECONDS = 31 * 86400
MAX_RANGE_SECONDS = 31 * 86400
MAX_AGE_SECONDS = 183 * 86400
DIRECTIONS = frozenset({"inbound", "outbound-dial", "outbound-api"})
_CURSOR_PREFIX = "exosim:"

Query = Mapping[str, Sequence[str]]
Range = tuple[float | None, float | None]


@dataclass(frozen=True)
class ListingQuery:
    """The validated filters, sort order and cursor of one listing request."""

    sids: tuple[str, ...] | None
    statuses: frozenset[str] | None
    from_numbers: frozenset[str] | None
    to_numbers: frozenset[str] | None
    directions: frozenset[str] | None
    created: Range
    duration: Range | None
    price: Range | None
    page_size: int
    descending: bool
    before: int | None
    after: int | None

    @classmethod
    def parse(cls, query: Query, now: float, time_zone: tzinfo = INDIA_TIME) -> ListingQuery:
        """Validate the query string; raises :class:`ApiError` 400 naming the faulty parameter."""
        sids = _list(query, "Sid")
        if sids is not None and len(sids) > MAX_SIDS:
            raise ApiError(400, f"Invalid parameter Sid: {len(sids)} Sids given, at most {MAX_SIDS} allowed")
        statuses = _list(query, "Status")
        if statuses is not None:
            unknown = sorted(set(statuses) - {status.value for status in CallStatus})
            if unknown:
                raise ApiError(400, f"Invalid parameter Status: unknown status {', '.join(unknown)}")
        directions = _list(query, "Direction")
        if directions is not None and not set(directions) <= DIRECTIONS:
            raise ApiError(400, f"Invalid parameter Direction: expected {', '.join(sorted(DIRECTIONS))}")
        return cls(
            sids=tuple(dict.fromkeys(sids)) if sids is not None else None,
            statuses=frozenset(statuses) if statuses is not None else None,
            from_numbers=_numbers(query, "From"),
            to_numbers=_numbers(query, "To"),
            directions=frozenset(directions) if directions is not None else None,
            created=_created_range(query, now, time_zone),
            duration=_range(query, "Duration", float),
            price=_range(query, "Price", float),
            page_size=_page_size(query),
            descending=_descending(query),
            before=_cursor(query, "Before"),
            after=_cursor(query, "After"),
        )._checked()

    def _checked(self) -> ListingQuery:
        if self.before is not None and self.after is not None:
            raise ApiError(400, "Invalid parameters: send Before or After, not both")
        return self


@dataclass(frozen=True)
class Page:
    """One page of matching calls, in the requested order."""

    calls: list[SimulatedCall]
    total: int
    has_previous: bool
    has_next: bool


def select_page(candidates: Sequence[SimulatedCall], query: ListingQuery, now: float) -> Page:
    """Filter ``candidates`` (in creation order) and cut the page the cursor points at.

    Ongoing calls are never listed, as documented: a call appears once its status is terminal,
    while its ``Price`` may still be null.
    """
    matches = [call for call in candidates if _matches(call, query, now)]
    if query.descending:
        matches.reverse()
    # Position in the sort order; the creation sequence increases with DateCreated.
    keys = [-call.sequence if query.descending else call.sequence for call in matches]
    sign = -1 if query.descending else 1
    if query.after is not None:
        start = bisect.bisect_right(keys, sign * query.after)
        end = start + query.page_size
    elif query.before is not None:
        end = bisect.bisect_left(keys, sign * query.before)
        start = max(0, end - query.page_size)
    else:
        start, end = 0, query.page_size
    end = min(end, len(matches))
    return Page(matches[start:end], len(matches), has_previous=start > 0, has_next=end < len(matches))


def page_metadata(
    page: Page, query: ListingQuery, path: str, raw_query: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """``Metadata``; the page URIs repeat the filters and carry opaque ``Before``/``After`` cursors."""
    kept = [(key, value) for key, value in raw_query if key not in {"Before", "After", "PageSize"}]
    kept.append(("PageSize", str(query.page_size)))

    def uri(*cursor: tuple[str, str]) -> str:
        return f"{path}?{urlencode([*kept, *cursor])}"

    return {
        "Total": page.total,
        "PageSize": query.page_size,
        "FirstPageUri": uri(),
        "PrevPageUri": uri(("Before", encode_cursor(page.calls[0].sequence))) if page.has_previous else None,
        "NextPageUri": uri(("After", encode_cursor(page.calls[-1].sequence))) if page.has_next else None,
    }


def encode_cursor(sequence: int) -> str:
    """The opaque page token of the listing's next page."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{sequence}".encode()).decode().rstrip("=")


def decode_cursor(token: str) -> int:
    """Inverse of :func:`encode_cursor`; raises ValueError for anything the simulator didn't issue."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(token) from exc
    if not text.startswith(_CURSOR_PREFIX) or not text[len(_CURSOR_PREFIX) :].isdigit():
        raise ValueError(token)
    return int(text[len(_CURSOR_PREFIX) :])


def _matches(call: SimulatedCall, query: ListingQuery, now: float) -> bool:
    timeline = call.timeline
    if not timeline.is_terminal_at(now):
        return False
    if query.statuses is not None and timeline.outcome.value not in query.statuses:
        return False
    if query.from_numbers is not None and call.from_number not in query.from_numbers:
        return False
    if query.to_numbers is not None and call.to_number not in query.to_numbers:
        return False
    if query.directions is not None and DIRECTION not in query.directions:
        return False
    if not _within(int(timeline.created_at), query.created):
        return False
    if query.duration is not None or query.price is not None:
        view = call.view(now)
        if query.duration is not None and (
            view.duration is None or not _within(view.duration, query.duration)
        ):
            return False
        if query.price is not None and (view.price is None or not _within(view.price, query.price)):
            return False
    return True


def _within(value: float, bounds: Range) -> bool:
    low, high = bounds
    return (low is None or value >= low) and (high is None or value <= high)


def _list(query: Query, name: str) -> list[str] | None:
    """Comma-separated values of ``name`` (repeated keys are joined); None when absent."""
    values = [item.strip() for raw in query.get(name, []) for item in raw.split(",") if item.strip()]
    return values or None


def _numbers(query: Query, name: str) -> frozenset[str] | None:
    numbers = _list(query, name)
    if numbers is None:
        return None
    if len(numbers) > MAX_NUMBERS:
        raise ApiError(400, f"Invalid parameter {name}: at most {MAX_NUMBERS} numbers allowed")
    try:
        return frozenset(to_national(number) for number in numbers)
    except InvalidPhoneNumber as exc:
        raise ApiError(400, f"Invalid parameter {name}: {exc}") from None


def _range(query: Query, name: str, convert: Callable[[str], float]) -> Range | None:
    """``gte:X;lte:Y`` (either part optional). For Duration and Price the docs give no syntax; the
    simulator reuses DateCreated's, and a bare value means equality."""
    raw = _last(query, name)
    if raw is None:
        return None
    low: float | None = None
    high: float | None = None
    try:
        if not raw.startswith(("gte:", "lte:")):
            value = convert(raw)
            return value, value
        for part in filter(None, (part.strip() for part in raw.split(";"))):
            operator, _, operand = part.partition(":")
            if operator == "gte":
                low = convert(operand)
            elif operator == "lte":
                high = convert(operand)
            else:
                raise ValueError(operator)
    except ValueError:
        raise ApiError(400, f"Invalid parameter {name}: {raw!r}; expected gte:<value>;lte:<value>") from None
    return low, high


def _created_range(query: Query, now: float, time_zone: tzinfo) -> Range:
    """DateCreated defaults to the last 31 days; a range may span at most a month, up to 6 months back."""
    bounds = _range(query, "DateCreated", lambda text: parse_exotel_time(text, time_zone))
    if bounds is None:
        return now - DEFAULT_WINDOW_SECONDS, None
    low, high = bounds
    effective_low = low if low is not None else (high if high is not None else now) - DEFAULT_WINDOW_SECONDS
    effective_high = high if high is not None else now
    if effective_high - effective_low > MAX_RANGE_SECONDS:
        raise ApiError(400, "Invalid parameter DateCreated: the range may span at most one month")
    if effective_low < now - MAX_AGE_SECONDS:
        raise ApiError(400, "Invalid parameter DateCreated: calls older than 6 months cannot be listed")
    return effective_low, high


def _page_size(query: Query) -> int:
    raw = _last(query, "PageSize")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ApiError(400, f"Invalid parameter PageSize: {raw!r}; expected 1 to {MAX_PAGE_SIZE}")
    return int(raw)


def _descending(query: Query) -> bool:
    """``SortBy=DateCreated:asc`` or ``DateCreated:desc`` (the default, newest first)."""
    raw = _last(query, "SortBy")
    if raw is None:
        return True
    field, _, direction = raw.partition(":")
    if field != "DateCreated" or direction not in {"", "asc", "desc"}:
        raise ApiError(
            400, f"Invalid parameter SortBy: {raw!r}; expected DateCreated:asc or DateCreated:desc"
        )
    return direction != "asc"


def _cursor(query: Query, name: str) -> int | None:
    raw = _last(query, name)
    if raw is None:
        return None
    try:
        return decode_cursor(raw)
    except ValueError:
        raise ApiError(400, f"Invalid parameter {name}: not a cursor from this server's page URIs") from None


def _last(query: Query, name: str) -> str | None:
    values = [value.strip() for value in query.get(name, []) if value.strip()]
    return values[-1] if values else None
