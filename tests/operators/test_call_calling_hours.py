"""ExotelConnectOperator with calling hours, on the simulator's clock: a call asked for outside its
window fails before anything is sent, saying when the window opens, whoever asks (a first try or a
redial on retry); no window dials at any hour."""

from __future__ import annotations

import datetime

import pytest

from exotel_provider.airflow_compat import AirflowFailException
from exotel_provider.errors import ExotelOutsideCallingHoursError
from exotel_provider.placement.state_store import DEFAULT_KEY_PREFIX, PlacementRecord
from tests.support.operator_runs import CUSTOMER, context, operator
from tests.support.simulated_day import india_time, next_india_time, provider_on_simulator_time
from tests.support.task_doubles import DictStateStore

pytestmark = pytest.mark.exotel_simulator(time_scale=0)


def test_a_call_outside_its_window_fails_before_the_network_saying_when_it_opens(
    exotel_connection_env, monkeypatch
):
    sim = exotel_connection_env
    clock = provider_on_simulator_time(monkeypatch, sim)
    clock.move_to(next_india_time(sim, "21:15"))
    store = DictStateStore()

    with pytest.raises(
        ExotelOutsideCallingHoursError, match=r"opens at \d{4}-\d\d-\d\d 08:00 \(Asia/Kolkata\)"
    ) as err:
        operator(calling_hours="08:00-19:00").execute(context(store))

    assert sim.requests == []  # nothing reached the simulator
    assert isinstance(err.value, AirflowFailException)  # a retry minutes later cannot help
    assert india_time(err.value.opens_at).time() == datetime.time(8) and err.value.opens_at > sim.now()
    assert CUSTOMER not in str(err.value)  # the number is masked
    assert PlacementRecord(store, DEFAULT_KEY_PREFIX).pending() is None  # a retry need not look for a call


def test_a_call_inside_its_window_is_placed(exotel_connection_env, monkeypatch):
    sim = exotel_connection_env
    provider_on_simulator_time(monkeypatch, sim).move_to(next_india_time(sim, "10:00"))
    sid = operator(calling_hours="08:00-19:00").execute(context(DictStateStore()))
    assert [c.sid for c in sim.placed_calls(CUSTOMER)] == [sid]


def test_a_redial_on_retry_after_the_window_closed_is_refused(exotel_connection_env, monkeypatch):
    sim = exotel_connection_env
    clock = provider_on_simulator_time(monkeypatch, sim)
    clock.move_to(next_india_time(sim, "18:58"))
    sim.script(CUSTOMER, outcome="busy")
    store = DictStateStore()
    first = operator(calling_hours="08:00-19:00", redial_on_retry=True).execute(context(store))
    clock.move_to(next_india_time(sim, "19:20"))  # the retry comes after the window closed

    with pytest.raises(ExotelOutsideCallingHoursError):
        operator(calling_hours="08:00-19:00", redial_on_retry=True).execute(context(store, try_number=2))

    assert [c.sid for c in sim.placed_calls(CUSTOMER)] == [first]


def test_an_operator_without_calling_hours_dials_at_any_hour(exotel_connection_env, monkeypatch):
    sim = exotel_connection_env
    provider_on_simulator_time(monkeypatch, sim).move_to(next_india_time(sim, "03:00"))
    sid = operator().execute(context(DictStateStore()))  # the on-call notifier's case
    assert [c.sid for c in sim.placed_calls(CUSTOMER)] == [sid]
