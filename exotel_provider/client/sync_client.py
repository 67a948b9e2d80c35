"""The synchronous Exotel client (requests): every HTTP request the hook makes goes through here."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import requests
import tenacity
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NameResolutionError, NewConnectionError

from exotel_provider import __version__
from exotel_provider.calls.model import Call
from exotel_provider.calls.parsing import CallPage, parse_call, parse_call_page
from exotel_provider.calls.requests import ConnectRequest
from exotel_provider.client.error_mapping import error_for_answer
from exotel_provider.client.retry_policy import (
    RetryPolicy,
    is_retryable_placement_error,
    is_retryable_read_error,
    placement_outcome_unknown,
    retrying_kwargs,
)
from exotel_provider.client.settings import ExotelSettings
from exotel_provider.errors import (
    ExotelAPIError,
    ExotelCallOutcomeUnknownError,
    ExotelResponseError,
    ExotelTransportError,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_SIDS_PER_LISTING = 100
"""Exotel's bulk call-details API takes at most 100 Sids (and at most 100 calls per page)."""

USER_AGENT = f"airflow-provider-exotel/{__version__}"


class ExotelClient:
    """A small, typed client for Exotel's Voice v1 calls API.

    One ``requests.Session`` is reused; every request has a timeout and Basic auth in a header.
    Answers are asked for as JSON (``.json``); ``prefer_json=False`` asks for Exotel's default XML.
    Either way they parse into the same :class:`Call` objects.
    """

    def __init__(
        self,
        settings: ExotelSettings,
        *,
        retry_policy: RetryPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        prefer_json: bool = True,
    ) -> None:
        self.settings = settings
        self._json = prefer_json
        self.retry_policy = retry_policy or RetryPolicy()
        self._sleep = sleep
        self._session = session or _new_session()
        self._session.auth = (settings.api_key, settings.api_token)
        accept = "application/json" if prefer_json else "application/xml"
        self._session.headers.update({"Accept": accept, "User-Agent": USER_AGENT})

    def __repr__(self) -> str:
        return f"ExotelClient(account_sid={self.settings.account_sid!r}, host={self.settings.host!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> ExotelClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- calls -----------------------------------------------------------------------------------

    def place_call(self, request: ConnectRequest) -> Call:
        """POST ``Calls/connect``. Retried only when no call can have been placed (429, 503, no connection).

        Raises :class:`ExotelCallOutcomeUnknownError` when the request went out but no usable answer
        came back (no answer, a 5xx other than 503, an unreadable 200): the call may exist.
        Never retried blindly.
        """
        log.info("Exotel: placing %s", request.describe(mask=self.settings.mask_phone_numbers))
        response = self._retrying(
            is_retryable_placement_error,
            lambda: self._send(
                "POST",
                self.settings.connect_url(json=self._json),
                action="placing a call",
                data=request.form(),
                outcome_unknown_on_failure=True,
            ),
        )
        try:
            call = parse_call(response.content)
        except ExotelResponseError as err:
            raise ExotelCallOutcomeUnknownError(
                f"{self.settings.host} accepted the call-placing request (HTTP {response.status_code}) "
                f"but its answer could not be read ({err}): the call was probably placed and its Sid is "
                "unknown. It is not retried automatically, to avoid calling the person twice."
            ) from None
        log.info("Exotel: placed call %s (status %s)", call.sid, call.raw_status)
        return call

    def get_call(self, call_sid: str, *, details: bool = False) -> Call:
        """GET one call's details (``details=True`` adds legs and conversation duration)."""
        params = {"details": "true"} if details else None
        return self._retrying(
            is_retryable_read_error,
            lambda: parse_call(
                self._send(
                    "GET",
                    self.settings.call_url(call_sid, json=self._json),
                    action=f"reading call {call_sid}",
                    params=params,
                ).content
            ),
        )

    def list_calls(
        self,
        *,
        sids: Sequence[str] = (),
        status: str | None = None,
        date_created: str | None = None,
        from_numbers: Sequence[str] = (),
        page_size: int | None = None,
        sort_by: str | None = None,
        page_uri: str | None = None,
    ) -> CallPage:
        """One page of the bulk call-details listing. Ongoing calls are never listed by Exotel.

        ``page_uri`` (a ``NextPageUri`` from an earlier page) fetches the following page.
        """
        if page_uri:
            url, params = self.settings.page_url(page_uri), None
        else:
            if len(sids) > MAX_SIDS_PER_LISTING:
                raise ValueError(
                    f"Exotel lists at most {MAX_SIDS_PER_LISTING} Sids per request, got {len(sids)}"
                )
            filters: dict[str, Any] = {
                "Sid": ",".join(sids) or None,
                "Status": status,
                "DateCreated": date_created,
                "From": ",".join(from_numbers) or None,
                "PageSize": page_size,
                "SortBy": sort_by,
            }
            url, params = (
                self.settings.calls_url(json=self._json),
                {k: v for k, v in filters.items() if v is not None},
            )
        return self._retrying(
            is_retryable_read_error,
            lambda: parse_call_page(self._send("GET", url, action="listing calls", params=params).content),
        )

    def iter_calls(self, **filters: Any) -> Iterator[Call]:
        """Every call the listing returns for these filters, following ``NextPageUri``."""
        page = self.list_calls(**filters)
        seen_pages: set[str] = set()
        while True:
            yield from page.calls
            next_uri = page.next_page_uri
            if not next_uri or next_uri in seen_pages or not page.calls:
                return
            seen_pages.add(next_uri)
            page = self.list_calls(page_uri=next_uri)

    def get_ended_calls(self, sids: Iterable[str]) -> dict[str, Call]:
        """The calls among ``sids`` that Exotel lists (i.e. that have ended), by Sid, 100 per request."""
        wanted = list(dict.fromkeys(sids))
        found: dict[str, Call] = {}
        for start in range(0, len(wanted), MAX_SIDS_PER_LISTING):
            chunk = wanted[start : start + MAX_SIDS_PER_LISTING]
            for call in self.iter_calls(sids=chunk, page_size=MAX_SIDS_PER_LISTING):
                if call.sid in chunk:
                    found[call.sid] = call
        return found

    def check_access(self) -> None:
        """Make the cheapest authenticated request: raises the mapped error if access fails."""
        self.list_calls(page_size=1)

    # --- transport -------------------------------------------------------------------------------

    def _retrying(self, should_retry: Callable[[BaseException], bool], send: Callable[[], T]) -> T:
        retrying = tenacity.Retrying(
            sleep=self._sleep, **retrying_kwargs(self.retry_policy, should_retry, _log_retry)
        )
        return retrying(send)

    def _send(
        self,
        method: str,
        url: str,
        *,
        action: str,
        params: dict[str, Any] | None = None,
        data: list[tuple[str, str]] | None = None,
        outcome_unknown_on_failure: bool = False,
    ) -> requests.Response:
        try:
            response = self._session.request(
                method, url, params=params, data=data, timeout=self.settings.timeout
            )
        except requests.RequestException as err:
            raise _transport_error(err, action, self.settings.host, outcome_unknown_on_failure) from None
        if response.status_code >= 400:
            error = error_for_answer(
                status_code=response.status_code,
                body=response.content,
                headers=response.headers,
                host=self.settings.host,
                action=action,
                secrets=(self.settings.api_token,),
            )
            if outcome_unknown_on_failure and placement_outcome_unknown(error):
                raise _outcome_unknown_after(error) from None
            raise error
        return response


