"""What each Exotel request is, independent of the HTTP library: shared by the sync and async clients.

A client turns an :class:`ApiRequest` into an HTTP request with its own library, then hands the
answer back here: :func:`raise_for_answer` maps error answers, :func:`transport_error` words a
failed exchange. Parsing lives in :mod:`exotel_provider.calls.parsing`; URLs in
:class:`~exotel_provider.client.settings.ExotelSettings`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from exotel_provider import __version__
from exotel_provider.client.error_mapping import error_for_answer
from exotel_provider.client.redaction import scrub_body, scrub_text
from exotel_provider.client.retry_policy import placement_outcome_unknown
from exotel_provider.client.settings import ExotelSettings
from exotel_provider.errors import (
    ExotelAPIError,
    ExotelCallOutcomeUnknownError,
    ExotelRateLimitError,
    ExotelResponseError,
    ExotelTransportError,
    ExotelUnreachableError,
)

if TYPE_CHECKING:
    from exotel_provider.calls.connect_request import ConnectRequest
    from exotel_provider.calls.model import Call
    from exotel_provider.calls.parsing import CallPage
    from exotel_provider.client.request_budget import AccountBudget

T = TypeVar("T")

MAX_SIDS_PER_LISTING = 100
"""Exotel's bulk call-details API takes at most 100 Sids (and at most 100 calls per page)."""

USER_AGENT = f"airflow-provider-exotel/{__version__}"


@dataclass(frozen=True)
class ApiRequest:
    """One request to Exotel: method, URL, query or form, and what it does (for messages)."""

    method: str
    url: str
    action: str
    params: dict[str, Any] | None = None
    data: list[tuple[str, str]] | None = None
    places_call: bool = False
    """A failure after sending may have placed a call: never retried blindly."""


def default_headers(*, prefer_json: bool) -> dict[str, str]:
    """The headers of every request: the answer format asked for and the User-Agent."""
    return {
        "Accept": "application/json" if prefer_json else "application/xml",
        "User-Agent": USER_AGENT,
    }


def connect_request(settings: ExotelSettings, request: ConnectRequest, *, json: bool = True) -> ApiRequest:
    """The call-placing request (``POST Calls/connect``) for ``request``."""
    return ApiRequest(
        "POST", settings.connect_url(json=json), "placing a call", data=request.form(), places_call=True
    )


def call_request(
    settings: ExotelSettings, call_sid: str, *, details: bool = False, json: bool = True
) -> ApiRequest:
    """The request reading one call (``GET Calls/<Sid>``, with ``details`` its leg details)."""
    return ApiRequest(
        "GET",
        settings.call_url(call_sid, json=json),
        f"reading call {call_sid}",
        params={"details": "true"} if details else None,
    )


@dataclass(frozen=True)
class ListingQuery:
    """The bulk call-details listing's filters: the one value both clients (and the search for a
    lost call) build a listing request from."""

    sids: Sequence[str] = ()
    status: str | None = None
    date_created: str | None = None
    from_numbers: Sequence[str] = ()
    page_size: int | None = None
    sort_by: str | None = None

    def params(self) -> dict[str, Any]:
        """Exotel's query parameters, absent filters left out."""
        if len(self.sids) > MAX_SIDS_PER_LISTING:
            raise ValueError(
                f"Exotel lists at most {MAX_SIDS_PER_LISTING} Sids per request, got {len(self.sids)}"
            )
        filters: dict[str, Any] = {
            "Sid": ",".join(self.sids) or None,
            "Status": self.status,
            "DateCreated": self.date_created,
            "From": ",".join(self.from_numbers) or None,
            "PageSize": self.page_size,
            "SortBy": self.sort_by,
        }
        return {name: value for name, value in filters.items() if value is not None}


def listing_request(
    settings: ExotelSettings,
    query: ListingQuery | None = None,
    *,
    json: bool = True,
    page_uri: str | None = None,
) -> ApiRequest:
    """One page of the bulk call-details listing; ``page_uri`` (a ``NextPageUri``) for the next one."""
    if page_uri:
        return ApiRequest("GET", settings.page_url(page_uri), "listing calls")
    params = (query or ListingQuery()).params()
    return ApiRequest("GET", settings.calls_url(json=json), "listing calls", params=params)


def sid_batches(sids: Iterable[str]) -> list[list[str]]:
    """Distinct Sids, in order, cut into listing-sized batches."""
    wanted = list(dict.fromkeys(sids))
    return [wanted[i : i + MAX_SIDS_PER_LISTING] for i in range(0, len(wanted), MAX_SIDS_PER_LISTING)]


def next_page(page: CallPage, seen_pages: set[str]) -> str | None:
    """The ``NextPageUri`` to follow after ``page``, or None when done (or looping)."""
    next_uri = page.next_page_uri
    if not next_uri or next_uri in seen_pages or not page.calls:
        return None
    seen_pages.add(next_uri)
    return next_uri


