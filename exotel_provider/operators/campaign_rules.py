"""The rules about whom a campaign task may dial, built when the task runs from its operator's
parameters: the do-not-call table in the ledger's database, the per-person caps counted from the
ledger, mobiles only. Light to import: the rules themselves load at execute time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from exotel_provider.calls.calling_hours import CallingHours, outside_calling_hours_policy
from exotel_provider.errors import ExotelValidationError
from exotel_provider.task_errors import InvalidCallRequest

if TYPE_CHECKING:
    from exotel_provider.campaigns.dial_rules import DialRules
    from exotel_provider.campaigns.do_not_call import DoNotCallList
    from exotel_provider.campaigns.ledger import CampaignBook

DO_NOT_CALL_TABLE = "do_not_call"
"""The operator's default do-not-call table (``campaigns.do_not_call.DO_NOT_CALL_TABLE``)."""
MAX_CALLS_PER_PERSON = 2
"""The operator's default calls to one phone a day (``campaigns.call_caps.DEFAULT_MAX_CALLS_PER_PERSON``)."""
MAX_CALLS_PER_WEEK = 6
"""The operator's default calls to one phone in 7 days (``campaigns.call_caps.DEFAULT_MAX_CALLS_PER_WEEK``)."""


class DialRulesParameters(BaseOperator):
    """The parameters of the rules about whom a campaign task may dial: the base operator of
    :class:`~exotel_provider.operators.campaign.ExotelCampaignOperator` (an operator, so that
    ``default_args``, ``partial()`` and ``expand()`` know these parameters).

    :param do_not_call: the do-not-call table in the call ledger's database (``do_not_call``: created if
        missing; None: no list), or a :class:`~exotel_provider.campaigns.do_not_call.DoNotCallList`.
        A listed number is never dialled; a number Exotel refuses as DND is added to it.
    :param max_calls_per_person: calls to one phone a day (default 2: the first call and one redial),
        counted from the ledger across every reminder and run; None: no daily cap.
    :param max_calls_per_week: calls to one phone over today and the six days before (default 6);
        None: no weekly cap.
    :param mobile_only: dial only Indian mobile numbers (a landline is refused before dialling).
    :param calling_hours: when calls may be dialled, e.g. ``"08:00-19:00"`` (or a
        :class:`~exotel_provider.calls.calling_hours.CallingHours`), in the connection's time zone (India
        by default); None: at any hour.
    :param outside_calling_hours: at the window's end, ``"defer"`` (wait for it to open again without
        holding a worker slot, then go on) or ``"record"`` (record everyone not reached "not called:
        outside calling hours", for the next run).

    An entry a rule keeps back is not dialled: its outcome is "not called" with the rule's reason.
    """

    def __init__(
        self,
        *,
        do_not_call: str | DoNotCallList | None = DO_NOT_CALL_TABLE,
        max_calls_per_person: int | None = MAX_CALLS_PER_PERSON,
        max_calls_per_week: int | None = MAX_CALLS_PER_WEEK,
        mobile_only: bool = False,
        calling_hours: Any = None,
        outside_calling_hours: str = "defer",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.calling_hours = CallingHours.parse(calling_hours)
        self.outside_calling_hours = outside_calling_hours_policy(outside_calling_hours)
        self.do_not_call, self.mobile_only = do_not_call, mobile_only
        self.max_calls_per_person, self.max_calls_per_week = max_calls_per_person, max_calls_per_week

    def dial_rules(self, book: CampaignBook | None, *, time_zone: Any, logger: Any) -> DialRules:
        """The campaign's rules; a rule that needs a SQL ledger and has none is named in a warning."""
        from exotel_provider.campaigns.call_caps import CallCaps
        from exotel_provider.campaigns.dial_rules import DialRules
        from exotel_provider.campaigns.do_not_call import SqlDoNotCallList
        from exotel_provider.placement import guard

        try:
            caps = CallCaps(self.max_calls_per_person, self.max_calls_per_week)
        except ExotelValidationError as err:
            raise InvalidCallRequest.from_error(err) from None
        ledger = book.ledger if book is not None else None
        db, table = getattr(ledger, "db", None), self.do_not_call
        listed = SqlDoNotCallList(db, table=table) if isinstance(table, str) and db is not None else None
        rules = DialRules(
            clock=lambda: guard.DEFAULT_CLOCK.now(), ledger=ledger, caps=caps, mobile_only=bool(self.mobile_only),
            do_not_call=listed if isinstance(table, str) else table, time_zone=time_zone,
        )  # fmt: skip
        missing = [
            name for name, wanted, present in (
                ("the do-not-call list", isinstance(table, str), listed is not None),
                ("the per-person caps", caps.active, rules.counts_caps),
            ) if wanted and not present
        ]  # fmt: skip
        if missing:
            logger.warning(
                "Exotel campaign: %s not applied: they need the campaign's SQL call ledger (give "
                'ledger={"conn_id": ..., "day": ...}), or set them to None to say so.',
                " and ".join(missing),
            )
        return rules
