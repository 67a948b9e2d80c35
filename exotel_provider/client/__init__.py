"""Transport: settings, the HTTP client, retries and error mapping. No Airflow."""

from exotel_provider.client.retry_policy import RetryPolicy
from exotel_provider.client.settings import REGION_HOSTS, ExotelSettings
from exotel_provider.client.sync_client import MAX_SIDS_PER_LISTING, ExotelClient

__all__ = ["MAX_SIDS_PER_LISTING", "REGION_HOSTS", "ExotelClient", "ExotelSettings", "RetryPolicy"]
