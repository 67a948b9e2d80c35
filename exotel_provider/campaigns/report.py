"""A one-page HTML report of a campaign summary: outcome bars, cost and talk time, one row per call."""

from __future__ import annotations

from html import escape
from typing import Any

_OUTCOMES = (
    ("answered", "Answered", "#2e9e5b"),
    ("not_answered", "Not answered", "#e0a000"),
    ("failed", "Failed", "#c8423b"),
)


def render_html_report(
    summary: dict[str, Any], *, title: str, currency: str = "INR", chart: str | None = None
) -> str:
    """HTML (no scripts) for :func:`summarise_attempts` output; ``chart``: a PNG beside it to show."""
    entries = max(summary["entries"], 1)
    bars = "".join(
        f'<div class="bar"><span class="name">{name}</span>'
        f'<span class="fill" style="width:{summary[key] * 100 / entries:.0f}%;background:{colour}"></span>'
        f'<span class="count">{summary[key]}</span></div>'
        for key, name, colour in _OUTCOMES
    )
    rows = "".join(
        "<tr>"
        f"<td>{escape(str(call['label'] or call['key']))}</td><td>{call['attempt']}</td>"
        f"<td>{_or_dash(call['number'])}</td><td>{escape(call['status'])}</td>"
        f"<td>{_or_dash(call['duration'])}</td><td>{_or_dash(call['price'])}</td>"
        f"<td><code>{_or_dash(call['sid'])}</code></td>"
        f"<td>{_or_dash(call.get('reason'))}</td>"
        "</tr>"
        for call in summary["per_call"]
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
.bar {{ display: flex; align-items: center; gap: .5rem; margin: .3rem 0; }}
.name {{ width: 8rem; }} .count {{ font-weight: bold; }}
.fill {{ display: inline-block; height: 1.2rem; min-width: 2px; }}
.figures span {{ display: inline-block; margin-right: 2rem; }}
table {{ border-collapse: collapse; margin-top: 1rem; }}
td, th {{ border: 1px solid #ddd; padding: .25rem .6rem; text-align: left; }}
</style></head><body>
<h1>{escape(title)}</h1>
<p>{summary["entries"]} people, {summary["calls"]} calls ({summary["redialled"]} redialled)</p>
{bars}
{_not_called(summary.get("not_called") or {})}
{f'<p><img src="{escape(chart)}" alt="Outcomes and cost per hour"></p>' if chart else ""}
<p class="figures"><span>Total cost: <b>{summary["total_cost"]:.2f} {escape(currency)}</b></span>
<span>Per call: <b>{summary["average_cost_per_call"]:.2f} {escape(currency)}</b></span>
<span>Talk time: <b>{summary["total_talk_seconds"]} s</b> (average {summary["average_talk_seconds"]} s per answered call)</span>{_sms(summary, currency)}</p>
<table><tr><th>who</th><th>try</th><th>number</th><th>status</th><th>duration s</th><th>price</th><th>call</th><th>why no call</th></tr>
{rows}</table>
</body></html>
"""


def _not_called(counts: dict[str, int]) -> str:
    """One line counting each "not called" reason (a calling rule kept them from being dialled)."""
    if not counts:
        return ""
    parts = ", ".join(f"{escape(reason)} <b>{count}</b>" for reason, count in counts.items())
    return f'<p class="not-called">Not called: {parts}</p>'


def _sms(summary: dict[str, Any], currency: str) -> str:
    """The follow-up SMS of the day and their cost (nothing when the summary has no SMS figures)."""
    if "sms_sent" not in summary:
        return ""
    cost = f"{float(summary.get('sms_cost') or 0.0):.2f} {escape(currency)}"
    dnd = summary.get("sms_failed_dnd") or 0
    on_dnd = f", <b>{dnd}</b> not delivered (number on DND)" if dnd else ""
    return f'\n<span class="sms">SMS sent: <b>{summary["sms_sent"]}</b> costing <b>{cost}</b>{on_dnd}</span>'


def _or_dash(value: object) -> str:
    return "-" if value is None else escape(str(value))
