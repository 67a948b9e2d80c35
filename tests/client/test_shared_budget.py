"""The request budget shared through Redis: every process that names the same Redis counts its
requests in one window per account; a 429 pauses them all; the Redis password never shows."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from exotel_provider.client.request_budget import RequestBudget, account_budget
from exotel_provider.client.settings import ExotelSettings
from exotel_provider.client.shared_budget import RedisRequestBudget, redacted_redis_url
from exotel_provider.errors import ExotelConfigurationError
from tools.local_airflow import free_port
from tools.local_services import LocalRedis

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs Debian's redis-server")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = Path(tmp_path_factory.mktemp("redis")) / "redis.log"
    redis = LocalRedis(name="redis", log_path=log, port=free_port()).start()
    try:
        yield redis.url
    finally:
        redis.stop()


def process_budget(redis_url: str, account: str, limit: int) -> RedisRequestBudget:
    """What one process builds: its own Redis connection and its own fallback."""
    return RedisRequestBudget(
        redis_url, account=account, requests_per_minute=limit, fallback=RequestBudget(limit)
    )


def test_processes_sharing_redis_get_the_accounts_budget_once_between_them(redis_url):
    workers = [process_budget(redis_url, "api.exotel.com/acme-a", 5) for _ in range(4)]

    granted = [budget.reserve() == 0.0 for _ in range(5) for budget in workers]

    assert sum(granted) == 5  # 20 asks, 5 slots in the minute for the whole account
    waits = [budget.reserve() for budget in workers]
    assert waits == [1.0] * 4  # all five still in flight (never answered): ask again soon


def test_another_account_has_its_own_window(redis_url):
    assert process_budget(redis_url, "api.exotel.com/acme-b1", 1).reserve() == 0.0
    assert process_budget(redis_url, "api.exotel.com/acme-b2", 1).reserve() == 0.0
    assert process_budget(redis_url, "api.exotel.com/acme-b1", 1).reserve() > 0


def test_a_429_in_one_process_pauses_every_process(redis_url):
    triggerer, worker = (process_budget(redis_url, "api.exotel.com/acme-c", 150) for _ in range(2))
    triggerer.pause(30)
    assert 28 < worker.reserve() <= 30


async def test_the_async_path_waits_for_redis_without_blocking_the_loop(redis_url):
    budget = process_budget(redis_url, "api.exotel.com/acme-d", 3)
    for _ in range(3):
        await budget.acquire()
    assert budget.reserve() > 0


def test_connections_naming_redis_share_it_and_never_show_the_password(redis_url):
    url = redis_url.replace("redis://", "redis://:s3cret-pass@")
    settings = ExotelSettings.from_connection(
        login="k", password="t", host=None, extra={"account_sid": "acme-e", "rate_limit_redis_url": url}
    )
    budget = account_budget(settings)

    assert isinstance(budget, RedisRequestBudget)
    assert account_budget(settings) is budget
    assert "s3cret-pass" not in repr(budget) + repr(settings)


def test_unreachable_redis_falls_back_to_the_process_budget_and_logs_no_secret(caplog):
    budget = process_budget(f"redis://:s3cret-pass@127.0.0.1:{free_port()}/0", "api.exotel.com/acme-f", 2)
    with caplog.at_level(logging.WARNING):
        assert [budget.reserve() == 0.0 for _ in range(3)] == [True, False, False]
    assert "unreachable" in caplog.text
    assert "s3cret-pass" not in caplog.text and "***@127.0.0.1" in caplog.text


def test_redis_urls_are_redacted_and_checked_without_being_quoted():
    assert redacted_redis_url("redis://user:pw@cache:6379/1") == "redis://***@cache:6379/1"
    assert redacted_redis_url("redis://cache:6379/0") == "redis://cache:6379/0"
    with pytest.raises(ExotelConfigurationError) as caught:
        ExotelSettings.from_connection(
            login="k", password="t", host=None,
            extra={"account_sid": "a", "rate_limit_redis_url": "http://u:s3cret@cache"},
        )  # fmt: skip
    assert "s3cret" not in str(caught.value)


def test_a_slot_counts_from_the_answer_so_slow_requests_never_crowd_a_window(redis_url):
    worker, triggerer = (process_budget(redis_url, "api.exotel.com/acme-g", 1) for _ in range(2))
    wait, slot = worker.reserve_slot()
    assert (wait, slot is not None) == (0.0, True)
    assert triggerer.reserve_slot() == (1.0, None)  # in flight: ask again soon

    worker.release(slot)  # the answer is in: the 60 s start now

    assert 58 < triggerer.reserve() <= 60