def raise_for_answer(
    settings: ExotelSettings,
    request: ApiRequest,
    *,
    status_code: int,
    body: bytes,
    headers: Mapping[str, str],
) -> None:
    """Raise the mapped, typed error for an HTTP error answer; nothing for a success.

    For a call-placing request, any 5xx becomes :class:`ExotelCallOutcomeUnknownError`: it can come
    after Exotel created the call.
    """
    if status_code < 400:
        return
    error = error_for_answer(
        status_code=status_code,
        body=body,
        headers=headers,
        host=settings.host,
        action=request.action,
        secrets=settings.secrets,
        mask_numbers=settings.mask_phone_numbers,
    )
    if request.places_call and placement_outcome_unknown(error):
        raise _outcome_unknown_after(error) from None
    raise error


def accept_answer(
    settings: ExotelSettings,
    request: ApiRequest,
    budget: AccountBudget | None,
    *,
    status_code: int,
    content: bytes,
    headers: Mapping[str, str],
) -> bytes:
    """What both clients do with every HTTP answer: the budget learns from its rate-limit headers,
    the body is scrubbed of every form of the credentials, and a refusal raises its typed error (a
    429 pauses the budget first). Returns the scrubbed body of a success."""
    if budget is not None:
        budget.observe(headers)
    body = scrubbed_body(settings, content)
    try:
        raise_for_answer(settings, request, status_code=status_code, body=body, headers=headers)
    except ExotelRateLimitError as err:
        if budget is not None:
            budget.pause(err.retry_after)
        raise
    return body


def scrubbed_body(settings: ExotelSettings, body: bytes) -> bytes:
    """An answer body as the rest of the provider may see it: no form of the credentials in it."""
    return scrub_body(body, settings.secrets)


def read_answer(settings: ExotelSettings, parse: Callable[[bytes], T], body: bytes) -> T:
    """``parse(body)``; an unreadable answer's error quotes it with phone numbers masked as configured."""
    try:
        return parse(body)
    except ExotelResponseError as err:
        raise ExotelResponseError(
            scrub_text(str(err), settings.secrets, mask_numbers=settings.mask_phone_numbers)
        ) from None


def parse_placed_call(settings: ExotelSettings, *, status_code: int, body: bytes) -> Call:
    """The Call in an accepted call-placing answer; an unreadable one means the Sid is unknown."""
    from exotel_provider.calls.parsing import parse_call

    try:
        return read_answer(settings, parse_call, body)
    except ExotelResponseError as err:
        raise ExotelCallOutcomeUnknownError(
            f"{settings.host} accepted the call-placing request (HTTP {status_code}) but its answer "
            f"could not be read ({err}): the call was probably placed and its Sid is unknown. It is "
            "not retried automatically, to avoid calling the person twice."
        ) from None


def _outcome_unknown_after(error: ExotelAPIError) -> ExotelCallOutcomeUnknownError:
    return ExotelCallOutcomeUnknownError(
        f"{error} The call may nevertheless have been placed (a {error.status_code} can come after "
        "Exotel accepted it), so it is not retried automatically, to avoid calling the person twice."
    )


def transport_error(
    settings: ExotelSettings, request: ApiRequest, *, kind: str, connect_failure: str | None, detail: str = ""
) -> ExotelTransportError:
    """The error for a request that got no HTTP answer (``kind`` names the library's exception).

    ``connect_failure`` is set (one of :data:`~exotel_provider.errors.UNREACHABLE_CAUSES`) when the
    connection was never established: then nothing reached Exotel and no call can exist.
    """
    if connect_failure is not None:
        return unreachable_error(settings, request, cause=connect_failure, detail=detail)
    if request.places_call:
        return ExotelCallOutcomeUnknownError(
            f"No answer from {settings.host} while {request.action} ({kind}): the request was sent, so "
            "the call may have been placed. It is not retried automatically, to avoid calling the "
            "person twice."
        )
    return ExotelTransportError(
        f"No answer from {settings.host} while {request.action} ({kind}). Check the network and the host."
    )


_LIKELY_CAUSES = {
    "refused": (
        "the connection was refused: nothing listens on that host and port. Check the connection's "
        "host and port (for the local simulator: is it running, on that port?)"
    ),
    "dns": "the host name could not be resolved (DNS). Check the connection's host name and the network",
    "tls": (
        "the TLS handshake failed{detail}. Likely cause: a plain-http server behind an https URL (for "
        "the local simulator give the host as http://127.0.0.1:<port>), the wrong port, or a "
        "certificate this machine does not trust"
    ),
    "timeout": (
        "connecting timed out. Check the connection's host and port, and any firewall or proxy "
        "between this machine and Exotel"
    ),
    "connect": "the connection could not be established{detail}. Check the connection's host and port",
}


def unreachable_error(
    settings: ExotelSettings, request: ApiRequest, *, cause: str, detail: str = ""
) -> ExotelUnreachableError:
    """A request that never reached Exotel: says so, names the likely cause, and that no call exists."""
    reason = _LIKELY_CAUSES.get(cause, _LIKELY_CAUSES["connect"]).format(
        detail=f" ({detail})" if detail else ""
    )
    consequence = (
        "The request never reached Exotel, so no call was placed (placing it again is safe)."
        if request.places_call
        else "The request never reached Exotel."
    )
    return ExotelUnreachableError(
        f"Could not connect to {settings.host} while {request.action}: {reason}. {consequence}",
        cause=cause,
    )
