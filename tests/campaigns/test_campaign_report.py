"""The campaign report: the table says who was not called and why, and the chart shows the day's
calls over time against the request budget, with the cost so far."""

from __future__ import annotations

import re

from exotel_provider.campaigns import render_html_report, summarise_attempts
from exotel_provider.campaigns.report_files import render_chart_png, timeline_figures, write_report


def _placed(key: str, at: str, status: str = "completed", price: float = 0.5) -> dict:
    return {"reminder_id": key, "attempt": 1, "state": "ended", "call_sid": f"sid-{key}", "status": status,
            "price": price, "duration": 30, "placed_at": f"2026-08-03 {at}", "phone": "+919876500101"}  # fmt: skip


REFUSED = {"reminder_id": "R-9", "attempt": 1, "state": "refused", "call_sid": None,
           "phone": "+919876500109", "error": "403: the number is on the DND list"}  # fmt: skip


def _row_of(html: str, key: str) -> str:
    [row] = [row for row in re.findall(r"<tr>.*?</tr>", html) if f"<td>{key}</td>" in row]
    return row


def test_a_refused_entry_shows_its_masked_number_and_exotels_reason():
    summary = summarise_attempts([_placed("R-1", "10:00:05"), REFUSED])
    row = _row_of(render_html_report(summary, title="Reminders"), "R-9")
    assert "+91XXXXXX0109" in row and "+919876500109" not in row
    assert "refused" in row and "403: the number is on the DND list" in row
    placed = _row_of(render_html_report(summary, title="Reminders"), "R-1")
    assert "+91XXXXXX0101" in placed


def test_an_entry_never_placed_for_an_invalid_number_says_so():
    outcome = {"key": "R-2", "sid": None, "status": "not placed", "from_number": "12345",
               "error": "From: 'X2345' is not a valid number"}  # fmt: skip
    [row] = summarise_attempts([outcome])["per_call"]
    assert (row["status"], row["number"], row["reason"]) == (
        "not placed",
        "X2345",
        "From: 'X2345' is not a valid number",
    )


def test_the_timeline_bins_a_short_day_by_the_minute_and_counts_the_cost_so_far():
    rows = [
        _placed("R-1", "10:00:05"),
        _placed("R-2", "10:00:59", "busy", 0.0),
        _placed("R-3", "10:03:40"),
        REFUSED,
    ]
    width, bins = timeline_figures(rows)
    assert width == 1
    assert bins == [
        {"time": "10:00", "answered": 1, "not answered": 1, "cost_so_far": 0.5},
        {"time": "10:01", "cost_so_far": 0.5},
        {"time": "10:02", "cost_so_far": 0.5},
        {"time": "10:03", "answered": 1, "cost_so_far": 1.0},
    ]  # the refused entry placed no call: it is in the table, not on the timeline


def test_an_hour_is_binned_in_five_minutes_and_a_whole_day_in_half_hours():
    assert timeline_figures([_placed("R-1", "10:00:00"), _placed("R-2", "10:59:00")])[0] == 5
    width, bins = timeline_figures([_placed("R-1", "08:10:00"), _placed("R-2", "19:55:00")])
    assert width == 30 and bins[0]["time"] == "08:00" and bins[-1]["time"] == "19:30"


def test_the_chart_and_the_page_are_written_with_the_budget_line(tmp_path):
    rows = [_placed(f"R-{i}", f"10:{i:02d}:00") for i in range(40)]
    assert render_chart_png(
        timeline_figures(rows)[1], title="t", bin_minutes=5, budget_per_minute=150
    ).startswith(b"\x89PNG")
    page, chart = write_report(
        tmp_path, "day", summarise_attempts(rows), rows, title="Reminders", budget_per_minute=150
    )
    assert chart.read_bytes().startswith(b"\x89PNG") and 'src="day.png"' in page.read_text()
