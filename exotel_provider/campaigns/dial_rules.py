"""Who may be dialled: the calling rules about the person, checked in one place just before each dial.

In order: mobiles only (when asked), the do-not-call list, then the per-person caps counted from the
call ledger. A number a rule keeps back is never dialled; the campaign records it "not called" with the
rule's reason (:mod:`exotel_provider.campaigns.not_called`), and a later run checks again. A number
Exotel refuses as DND is added to the do-not-call list, so no later run tries it. No Airflow imports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from exotel_provider.calls.numbers import is_indian_mobile
from exotel_provider.campaigns.call_caps import CallCaps
from exotel_provider.campaigns.do_not_call import DND_REASON, DoNotCallList, is_dnd_refusal
from exotel_provider.campaigns.ledger import INDIA, CallLedger
from exotel_provider.campaigns.not_called import CAP_REACHED, DO_NOT_CALL, NOT_A_MOBILE


@dataclass
class DialRules:
    """The rules about whom a campaign may dial; ``clock`` gives now (epoch seconds) for the caps."""

    clock: Callable[[], float]
    do_not_call: DoNotCallList | None = None
    ledger: CallLedger | None = None
    caps: CallCaps = field(default_factory=lambda: CallCaps(None, None))
    mobile_only: bool = False
    time_zone: Any = INDIA

    @property
    def counts_caps(self) -> bool:
        """The caps can be counted: they are set and the ledger answers ``calls_to``."""
        return self.caps.active and callable(getattr(self.ledger, "calls_to", None))

    def reason_not_to_dial(self, phone: str) -> str | None:
        """Why ``phone`` (E.164) must not be dialled now (a :mod:`not_called` reason), or None."""
        if self.mobile_only and not is_indian_mobile(phone):
            return NOT_A_MOBILE
        if self.do_not_call is not None and self.do_not_call.reason(phone) is not None:
            return DO_NOT_CALL
        if (
            self.ledger is not None
            and self.counts_caps
            and self.caps.reached(self.ledger, phone, self.clock(), self.time_zone)
        ):
            return CAP_REACHED
        return None

    def refused(self, phone: str, error: BaseException | None) -> bool:
        """After Exotel refused a call: a DND refusal lists the number (True when it did)."""
        if self.do_not_call is None or error is None or not is_dnd_refusal(error):
            return False
        self.do_not_call.add(phone, DND_REASON)
        return True
