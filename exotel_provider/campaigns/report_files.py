"""A campaign's report as files: the HTML page and its PNG chart (the day's calls over time, outcomes
stacked, against the request budget, with the cost so far).

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


BIN_MINUTES = (1, 5, 10, 15, 30, 60)
"""The widths a timeline's bins may take: the narrowest that keeps a day within ``MAX_BINS``."""
MAX_BINS = 36


def timeline_figures(rows: Iterable[Mapping[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    """The calls over the day: ``(minutes per bin, bins)``, each bin from its start (``time``, HH:MM)
    with its outcome counts and the cost so far, so that a burst and its cost show where they happened."""
    placed = [
        (_minute_of_day(row.get("placed_at")), row) for row in rows if row.get("call_sid") or row.get("sid")
    ]
    minutes = [minute for minute, _ in placed if minute is not None]
    span = (max(minutes) - min(minutes) + 1) if minutes else 1
    width = next((w for w in BIN_MINUTES if span / w <= MAX_BINS), BIN_MINUTES[-1])
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    cost: dict[int, float] = defaultdict(float)
    for minute, row in placed:
        start = -1 if minute is None else minute - minute % width  # -1: no time recorded
        counts[start][outcome_group(row.get("status"))] += 1
        cost[start] += float(row.get("price") or 0.0)
    first = min(minutes, default=0) // width * width
    quiet = range(first, max(minutes, default=-1) + 1, width)  # bins without calls show as gaps
    starts = sorted({*quiet, *counts})
    bins, so_far = [], 0.0
    for start in starts:
        so_far += cost[start]
        label = "??:??" if start < 0 else f"{start // 60:02d}:{start % 60:02d}"
        bins.append({"time": label, **counts[start], "cost_so_far": round(so_far, 4)})
    return width, bins


def _minute_of_day(placed_at: Any) -> int | None:
    text = str(placed_at or "")
    try:
        return int(text[11:13]) * 60 + int(text[14:16])
    except ValueError:
        return None


def shade_outside(axes: Any, labels: list[str], bin_minutes: int, calling_hours: CallingHours) -> None:
    """Grey behind each bin of the day that lies wholly outside the calling window."""
    opens = calling_hours.opens.hour * 60 + calling_hours.opens.minute
    closes = (
        24 * 60
        if calling_hours.closes == END_OF_DAY
        else calling_hours.closes.hour * 60 + calling_hours.closes.minute
    )
    for index, label in enumerate(labels):
        try:
            start = int(label[:2]) * 60 + (int(label[3:5]) if label[2:3] == ":" else 0)
        except ValueError:
            continue  # a bin without a time
        if start + bin_minutes <= opens or start >= closes:
            axes.axvspan(index - 0.5, index + 0.5, color="#eeeeee", zorder=0)
    axes.plot([], [], color="#eeeeee", linewidth=8, label=f"outside {calling_hours.describe()}")


def render_chart_png(
    bins: list[dict[str, Any]],
    *,
    title: str,
    currency: str = "INR",
    bin_minutes: int = 60,
    budget_per_minute: int | None = None,
    calling_hours: CallingHours | None = None,
) -> bytes:
    """Outcomes stacked per bin of the day (``time`` or ``hour``), against the most calls the request
    budget lets be placed in a bin, with the cost so far (or each bin's cost) on a second axis; given
    ``calling_hours``, the bins outside that window shaded. The legend sits under the chart."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4.8), dpi=100)
    axes = figure.subplots()
    labels = [b.get("time") or b.get("hour") or "-" for b in bins] or ["-"]
    if calling_hours is not None:
        shade_outside(axes, labels, bin_minutes, calling_hours)
    bottom = [0] * len(labels)
    for group, colour in OUTCOME_COLOURS.items():
        heights = [b.get(group, 0) for b in bins] or [0]
        axes.bar(labels, heights, bottom=bottom, color=colour, label=group, width=0.85)
        bottom = [low + height for low, height in zip(bottom, heights, strict=True)]
    if budget_per_minute:
        _budget_line(axes, budget_per_minute * bin_minutes, bin_minutes, max(bottom))
    axes.set_xlabel(f"time the call was placed (India time), {bin_minutes}-minute bins")
    axes.set_ylabel("calls placed")
    axes.set_title(title)
    axes.tick_params(axis="x", labelrotation=60 if len(labels) > 12 else 0, labelsize="small")
    _cost_line(axes, bins, labels, currency)
    handles, names = axes.get_legend_handles_labels()
    for other in figure.axes[1:]:
        more = other.get_legend_handles_labels()
        handles, names = handles + more[0], names + more[1]
    figure.legend(
        handles, names, loc="lower center", ncol=min(len(names), 5), fontsize="small", frameon=False
    )
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _budget_line(axes: Any, most: int, bin_minutes: int, tallest: int) -> None:
    """The most calls a bin can hold; named only, not drawn, when it would flatten the bars."""
    label = f"request budget: at most {most:,} calls per {bin_minutes} min"
    if most > 2 * max(tallest, 1):
        axes.plot([], [], color="#555", linestyle="--", linewidth=1, label=f"{label} (above the chart)")
    else:
        axes.axhline(most, color="#555", linestyle="--", linewidth=1, label=label)


def _cost_line(axes: Any, bins: list[dict[str, Any]], labels: list[str], currency: str) -> None:
    cumulative = any("cost_so_far" in b for b in bins)
    key = "cost_so_far" if cumulative else "cost"
    cost_axes = axes.twinx()
    cost_axes.plot(
        labels, [b.get(key, 0.0) for b in bins] or [0.0], color="#333", marker=".",
        label="cost so far" if cumulative else "cost",
    )  # fmt: skip
    cost_axes.set_ylabel(f"cost ({currency})")
    cost_axes.set_ylim(bottom=0)


def write_report(
    folder: Any,
    name: str,
    summary: dict[str, Any],
    rows: Iterable[Mapping[str, Any]],
    *,
    title: str,
    budget_per_minute: int | None = None,
    calling_hours: CallingHours | None = None,
) -> tuple[Any, Any]:
    """Write ``<name>.html`` and ``<name>.png`` into ``folder``; returns both paths. ``budget_per_minute``:
    the connection's request budget, drawn as the most calls a bin can hold; ``calling_hours``: the
    campaign's window, the bins outside it shaded."""
    folder.mkdir(parents=True, exist_ok=True)
    chart, page = folder / f"{name}.png", folder / f"{name}.html"
    width, bins = timeline_figures(rows)
    chart.write_bytes(
        render_chart_png(
            bins,
            title=title,
            bin_minutes=width,
            budget_per_minute=budget_per_minute,
            calling_hours=calling_hours,
        )
    )
    page.write_text(render_html_report(summary, title=title, chart=f"{name}.png"))
    return page, chart
