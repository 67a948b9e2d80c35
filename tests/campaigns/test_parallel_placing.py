"""The campaign's placing threads and its cap on calls in flight: pure threading, no server."""

from __future__ import annotations

import threading
import time

import pytest

from exotel_provider.campaigns.in_flight import CallsInFlight
from exotel_provider.campaigns.parallel import ParallelPlacing


class Overlap:
    """Counts how many workers are inside ``work`` at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0

    def __enter__(self) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self.now -= 1


def test_results_come_back_in_the_items_order_from_several_threads():
    overlap = Overlap()
    seen: list[int] = []

    def work(item: int) -> int:
        with overlap:
            time.sleep(0.01 * (item % 3))
            return item * 10

    results = ParallelPlacing(work, workers=4, on_result=seen.append).run(list(range(20)))

    assert results == [i * 10 for i in range(20)]
    assert sorted(seen) == results
    assert 2 <= overlap.most <= 4


def test_one_thread_places_in_the_list_order():
    order: list[int] = []
    ParallelPlacing(order.append, workers=1).run([3, 1, 2])
    assert order == [3, 1, 2]


def test_the_first_error_stops_the_campaign_and_is_raised():
    started: list[int] = []

    class AccountRefused(Exception):
        pass

    def work(item: int) -> int:
        started.append(item)
        if item == 5:
            raise AccountRefused("bad token")
        time.sleep(0.01)
        return item

    placing = ParallelPlacing(work, workers=3)
    with pytest.raises(AccountRefused, match="bad token"):
        placing.run(list(range(200)))
    assert placing.stopping
    assert len(started) < 20  # the queued items never started


def test_a_worker_dying_is_not_swallowed():
    class WorkerKilled(BaseException):
        pass

    def work(item: int) -> int:
        if item == 2:
            raise WorkerKilled
        return item

    with pytest.raises(WorkerKilled):
        ParallelPlacing(work, workers=2).run(list(range(10)))


def test_threads_never_hold_more_calls_in_flight_than_the_cap():
    ended: set[str] = set()
    lock = threading.Lock()

    def find_ended(sids: list[str]) -> list[str]:
        with lock:  # the oldest call ends each time someone asks
            going_on = [sid for sid in sids if sid not in ended]
            if going_on:
                ended.add(going_on[0])
            return [sid for sid in sids if sid in ended]

    in_flight = CallsInFlight(3, find_ended=find_ended, poll_interval=0.01)
    most = 0

    def place(item: int) -> int:
        nonlocal most
        in_flight.take_room()
        most = max(most, len(in_flight))
        time.sleep(0.005)
        in_flight.placed(f"CA{item}")
        return item

    ParallelPlacing(place, workers=5).run(list(range(30)))

    assert most <= 3
    assert len(ended) >= 27  # room was made only by calls that ended


def test_room_is_made_by_asking_about_the_oldest_calls_first_one_listing_at_a_time():
    asked: list[list[str]] = []

    def find_ended(sids: list[str]) -> list[str]:
        asked.append(sids)
        return [sid for sid in sids if int(sid[2:]) < 150]  # the 150 oldest calls have ended

    in_flight = CallsInFlight(250, find_ended=find_ended, poll_interval=60, listing_size=100)
    for item in range(250):
        in_flight.take_room()
        in_flight.placed(f"CA{item}")
    in_flight.take_room()

    assert asked == [[f"CA{item}" for item in range(100)]]  # one request freed 100 places
    assert len(in_flight) == 151


def test_newer_calls_are_asked_about_when_the_oldest_have_not_ended():
    asked: list[list[str]] = []

    def find_ended(sids: list[str]) -> list[str]:
        asked.append(sids)
        return [sid for sid in sids if int(sid[2:]) >= 200]  # only the newest have ended

    in_flight = CallsInFlight(250, find_ended=find_ended, poll_interval=60, listing_size=100)
    for item in range(250):
        in_flight.take_room()
        in_flight.placed(f"CA{item}")
    in_flight.take_room()

    assert [len(sids) for sids in asked] == [100, 100, 50]
    assert len(in_flight) == 201


def test_room_given_back_by_a_refused_call_is_reused_without_polling():
    asked: list[list[str]] = []
    in_flight = CallsInFlight(1, find_ended=lambda sids: asked.append(sids) or [], poll_interval=60)
    in_flight.take_room()
    in_flight.placed(None)  # refused: no call, its room is free again
    in_flight.take_room()
    assert asked == []


def test_a_thread_waiting_for_room_wakes_when_a_placement_gives_it_back():
    in_flight = CallsInFlight(1, find_ended=lambda sids: [], poll_interval=60)
    in_flight.take_room()
    waiter = threading.Thread(target=in_flight.take_room)
    waiter.start()
    time.sleep(0.05)
    assert waiter.is_alive()
    in_flight.placed(None)
    waiter.join(timeout=5)
    assert not waiter.is_alive()
