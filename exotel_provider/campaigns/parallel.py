"""Running a campaign's placements on a few threads, results in the campaign's order.

Placing one call is mostly waiting (Exotel's answer, the task's state store), so a few threads keep
the paced request rate without one call's latency holding up the next. The first error stops the
campaign: no new placement starts, the ones under way finish (each saves its Sid before anything
else), and the error is raised. No Airflow imports.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class ParallelPlacing(Generic[Item, Result]):
    """``work`` applied to every item on up to ``workers`` threads; ``on_result`` runs one at a time."""

    def __init__(
        self,
        work: Callable[[Item], Result],
        *,
        workers: int,
        on_result: Callable[[Result], None] = lambda _: None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.work = work
        self.workers = workers
        self.on_result = on_result
        self._stop = threading.Event()
        self._results_lock = threading.Lock()
        self._first_error: BaseException | None = None

    @property
    def stopping(self) -> bool:
        """True once a placement failed (or the task is stopping): start nothing new."""
        return self._stop.is_set()

    def run(self, items: Sequence[Item]) -> list[Result]:
        """Every item's result, in the items' order; raises the error that stopped the campaign."""
        results: list[Result | None] = [None] * len(items)
        if self.workers == 1:
            for index, item in enumerate(items):
                self._run_one(results, index, item)
            return results  # type: ignore[return-value]
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="exotel-campaign")
        futures: list[Future[None]] = []
        try:
            futures = [pool.submit(self._run_one, results, i, item) for i, item in enumerate(items)]
            for future in futures:
                future.exception()  # wait for each
        finally:
            self._stop.set()  # also when this thread is interrupted: queued placements never start
            pool.shutdown(wait=True, cancel_futures=True)
        if self._first_error is not None:
            raise self._first_error
        return results  # type: ignore[return-value]

    def _run_one(self, results: list[Result | None], index: int, item: Item) -> None:
        if self._stop.is_set():
            return
        try:
            result = self.work(item)
        except BaseException as err:
            with self._results_lock:
                if self._first_error is None:
                    self._first_error = err
            self._stop.set()
            raise
        results[index] = result
        with self._results_lock:
            self.on_result(result)
