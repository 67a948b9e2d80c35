"""ExotelConnectOperator with ``do_not_call_conn_id``, against the simulator over HTTP and a SQLite
reminders database: a listed number is never dialled (whatever form it was typed in), the task fails
without retry and with a masked number; a number Exotel refuses as DND is listed, so the next
task does not dial it; without the parameter no list is read."""

from __future__ import annotations

import sqlite3

import pytest

from exotel_provider.airflow_compat import AirflowFailException
from exotel_provider.campaigns.do_not_call import DND_REASON
from exotel_provider.errors import ExotelDoNotCallError, ExotelForbiddenError
from exotel_provider.placement.state_store import DEFAULT_KEY_PREFIX, PlacementRecord
from tests.support.operator_runs import CUSTOMER, context, operator
from tests.support.task_doubles import DictStateStore
from tools import reminders_db

pytestmark = pytest.mark.exotel_simulator(time_scale=0)

CONN_ID = "exotel_reminders_db"


@pytest.fixture
def reminders_database(tmp_path, monkeypatch):
    """An empty SQLite reminders database as ``exotel_reminders_db`` (no do_not_call table yet)."""
    path = tmp_path / "reminders.db"
    sqlite3.connect(path).close()
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_REMINDERS_DB", reminders_db.connection_json(path))
    return path


def listed(path) -> dict[str, str]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT phone, reason FROM do_not_call").fetchall())


def test_a_listed_number_is_not_dialled_and_the_task_fails_without_retry(
    exotel_connection_env, reminders_database
):
    sim = exotel_connection_env
    with sqlite3.connect(reminders_database) as db:  # typed by hand, in the national form
        db.execute("CREATE TABLE do_not_call (phone TEXT PRIMARY KEY, reason TEXT, added_at TEXT)")
        db.execute(
            "INSERT INTO do_not_call VALUES (?, 'customer asked', '2026-08-01')", ("0" + CUSTOMER[3:],)
        )
    store = DictStateStore()

    with pytest.raises(ExotelDoNotCallError, match="do-not-call list \\(reason: customer asked\\)") as err:
        operator(do_not_call_conn_id=CONN_ID).execute(context(store))

    assert isinstance(err.value, AirflowFailException)  # retrying cannot help
    assert err.value.reason == "customer asked"
    assert CUSTOMER not in str(err.value) and CUSTOMER[3:] not in str(err.value)  # masked
    assert sim.requests == []  # nothing reached Exotel
    assert PlacementRecord(store, DEFAULT_KEY_PREFIX).pending() is None  # no call may exist


def test_a_number_exotel_refuses_as_dnd_is_listed_and_not_dialled_again(
    exotel_connection_env, reminders_database
):
    sim = exotel_connection_env
    sim.script(CUSTOMER, reject_status=403, reject_message="The number is registered on the DND list")

    with pytest.raises(ExotelForbiddenError):
        operator(do_not_call_conn_id=CONN_ID).execute(context(DictStateStore()))
    assert listed(reminders_database) == {CUSTOMER: DND_REASON}
    posts = len(sim.requests)

    with pytest.raises(ExotelDoNotCallError, match="reason: DND"):
        operator(do_not_call_conn_id=CONN_ID).execute(context(DictStateStore()))
    assert len(sim.requests) == posts  # the next task did not try the number again


def test_an_unlisted_number_is_dialled_and_the_list_table_is_created(
    exotel_connection_env, reminders_database
):
    sim = exotel_connection_env
    sid = operator(do_not_call_conn_id=CONN_ID).execute(context(DictStateStore()))
    assert [c.sid for c in sim.placed_calls(CUSTOMER)] == [sid]
    assert listed(reminders_database) == {}


def test_without_a_list_connection_no_list_is_read(exotel_connection_env, monkeypatch):
    sim = exotel_connection_env
    monkeypatch.delenv("AIRFLOW_CONN_EXOTEL_REMINDERS_DB", raising=False)
    sid = operator().execute(context(DictStateStore()))  # the on-call notifier's case
    assert [c.sid for c in sim.placed_calls(CUSTOMER)] == [sid]
