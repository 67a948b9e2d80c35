"""The provider's exceptions: one hierarchy rooted in :class:`ExotelError`.

Every message says what went wrong and what to do next. Messages never contain the API token;
phone numbers in them are masked.
"""

from __future__ import annotations

from typing import Any


class ExotelError(Exception):
    """Root of every error this provider raises."""


class ExotelConfigurationError(ExotelError, ValueError):
    """The Airflow connection (or settings) for Exotel is incomplete or wrong."""


class ExotelValidationError(ExotelError, ValueError):
    """A call request is invalid; raised before anything is sent to Exotel.

    ``field`` names the offending parameter in Exotel's spelling (``From``, ``TimeLimit`` ...).
    """

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{field}: {problem}. {fix}")


class ExotelResponseError(ExotelError):
    """Exotel answered with something this provider cannot read (malformed JSON/XML, HTML ...)."""


class ExotelTransportError(ExotelError):
    """The request did not get an HTTP answer (connection refused, reset, timed out)."""


class ExotelUnreachableError(ExotelTransportError):
    """The request never reached Exotel (connection refused, DNS failure, TLS handshake failed, or
    connecting timed out): nothing was sent, so a call-placing request placed no call.

    ``cause`` is one of :data:`UNREACHABLE_CAUSES`; the message names the likely fix.
    """

    def __init__(self, message: str, *, cause: str) -> None:
        self.cause = cause
        super().__init__(message)


UNREACHABLE_CAUSES = ("refused", "dns", "tls", "timeout", "connect")
"""Why a request never reached Exotel: refused, name not resolved, TLS handshake failed, connecting
timed out, or another failure while connecting."""


class ExotelCallOutcomeUnknownError(ExotelTransportError):
    """A call-placing request was sent but no answer came back: the call may or may not exist.

    Never retried blindly; see the operator's ``unknown_outcome`` policy. ``candidate_sids`` names
    the listed calls that may be the one it placed (none when nothing matching is listed).
    """

    def __init__(self, message: str, *, candidate_sids: tuple[str, ...] = ()) -> None:
        self.candidate_sids = tuple(candidate_sids)
        super().__init__(message)


class ExotelSmsOutcomeUnknownError(ExotelTransportError):
    """An SMS-sending request was sent but no usable answer came back: the SMS may or may not have
    been sent. Never resent automatically (nobody gets the same message twice)."""


