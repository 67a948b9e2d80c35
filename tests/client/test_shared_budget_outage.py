"""A Redis that hangs or is gone costs one timeout per outage, not one per request: the process keeps
to its own budget for a cool-off, then asks Redis again, and says so once per outage."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from exotel_provider.client.request_budget import RequestBudget
from exotel_provider.client.shared_budget import REDIS_COOL_OFF_SECONDS, RedisRequestBudget

redis = pytest.importorskip("redis")
SOCKET_TIMEOUT = 5.0


class ManualClock:
    """Epoch seconds that move only when a test (or the hung Redis) moves them."""

    def __init__(self) -> None:
        self.time = 1_000_000.0

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.time += seconds


class HangingRedis:
    """Stands in for ``redis.Redis``: while ``hung``, every command waits out the socket timeout (the
    clock moves on) and raises ``redis.TimeoutError``; otherwise the scripts answer as Redis would."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.hung = True
        self.commands = 0
        self._slots = 0
        self.while_asked: Any = None
        """Called while a command is in flight (as another thread of the process would ask)."""

    def register_script(self, script: str) -> Any:
        def run(keys: list[str], args: list[Any]) -> Any:
            self.commands += 1
            if self.while_asked is not None:
                self.while_asked()
            if self.hung:
                self.clock.time += SOCKET_TIMEOUT
                raise redis.TimeoutError("Timeout reading from socket")
            if "ZCARD" in script:  # the reserve script: always a free slot
                self._slots += 1
                return [b"ok", str(self._slots).encode()]
            return b"0"

        return run


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def hanging_redis(clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> HangingRedis:
    fake = HangingRedis(clock)
    monkeypatch.setattr(redis.Redis, "from_url", classmethod(lambda cls, url, **options: fake))
    return fake


def budget(clock: ManualClock, limit: int = 1000) -> RedisRequestBudget:
    return RedisRequestBudget(
        "redis://cache:6379/0",
        account="api.exotel.com/acme",
        requests_per_minute=limit,
        fallback=RequestBudget(limit, clock=clock, burst=limit // 10),
        clock=clock,
    )


def outage_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "unreachable" in r.getMessage()
    ]


def test_a_hung_redis_costs_one_timeout_per_outage_not_one_per_request(clock, hanging_redis, caplog):
    shared = budget(clock)
    started = clock.now()

    with caplog.at_level(logging.INFO, logger="exotel_provider.client.shared_budget"):
        granted = [shared.reserve() == 0.0 for _ in range(100)]

    assert all(granted)  # the process's own budget (a burst of 100) let them through
    assert hanging_redis.commands == 1
    assert clock.now() - started == SOCKET_TIMEOUT  # one timeout, not 100
    assert len(outage_warnings(caplog)) == 1


def test_releases_and_pauses_during_the_cool_off_do_not_wait_for_redis(clock, hanging_redis):
    shared = budget(clock, limit=10)
    shared.reserve()
    shared.release("7")
    shared.pause(30)

    assert hanging_redis.commands == 1
    assert shared.reserve() > 0  # the pause still holds this process, through its own budget


def test_after_the_cool_off_redis_is_asked_again_and_used_once_it_answers(clock, hanging_redis, caplog):
    shared = budget(clock)
    with caplog.at_level(logging.INFO, logger="exotel_provider.client.shared_budget"):
        assert shared.reserve_slot() == (0.0, None)  # from the process's own budget
        clock.time += REDIS_COOL_OFF_SECONDS
        hanging_redis.hung = False

        wait, slot = shared.reserve_slot()
        shared.reserve_slot()

    assert (wait, slot) == (0.0, "1")  # Redis counted it
    assert hanging_redis.commands == 3
    assert any("answers again" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)


def test_a_longer_outage_backs_off_further_and_is_reported_once(clock, hanging_redis, caplog):
    shared = budget(clock)
    with caplog.at_level(logging.INFO, logger="exotel_provider.client.shared_budget"):
        shared.reserve()
        clock.time += REDIS_COOL_OFF_SECONDS
        shared.reserve()  # still hung: one more timeout, then a longer cool-off
        clock.time += REDIS_COOL_OFF_SECONDS
        for _ in range(50):
            shared.reserve()

        assert hanging_redis.commands == 2
        assert len(outage_warnings(caplog)) == 1

        clock.time += 60 * REDIS_COOL_OFF_SECONDS
        hanging_redis.hung = False
        shared.reserve()  # back
        hanging_redis.hung = True
        shared.reserve()  # a new outage: reported again

    assert hanging_redis.commands == 4
    assert len(outage_warnings(caplog)) == 2


def test_while_one_caller_asks_redis_again_the_others_keep_to_the_process_budget(clock, hanging_redis):
    shared = budget(clock)
    shared.reserve()
    clock.time += REDIS_COOL_OFF_SECONDS
    asked_meanwhile: list[float] = []
    hanging_redis.while_asked = lambda: asked_meanwhile.append(shared.reserve())

    shared.reserve()  # asks Redis again; meanwhile another caller asks the budget

    assert asked_meanwhile == [0.0]  # granted by the process's budget
    assert hanging_redis.commands == 2  # the other caller did not wait for Redis too
