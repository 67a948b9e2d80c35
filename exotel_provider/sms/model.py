"""The SMS as Exotel reports it (``SMSMessage``), and its statuses."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class SmsStatus(StrEnum):
    """Exotel's documented SMS statuses."""

    QUEUED = "queued"
    SENDING = "sending"
    SUBMITTED = "submitted"
    SENT = "sent"
    FAILED = "failed"
    FAILED_DND = "failed_dnd"
    """Not delivered: the number is on India's Do Not Disturb registry. An outcome, not an error."""


FINAL_SMS_STATUSES = frozenset({SmsStatus.SENT, SmsStatus.FAILED, SmsStatus.FAILED_DND})
"""Statuses after which Exotel reports no change (``queued``, ``sending``, ``submitted`` are in progress)."""


DEFAULT_SMS_POLL_INTERVAL_SECONDS = 10.0
"""How often waiting asks about an SMS (an SMS is usually final within seconds to a minute)."""


def parse_sms_status(value: str | None) -> SmsStatus | None:
    """The documented status for ``value``, or None for an absent or undocumented one."""
    if value is None:
        return None
    try:
        return SmsStatus(value.strip().lower())
    except ValueError:
        return None


@dataclass(frozen=True)
class SmsMessage:
    """One SMS as Exotel reported it. Empty fields are None; ``raw_status`` keeps Exotel's string."""

    sid: str
    status: SmsStatus | None
    raw_status: str | None = None
    detailed_status: str | None = None
    detailed_status_code: str | None = None
    date_sent: str | None = None
    price: float | None = None
    from_: str | None = None
    to: str | None = None
    body: str | None = None

    def __repr__(self) -> str:
        # Numbers are personal data and the text may be too: a message that reaches a log shows neither.
        from exotel_provider.calls.numbers import mask_number

        return (
            f"SmsMessage(sid={self.sid!r}, status={self.raw_status!r}, to={mask_number(self.to)!r}, "
            f"detailed_status={self.detailed_status!r}, price={self.price!r})"
        )

    @property
    def is_final(self) -> bool:
        """Exotel will report no further change (sent, failed or failed_dnd)."""
        return self.status in FINAL_SMS_STATUSES

    @property
    def was_sent(self) -> bool:
        """Exotel reports the message sent (status ``sent``)."""
        return self.status is SmsStatus.SENT

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict with Exotel's field names (for XCom and trigger events)."""
        return {
            "Sid": self.sid,
            "Status": self.status.value if self.status is not None else self.raw_status,
            "DetailedStatus": self.detailed_status,
            "DetailedStatusCode": self.detailed_status_code,
            "DateSent": self.date_sent,
            "Price": self.price,
            "From": self.from_,
            "To": self.to,
            "Body": self.body,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SmsMessage:
        """Rebuild a message from :meth:`to_dict` output (or an ``SMSMessage`` object)."""
        from exotel_provider.sms.parsing import sms_from_fields

        return sms_from_fields(values)
