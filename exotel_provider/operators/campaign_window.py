"""The campaign operator's calling hours: a deferral until the window opens for someone it held back.

The decision (who is held, when the first held one may be dialled) is
:mod:`exotel_provider.campaigns.window`'s; this module only speaks Airflow: XCom and the deferral.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from exotel_provider.campaigns.outcomes import CampaignEntry
from exotel_provider.campaigns.window import CampaignWindow, resume_at
from exotel_provider.triggers.calling_window import CallingWindowTrigger

RESUME_METHOD = "resume_placing"
"""The operator's method that goes on placing once the window opens."""


def defer_to_window(
    operator: Any,
    context: Any,
    window: CampaignWindow | None,
    entries: Sequence[CampaignEntry],
    outcomes: Sequence[dict[str, Any]],
) -> None:
    """Return when nobody waits for a window; else push the Sids placed so far and defer until the
    first held entry's window opens (a :class:`CallingWindowTrigger`, on the placement clock the
    window is judged by: no worker slot is held meanwhile)."""
    opens_at = resume_at(window, operator.outside_calling_hours, entries, outcomes) if window else None
    if window is None or opens_at is None:
        return
    placed = {o["key"]: o["sid"] for o in outcomes if o.get("sid")}
    context["ti"].xcom_push(key="placed_calls", value=placed)  # before waiting: no Sid is lost
    waiting = len(outcomes) - len(placed)
    operator.log.info(
        "Exotel campaign: %d placed, %d outside calling hours (%s): going on at %s",
        len(placed), waiting, window.describe(), window.local_text(opens_at),
    )  # fmt: skip
    operator.defer(
        trigger=CallingWindowTrigger(opens_at, window=window.describe()),
        method_name=RESUME_METHOD,
    )