def _new_session() -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _never_connected(err: requests.RequestException) -> bool:
    """The request provably never reached Exotel (so a POST placed no call)."""
    if isinstance(err, requests.ConnectTimeout):
        return True
    reason = err.args[0] if err.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, (NewConnectionError, NameResolutionError))


def _transport_error(
    err: requests.RequestException, action: str, host: str, outcome_unknown_on_failure: bool
) -> ExotelTransportError:
    kind = type(err).__name__
    if outcome_unknown_on_failure and not _never_connected(err):
        return ExotelCallOutcomeUnknownError(
            f"No answer from {host} while {action} ({kind}): the request was sent, so the call may "
            "have been placed. It is not retried automatically, to avoid calling the person twice."
        )
    return ExotelTransportError(
        f"Could not reach {host} while {action} ({kind}). Check the network and the host."
    )


def _outcome_unknown_after(error: ExotelAPIError) -> ExotelCallOutcomeUnknownError:
    return ExotelCallOutcomeUnknownError(
        f"{error} The call may nevertheless have been placed (a {error.status_code} can come after "
        "Exotel accepted it), so it is not retried automatically, to avoid calling the person twice."
    )


def _log_retry(retry_state: tenacity.RetryCallState) -> None:
    error = retry_state.outcome.exception() if retry_state.outcome else None
    wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
    log.warning("Exotel: %s; retrying in %.1f s (attempt %d)", error, wait, retry_state.attempt_number)
