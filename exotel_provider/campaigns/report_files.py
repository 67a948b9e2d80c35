"""A campaign's report as files: the HTML page and its PNG chart (outcomes and cost per hour).

Written through any path object with ``/``, ``mkdir``, ``write_text`` and ``write_bytes`` (an
Airflow ``ObjectStoragePath``, so the report can go to object storage, or a ``pathlib.Path``).
matplotlib draws the chart off-screen.
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from exotel_provider.calls.calling_hours import END_OF_DAY, CallingHours
from exotel_provider.calls.status import UNANSWERED_STATUSES, CallStatus
from exotel_provider.campaigns.report import render_html_report

OUTCOME_COLOURS = {"answered": "#2e9e5b", "not answered": "#e0a000", "failed": "#c8423b"}


def outcome_group(status: str | None) -> str:
    """answered / not answered / failed, as the summary counts them."""
    if status == CallStatus.COMPLETED:
        return "answered"
    return "not answered" if status in UNANSWERED_STATUSES else "failed"


def hourly_figures(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per hour a call was placed (``placed_at``, ``YYYY-MM-DD HH:MM:SS``): outcome counts and cost."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    cost: dict[str, float] = defaultdict(float)
    for row in rows:
        hour = f"{str(row.get('placed_at') or '')[11:13] or '??'}:00"
        counts[hour][outcome_group(row.get("status"))] += 1
        cost[hour] += float(row.get("price") or 0.0)
    return [{"hour": hour, **counts[hour], "cost": round(cost[hour], 4)} for hour in sorted(counts)]


def whole_day(hours: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every hour of the day, those without calls at zero (to show calls against the calling window)."""
    known = {h["hour"]: h for h in hours}
    return [known.get(f"{hour:02d}:00", {"hour": f"{hour:02d}:00", "cost": 0.0}) for hour in range(24)]


def shade_outside(axes: Any, labels: list[str], calling_hours: CallingHours) -> None:
    """Grey behind each hour of the day that lies wholly outside the calling window."""
    opens = calling_hours.opens.hour + calling_hours.opens.minute / 60
    closes = (
        24.0
        if calling_hours.closes == END_OF_DAY
        else calling_hours.closes.hour + calling_hours.closes.minute / 60
    )
    for index, label in enumerate(labels):
        start = int(label[:2])
        if start + 1 <= opens or start >= closes:
            axes.axvspan(index - 0.5, index + 0.5, color="#eeeeee", zorder=0)
    axes.plot([], [], color="#eeeeee", linewidth=8, label=f"outside {calling_hours.describe()}")


def render_chart_png(
    hours: list[dict[str, Any]],
    *,
    title: str,
    currency: str = "INR",
    calling_hours: CallingHours | None = None,
) -> bytes:
    """Stacked bars of outcomes per hour, with the hour's cost as a line on a second axis; given
    ``calling_hours``, the whole day, the hours outside the window shaded."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4), dpi=100)
    axes = figure.subplots()
    hours = whole_day(hours) if calling_hours is not None else hours
    labels = [h["hour"] for h in hours] or ["-"]
    if calling_hours is not None:
        shade_outside(axes, labels, calling_hours)
    bottom = [0] * len(labels)
    for group, colour in OUTCOME_COLOURS.items():
        heights = [h.get(group, 0) for h in hours] or [0]
        axes.bar(labels, heights, bottom=bottom, color=colour, label=group)
        bottom = [b + v for b, v in zip(bottom, heights, strict=True)]
    if len(labels) > 12:  # the whole day: upright labels would overlap
        axes.tick_params(axis="x", labelrotation=90, labelsize="small")
    axes.set_xlabel("hour the call was placed (India time)")
    axes.set_ylabel("calls")
    axes.set_title(title)
    cost_axes = axes.twinx()
    cost_axes.plot(
        labels, [h.get("cost", 0.0) for h in hours] or [0.0], color="#333", marker="o", label="cost"
    )
    cost_axes.set_ylabel(f"cost ({currency})")
    cost_axes.set_ylim(bottom=0)
    handles = axes.get_legend_handles_labels()[0] + cost_axes.get_legend_handles_labels()[0]
    axes.legend(handles=handles, loc="upper left", fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def write_report(
    folder: Any,
    name: str,
    summary: dict[str, Any],
    rows: Iterable[Mapping[str, Any]],
    *,
    title: str,
    calling_hours: CallingHours | None = None,
) -> tuple[Any, Any]:
    """Write ``<name>.html`` and ``<name>.png`` into ``folder``; returns both paths. Given the
    campaign's ``calling_hours``, the chart shows the calls over the whole day against that window."""
    folder.mkdir(parents=True, exist_ok=True)
    chart, page = folder / f"{name}.png", folder / f"{name}.html"
    chart.write_bytes(render_chart_png(hourly_figures(rows), title=title, calling_hours=calling_hours))
    page.write_text(render_html_report(summary, title=title, chart=f"{name}.png"))
    return page, chart
