"""Which reminders make a day red: those no call reached, not those a calling rule kept back."""

from __future__ import annotations

from exotel_provider.campaigns.ledger import LedgerRow
from exotel_provider.campaigns.not_called import DO_NOT_CALL, OUTSIDE_CALLING_HOURS, not_called_error
from exotel_provider.campaigns.reminders import not_reached

DAY = "2026-08-03"


def row(key: str) -> LedgerRow:
    return LedgerRow(key, DAY, 1)


def test_a_reminder_a_rule_kept_back_does_not_make_the_day_red_but_a_refused_one_does() -> None:
    reminders = [{"reminder_id": k} for k in ("R-1", "R-2", "R-3", "R-4", "R-5 ")]
    recorded = [
        row("R-1").with_sid("sid-1"),
        row("R-2").not_placed(not_called_error(DO_NOT_CALL)).as_record(),
        row("R-3").not_placed(not_called_error(OUTSIDE_CALLING_HOURS)),
        row("R-4").not_placed("Exotel refused the number (403)", refused=True),
    ]

    assert not_reached(reminders, recorded) == ["R-4", "R-5"]
