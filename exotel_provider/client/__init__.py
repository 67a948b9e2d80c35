"""Transport: settings, the HTTP clients, retries, the request budget and error mapping. No Airflow.

Names are imported on first use, so that reading the settings (as Airflow's providers manager does
in every process) does not load an HTTP library.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from exotel_provider.client.api_requests import MAX_SIDS_PER_LISTING
    from exotel_provider.client.async_client import ExotelAsyncClient
    from exotel_provider.client.request_budget import RequestBudget
    from exotel_provider.client.retry_policy import RetryPolicy
    from exotel_provider.client.settings import REGION_HOSTS, ExotelSettings
    from exotel_provider.client.sync_client import ExotelClient

_MODULE_OF = {
    "MAX_SIDS_PER_LISTING": "api_requests",
    "ExotelAsyncClient": "async_client",
    "ExotelClient": "sync_client",
    "ExotelSettings": "settings",
    "REGION_HOSTS": "settings",
    "RequestBudget": "request_budget",
    "RetryPolicy": "retry_policy",
}

__all__ = [
    "MAX_SIDS_PER_LISTING",
    "REGION_HOSTS",
    "ExotelAsyncClient",
    "ExotelClient",
    "ExotelSettings",
    "RequestBudget",
    "RetryPolicy",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
