"""Two workers and two triggerers (four processes, the provider's own sync and async paths) share one
Exotel request budget through Redis, against the simulator's limit of 200 requests per wall-clock
minute: no 429, never more than the budget in any 60 s window, nobody called twice."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

BENCH = Path(__file__).resolve().parents[2] / "bench" / "shared_budget.py"
BUDGET = 150


def load_bench():
    spec = importlib.util.spec_from_file_location("shared_budget_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_four_processes_sharing_redis_stay_within_one_budget():
    bench = load_bench()
    figures = bench.run(seconds=70, budget=BUDGET)
    print("\n" + bench.format_figures(figures, BUDGET))

    assert figures["total"]["429"] == 0
    assert figures["total"]["busiest_60s"] <= BUDGET
    assert figures["total"]["requests"] > BUDGET  # they asked for more: the budget did the limiting
    assert all(row["requests"] > 0 for row in figures["per_process"].values())
    assert figures["calls_placed"] == figures["numbers_dialled"] > 0
