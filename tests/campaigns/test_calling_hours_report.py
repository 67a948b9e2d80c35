"""The day's summary and report count each "not called" reason, and the chart shows the calls over
the whole day against the calling window."""

from __future__ import annotations

from pathlib import Path

from exotel_provider.calls.calling_hours import CallingHours
from exotel_provider.campaigns import summarise_attempts
from exotel_provider.campaigns.not_called import OUTSIDE_CALLING_HOURS, not_called_outcome
from exotel_provider.campaigns.report import render_html_report
from exotel_provider.campaigns.report_files import write_report


def ledger_row(key: str, **fields):
    return {"reminder_id": key, "day": "2026-08-03", "attempt": 1, **fields}


ROWS = [
    ledger_row("R1", call_sid="CA1", state="ended", status="completed", price=0.5, duration=30,
               placed_at="2026-08-03 18:40:00"),
    ledger_row("R2", state="not placed", error="not called: outside calling hours"),
    ledger_row("R3", state="not placed", error="not called: outside calling hours"),
    ledger_row("R4", state="refused", error="403: DND"),
]  # fmt: skip


def test_the_summary_counts_each_not_called_reason_from_ledger_rows_and_outcomes():
    assert summarise_attempts(ROWS)["not_called"] == {OUTSIDE_CALLING_HOURS: 2}
    outcomes = [not_called_outcome("R9", OUTSIDE_CALLING_HOURS), not_called_outcome("R8", "do-not-call")]
    assert summarise_attempts(outcomes)["not_called"] == {OUTSIDE_CALLING_HOURS: 1, "do-not-call": 1}


def test_a_later_call_of_the_same_entry_is_no_longer_counted_not_called():
    redialled = [*ROWS, ledger_row("R2", attempt=2, call_sid="CA2", state="ended", status="busy")]
    assert summarise_attempts(redialled)["not_called"] == {OUTSIDE_CALLING_HOURS: 1}


def test_the_report_says_how_many_were_not_called_and_why(tmp_path: Path):
    summary = summarise_attempts(ROWS)
    page = render_html_report(summary, title="Reminder calls")
    assert "Not called: outside calling hours <b>2</b>" in page
    assert "not called: outside calling hours" in page  # the row of each person kept back

    html, chart = write_report(
        tmp_path,
        "day",
        summary,
        ROWS,
        title="Reminder calls",
        calling_hours=CallingHours.parse("08:00-19:00"),
    )
    assert Path(chart).read_bytes().startswith(b"\x89PNG") and Path(html).exists()
