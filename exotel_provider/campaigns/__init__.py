"""Campaigns: many calls for one purpose (reminders, collections), summarised and reported."""

from exotel_provider.calls.status import REDIAL_STATUSES
from exotel_provider.campaigns.report import render_html_report
from exotel_provider.campaigns.summary import Attempt, needs_redial, summarise_attempts

__all__ = ["REDIAL_STATUSES", "Attempt", "needs_redial", "render_html_report", "summarise_attempts"]
