"""The Call: what Exotel knows about one call, with named, typed fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from exotel_provider.calls.status import CallStatus, is_terminal_status

# Exotel's field names, in the order of its documentation.
CALL_FIELDS: tuple[str, ...] = (
    "Sid",
    "ParentCallSid",
    "DateCreated",
    "DateUpdated",
    "AccountSid",
    "To",
    "From",
    "PhoneNumberSid",
    "Status",
    "StartTime",
    "EndTime",
    "Duration",
    "Price",
    "Direction",
    "AnsweredBy",
    "ForwardedFrom",
    "CallerName",
    "Uri",
    "RecordingUrl",
)


@dataclass(frozen=True)
class Call:
    """One call as Exotel reported it. Empty fields are None.

    ``status`` is a :class:`CallStatus` when Exotel sent a documented value; ``raw_status`` keeps
    Exotel's string as sent, so an undocumented status is never silently lost.
    """

    sid: str
    status: CallStatus | None
    raw_status: str | None = None
    parent_call_sid: str | None = None
    date_created: str | None = None
    date_updated: str | None = None
    account_sid: str | None = None
    to: str | None = None
    from_: str | None = None
    phone_number_sid: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    duration: int | None = None
    price: float | None = None
    direction: str | None = None
    answered_by: str | None = None
    forwarded_from: str | None = None
    caller_name: str | None = None
    uri: str | None = None
    recording_url: str | None = None
    details: dict[str, Any] | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        # Phone numbers are personal data: a Call that reaches a log shows them masked.
        from exotel_provider.calls.numbers import mask_number

        return (
            f"Call(sid={self.sid!r}, status={self.raw_status!r}, from={mask_number(self.from_)!r}, "
            f"to={mask_number(self.to)!r}, duration={self.duration!r}, price={self.price!r}, "
            f"end_time={self.end_time!r})"
        )

    @property
    def is_terminal(self) -> bool:
        """The call has ended: its status will not change any more (an undocumented status counts)."""
        return is_terminal_status(self.status, self.raw_status)

    @property
    def is_priced(self) -> bool:
        """Exotel has filled in ``Price``, ``Duration`` and ``EndTime`` (zero counts as filled in)."""
        return self.price is not None and self.duration is not None and self.end_time is not None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict with Exotel's field names (``Price`` a number, ``Duration`` an int)."""
        values: dict[str, Any] = {
            "Sid": self.sid,
            "ParentCallSid": self.parent_call_sid,
            "DateCreated": self.date_created,
            "DateUpdated": self.date_updated,
            "AccountSid": self.account_sid,
            "To": self.to,
            "From": self.from_,
            "PhoneNumberSid": self.phone_number_sid,
            "Status": self.status.value if self.status is not None else self.raw_status,
            "StartTime": self.start_time,
            "EndTime": self.end_time,
            "Duration": self.duration,
            "Price": self.price,
            "Direction": self.direction,
            "AnsweredBy": self.answered_by,
            "ForwardedFrom": self.forwarded_from,
            "CallerName": self.caller_name,
            "Uri": self.uri,
            "RecordingUrl": self.recording_url,
        }
        if self.details is not None:
            values["Details"] = self.details
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Call:
        """Rebuild a call from :meth:`to_dict` output (e.g. from XCom or a trigger event)."""
        from exotel_provider.calls.parsing import call_from_fields

        return call_from_fields(values)