class ExotelCallOutcomePendingError(ExotelCallOutcomeUnknownError):
    """A call-placing request's outcome is unknown, and the listing cannot decide it yet: a call it
    created may still be unlisted until ``complete_at`` (epoch seconds). The request was sent in
    ``sent_at``..``settled_at``; one look at the listing from ``complete_at`` on decides (adopt the
    call, or dial: none was placed). Never dial before then."""

    def __init__(
        self, message: str, *, sent_at: float, settled_at: float, complete_at: float,
        candidate_sids: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        self.sent_at, self.settled_at, self.complete_at = sent_at, settled_at, complete_at
        super().__init__(message, candidate_sids=candidate_sids)


class ExotelPlacingHaltedError(ExotelError):
    """A campaign stopped placing after ``failures`` call-placing requests in a row failed with a
    5xx, a connection failure or a lost answer (Exotel unwell or unreachable). The calls placed so
    far are kept; a retry later places only what was never placed."""

    def __init__(self, message: str, *, failures: int) -> None:
        self.failures = failures
        super().__init__(message)


class ExotelOutsideCallingHoursError(ExotelError):
    """A call was asked for outside its calling hours: refused before anything is sent to Exotel.

    ``opens_at`` (epoch seconds) is when the window next opens.
    """

    def __init__(self, message: str, *, opens_at: float) -> None:
        self.opens_at = opens_at
        super().__init__(message)


class ExotelDoNotCallError(ExotelError):
    """The number is on the do-not-call list: refused before anything is sent to Exotel.

    ``reason`` is the list's reason (``DND`` for a number Exotel refused as registered on India's DND
    list). The number was not dialled; retrying cannot help until the number leaves the list.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        self.reason = reason
        super().__init__(message)


class ExotelPlacedCallNotFoundError(ExotelError):
    """Exotel answered a placing request with ``call_sid``, yet reading that Sid now gives 404.

    The call existed, so this is never a reason to dial again; usually the connection now points
    at another account or region. Retrying reconnects as soon as the Sid reads again.
    """

    def __init__(self, message: str, *, call_sid: str) -> None:
        self.call_sid = call_sid
        super().__init__(message)


class ExotelPlacementNotSavedError(ExotelError):
    """A call was placed (``call_sid``) but the state store refused to keep its Sid."""

    def __init__(self, message: str, *, call_sid: str) -> None:
        self.call_sid = call_sid
        super().__init__(message)


class ExotelAPIError(ExotelError):
    """Exotel answered with an HTTP error status."""

    status_code: int = 0
    advice: str = "Check the request against Exotel's API documentation."

    def __init__(self, message: str, *, status_code: int, exotel_message: str | None = None) -> None:
        self.status_code = status_code
        self.exotel_message = exotel_message
        super().__init__(message)


class ExotelBadRequestError(ExotelAPIError):
    """400: Exotel rejected the request as malformed."""

    advice = "Exotel rejected the request as malformed; check the call parameters."


class ExotelAuthenticationError(ExotelAPIError):
    """401: wrong API key or token, or an Indian account used with the Singapore region."""

    advice = (
        "Check the API key (connection login) and API token (connection password), and the region: "
        "Indian accounts must use the 'mumbai' region (api.in.exotel.com)."
    )


class ExotelPaymentRequiredError(ExotelAPIError):
    """402: the balance or usage limit is exhausted, or the feature is not on the plan."""

    advice = (
        "Not available on your Exotel plan, or the usage limit/balance is exhausted: recharge or upgrade."
    )


class ExotelForbiddenError(ExotelAPIError):
    """403: no access to this resource, or the number is on India's NDNC/DND list."""

    advice = (
        "The API key has no access to this resource, or the number is on India's NDNC/DND list "
        "(transactional calls need CallType 'trans' and an approved template)."
    )


class ExotelNotFoundError(ExotelAPIError):
    """404: no such call or account."""

    advice = "No such call or account: check the call Sid and the connection's account_sid."


class ExotelConflictError(ExotelAPIError):
    """409: the same resource was updated concurrently."""

    advice = "The same resource was updated concurrently; try again."


class ExotelRateLimitError(ExotelAPIError):
    """429: over Exotel's 200 requests a minute; ``retry_after`` holds the seconds Exotel asked to wait."""

    advice = (
        "Exotel allows 200 requests per minute per account: lower concurrency "
        "(pools, max_active_tis_per_dag) or the request budget."
    )

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        exotel_message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status_code=status_code, exotel_message=exotel_message)


class ExotelServerError(ExotelAPIError):
    """5xx: Exotel, or a proxy in front of it, failed; a placing request may still have placed its call."""

    advice = "Exotel had a server-side problem; try again later."


class CallUnsuccessfulError(ExotelError):
    """The call reached a terminal status that the task does not count as success."""

    def __init__(self, message: str, *, call: dict[str, Any]) -> None:
        self.call = call
        super().__init__(message)


class SmsUnsuccessfulError(ExotelError):
    """The SMS reached the final status ``failed``; ``sms`` holds its details (``failed_dnd`` is an
    outcome the task reports, not this error)."""

    def __init__(self, message: str, *, sms: dict[str, Any]) -> None:
        self.sms = sms
        super().__init__(message)


class ExotelWaitTimeout(ExotelError):
    """A call did not reach its final status (and price) within the time allowed for waiting."""

    def __init__(self, message: str, *, call_sid: str) -> None:
        self.call_sid = call_sid
        super().__init__(message)


class ExotelWatchError(ExotelError):
    """Waiting for a call in the triggerer went wrong in a way no other error describes (an
    unexpected failure inside the trigger, or an event this provider did not produce)."""


def naming_sid(error: ExotelError, call_sid: str) -> ExotelError:
    """``error`` with ``call_sid`` in its message: every error after Exotel answered names the call."""
    if call_sid not in str(error) and error.args:
        error.args = (f"Call {call_sid}: {error.args[0]}", *error.args[1:])
    return error
