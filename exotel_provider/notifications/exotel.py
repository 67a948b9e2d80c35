"""ExotelCallNotifier: phone someone (an on-call engineer) when a task or a DAG run fails."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from airflow.sdk import BaseNotifier, Context

from exotel_provider.calls.connect_request import MAX_CUSTOM_FIELD_LENGTH
from exotel_provider.calls.numbers import mask_number
from exotel_provider.hooks.exotel import ExotelHook


class ExotelCallNotifier(BaseNotifier):
    """Place one call to ``to_number`` and connect it to a call flow (a "pipeline failed" message).

    Use it as a callback in any DAG::

        on_failure_callback=ExotelCallNotifier(to_number="+919876500099", app_id="927")

    on the DAG (one call per failed run) or on tasks (one call per failed task). The call is placed
    and not waited for; its Sid is logged. The flow receives ``custom_field``, by default
    ``"<dag_id>/<task_id> failed"`` for a task callback and ``"<dag_id> failed"`` for a DAG
    callback, so a Passthru applet can read out what broke.

    :param to_number: the number to call (E.164 or Indian national form).
    :param app_id: the call flow to connect the call to; or give ``url``.
    :param url: the flow URL itself.
    :param caller_id: the ExoPhone to call from; defaults to the connection's ``extra.caller_id``.
    :param custom_field: passed to the flow (templated, at most 128 characters).
    :param time_limit: cut the call after this many seconds.
    :param exotel_conn_id: the Exotel connection.
    """

    template_fields: Sequence[str] = (
        "to_number",
        "app_id",
        "url",
        "caller_id",
        "custom_field",
        "exotel_conn_id",
    )

    def __init__(
        self,
        *,
        to_number: str,
        app_id: str | int | None = None,
        url: str | None = None,
        caller_id: str | None = None,
        custom_field: str | None = None,
        time_limit: int | None = 120,
        exotel_conn_id: str = ExotelHook.default_conn_name,
    ) -> None:
        super().__init__()
        self.to_number = to_number
        self.app_id = app_id
        self.url = url
        self.caller_id = caller_id
        self.custom_field = custom_field
        self.time_limit = time_limit
        self.exotel_conn_id = exotel_conn_id

    @cached_property
    def hook(self) -> ExotelHook:
        return ExotelHook(self.exotel_conn_id)

    def get_template_env(self, dag: Any = None) -> Any:
        # A DAG-level callback may get the scheduler's serialized DAG, which has no template env.
        return super().get_template_env(dag=dag if hasattr(dag, "get_template_env") else None)

    def notify(self, context: Context) -> None:
        call = self.hook.connect_to_flow(
            self.to_number,
            app_id=self.app_id or None,
            url=self.url or None,
            caller_id=self.caller_id or None,
            custom_field=self.custom_field or failure_description(context),
            time_limit=self.time_limit,
        )
        self.log.info("Exotel: called %s about the failure (call %s)", mask_number(self.to_number), call.sid)


def failure_description(context: Context | dict[str, Any]) -> str:
    """``"<dag_id>/<task_id> failed"`` for a task callback, ``"<dag_id> failed"`` for a DAG callback.

    A DAG callback's context says why the run ended (``reason``) and may carry *some* task
    instance of the run, not necessarily the one that failed, so it names no task.
    """
    dag = context.get("dag")
    dag_run = context.get("dag_run")
    dag_id = getattr(dag, "dag_id", None) or getattr(dag_run, "dag_id", None) or "a DAG"
    ti = None if "reason" in context else context.get("ti") or context.get("task_instance")
    task_id = getattr(ti, "task_id", None)
    text = f"{dag_id}/{task_id} failed" if task_id else f"{dag_id} failed"
    return text[:MAX_CUSTOM_FIELD_LENGTH]


send_exotel_call = ExotelCallNotifier
"""The function-style name other providers use for their notifiers (``send_slack_notification``)."""
