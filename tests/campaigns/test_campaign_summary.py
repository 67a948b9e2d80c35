"""Campaign summaries: counts judged by each person's last call, costs over every call."""

from __future__ import annotations

from exotel_provider.campaigns import Attempt, needs_redial, render_html_report, summarise_attempts


def _call(sid: str, status: str, price: float | None = 0.0, duration: int | None = 0) -> dict:
    return {"Sid": sid, "Status": status, "Price": price, "Duration": duration, "From": "09876500101"}


def test_redial_only_busy_and_unanswered_calls():
    assert needs_redial(_call("a", "busy"))
    assert needs_redial(_call("b", "no-answer"))
    assert not needs_redial(_call("c", "completed"))
    assert not needs_redial(_call("d", "failed"))
    assert not needs_redial(_call("e", "canceled"))


def test_a_redial_that_is_answered_counts_as_answered_and_both_calls_are_paid_for():
    summary = summarise_attempts(
        [
            Attempt.of("R-1", _call("s1", "busy", 0.0, 0), attempt=1),
            Attempt.of("R-1", _call("s2", "completed", 0.5, 40), attempt=2),
            Attempt.of("R-2", _call("s3", "no-answer", 0.0, 0), attempt=1),
            Attempt.of("R-2", _call("s4", "no-answer", 0.0, 0), attempt=2),
            Attempt.of("R-3", _call("s5", "completed", 1.0, 80), attempt=1),
            Attempt.of("R-4", None, attempt=1),
        ]
    )
    assert {
        k: summary[k] for k in ("entries", "calls", "redialled", "answered", "not_answered", "failed")
    } == {
        "entries": 4,
        "calls": 5,
        "redialled": 2,
        "answered": 2,
        "not_answered": 1,
        "failed": 1,
    }
    assert summary["total_cost"] == 1.5
    assert summary["average_cost_per_call"] == 0.3
    assert (summary["total_talk_seconds"], summary["average_talk_seconds"]) == (120, 60.0)
    assert {row["status"] for row in summary["per_call"] if row["key"] == "R-4"} == {"not placed"}
    assert all(row["number"] in (None, "0XXXXXX0101") for row in summary["per_call"])


def test_an_empty_campaign_summarises_to_zeros_and_still_renders():
    summary = summarise_attempts([])
    assert (summary["entries"], summary["calls"], summary["total_cost"]) == (0, 0, 0)
    assert "0 people, 0 calls" in render_html_report(summary, title="Nothing due")


def test_the_report_escapes_what_it_shows():
    summary = summarise_attempts([Attempt.of("R-1", _call("s1", "completed", 0.5, 40), label="<b>Asha</b>")])
    html = render_html_report(summary, title="Reminders & more")
    assert "&lt;b&gt;Asha&lt;/b&gt;" in html and "<b>Asha</b>" not in html
    assert "Reminders &amp; more" in html


def test_the_campaign_operators_outcomes_summarise_as_they_come():
    outcomes = [
        {"key": "R-1", "sid": "s1", "status": "completed", "price": 0.5, "duration": 40, "start_time": None,
         "end_time": "2026-08-03 10:01:00", "placed_at": 1.0, "error": None},
        {"key": "R-2", "sid": None, "status": "not placed", "price": None, "duration": None, "start_time": None,
         "end_time": None, "placed_at": None, "error": "403 DND"},
        {"key": "R-3", "sid": None, "status": "outcome unknown", "price": None, "duration": None,
         "start_time": None, "end_time": None, "placed_at": None, "error": "no answer"},
        {"key": "R-4", "sid": "s1", "status": "completed", "price": 0.5, "duration": 40, "start_time": None,
         "end_time": "2026-08-03 10:01:00", "placed_at": 1.0, "error": None},  # the same phone as R-1
    ]  # fmt: skip
    summary = summarise_attempts(outcomes)
    assert {k: summary[k] for k in ("entries", "calls", "answered", "failed", "total_cost")} == {
        "entries": 4, "calls": 1, "answered": 2, "failed": 2, "total_cost": 0.5,
    }  # fmt: skip
    assert [row["status"] for row in summary["per_call"]] == [
        "completed",
        "not placed",
        "outcome unknown",
        "completed",
    ]
