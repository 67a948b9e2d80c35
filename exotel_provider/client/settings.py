"""How to reach one Exotel account: credentials, regional base URL, and every URL we request.

This is the one settings object (read from an Airflow connection by the hook) and the one place
that builds URLs. The API token is kept out of ``repr`` and never put in a URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from exotel_provider.calls.exotel_time import DEFAULT_EXOTEL_TIME_ZONE_NAME
from exotel_provider.client.redaction import without_url_credentials
from exotel_provider.errors import ExotelConfigurationError

REGION_HOSTS: dict[str, str] = {
    "singapore": "api.exotel.com",
    "mumbai": "api.in.exotel.com",
}
DEFAULT_REGION = "singapore"
DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_REQUESTS_PER_MINUTE = 150
"""Our own request budget per account: safely under Exotel's limit of 200 requests per minute."""
EXOTEL_REQUESTS_PER_MINUTE_LIMIT = 200
DEFAULT_TIME_ZONE = DEFAULT_EXOTEL_TIME_ZONE_NAME
"""The zone Exotel shows timestamps in to Indian accounts (EXOTEL_API.md: unconfirmed)."""


@dataclass(frozen=True)
class ExotelSettings:
    """Credentials and endpoints of one Exotel account."""

    account_sid: str
    api_key: str
    api_token: str = field(repr=False)
    base_url: str = f"https://{REGION_HOSTS[DEFAULT_REGION]}"
    region: str = DEFAULT_REGION
    caller_id: str | None = None
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE
    mask_phone_numbers: bool = True
    rate_limit_redis_url: str | None = field(default=None, repr=False)
    """Redis that shares the request budget between processes and machines (None: one per process)."""
    time_zone: str = DEFAULT_TIME_ZONE
    """IANA zone of Exotel's timestamps (``DateCreated`` ...) for this account."""

    def __post_init__(self) -> None:
        for name, value in (
            ("account_sid", self.account_sid),
            ("API key", self.api_key),
            ("API token", self.api_token),
        ):
            if not isinstance(value, str) or not value.strip():
                raise ExotelConfigurationError(f"The Exotel connection has no {name}. {_WHERE_TO_FIND[name]}")
        if "/" in self.account_sid or any(c.isspace() for c in self.account_sid):
            raise ExotelConfigurationError(
                "The Exotel account_sid contains '/' or spaces; copy it from Exotel's dashboard, API settings."
            )

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every form of the credentials that must never leave the client (see :mod:`.redaction`)."""
        from exotel_provider.client.redaction import secret_forms

        return secret_forms(self.api_key, self.api_token)

    @property
    def host(self) -> str:
        """The host (and port) requests go to, for messages."""
        return urlsplit(self.base_url).netloc

    # --- URLs: the only place they are built ---------------------------------------------------

    def account_url(self, path: str, *, json: bool = True) -> str:
        """``<base>/v1/Accounts/<sid>/<path>[.json]``."""
        suffix = ".json" if json else ""
        return f"{self.base_url}/v1/Accounts/{quote(self.account_sid, safe='')}/{path}{suffix}"

    def connect_url(self, *, json: bool = True) -> str:
        """URL of ``Calls/connect`` (placing a call)."""
        return self.account_url("Calls/connect", json=json)

    def call_url(self, call_sid: str, *, json: bool = True) -> str:
        """URL of one call's details."""
        return self.account_url(f"Calls/{quote(call_sid, safe='')}", json=json)

    def calls_url(self, *, json: bool = True) -> str:
        """URL of the bulk call-details listing."""
        return self.account_url("Calls", json=json)

    def page_url(self, page_uri: str) -> str:
        """Absolute URL for a paging URI from Exotel's Metadata (a path on the same host)."""
        parts = urlsplit(page_uri)
        if parts.scheme or parts.netloc:
            if parts.netloc != self.host or "@" in page_uri:
                raise ExotelConfigurationError(
                    "Exotel's paging URI points to another host, or carries credentials "
                    f"({without_url_credentials(page_uri)[:120]}); not following it."
                )
            return page_uri
        return self.base_url + (page_uri if page_uri.startswith("/") else "/" + page_uri)

    @classmethod
    def from_connection(
        cls,
        *,
        login: str | None,
        password: str | None,
        host: str | None,
        port: int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> ExotelSettings:
        """Read the connection contract: login = API key, password = API token, extra.account_sid,
        extra.region (singapore|mumbai), optional host override (with extra.scheme for a bare host),
        extra.caller_id, extra.timeout, extra.requests_per_minute, extra.mask_phone_numbers,
        extra.timezone, extra.rate_limit_redis_url."""
        extra = dict(extra or {})
        region = str(extra.get("region") or DEFAULT_REGION).strip().lower()
        if region not in REGION_HOSTS:
            raise ExotelConfigurationError(
                f"Unknown Exotel region {region!r} in the connection's extra. Use 'singapore' "
                "(api.exotel.com, the default) or 'mumbai' (api.in.exotel.com, for Indian accounts)."
            )
        base_url = base_url_for(host=host, port=port, region=region, scheme=extra.get("scheme"))
        return cls(
            account_sid=str(extra.get("account_sid") or "").strip(),
            api_key=(login or "").strip(),
            api_token=(password or "").strip(),
            base_url=base_url,
            region=region,
            caller_id=(str(extra["caller_id"]).strip() or None) if extra.get("caller_id") else None,
            timeout=_positive_number(extra.get("timeout"), "timeout", DEFAULT_TIMEOUT_SECONDS),
            requests_per_minute=_request_budget(extra.get("requests_per_minute"), base_url),
            mask_phone_numbers=_boolean(extra.get("mask_phone_numbers"), default=True),
            rate_limit_redis_url=_redis_url(extra.get("rate_limit_redis_url")),
            time_zone=_time_zone(extra.get("timezone")),
        )


_WHERE_TO_FIND = {
    "account_sid": "Set extra.account_sid (Exotel dashboard, API settings).",
    "API key": "Put the API key in the connection's login field.",
    "API token": "Put the API token in the connection's password field.",
}


def base_url_for(*, host: str | None, port: int | None, region: str, scheme: str | None = None) -> str:
    """The base URL: the region's host, or the connection's host override.

    A bare host name means https, or ``scheme`` (extra.scheme: the URI form of a connection cannot
    put a scheme in its host); a full URL with scheme (and port) is used as is.
    """
    scheme = _scheme(scheme)
    if not host or not host.strip():
        if scheme not in (None, "https"):
            raise ExotelConfigurationError(
                f"The Exotel connection's extra.scheme is {scheme!r} but it has no host: Exotel's "
                "regional hosts speak https only. Set the host (e.g. 127.0.0.1:8765) or drop extra.scheme."
            )
        return f"https://{REGION_HOSTS[region]}"
    text = host.strip()
    host = without_url_credentials(text)
    if "@" in text:
        raise ExotelConfigurationError(
            f"The Exotel connection's host {host!r} holds credentials; put the API key in the login "
            "field and the token in the password field, and give only scheme, host and port."
        )
    if "://" not in text:
        text = f"{scheme or 'https'}://{text}"
    elif scheme is not None and not text.lower().startswith(f"{scheme}://"):
        raise ExotelConfigurationError(
            f"The Exotel connection's host {host!r} and its extra.scheme {scheme!r} disagree; "
            "give the scheme in one place."
        )
    parts = urlsplit(text)
    try:
        host_port = parts.port
    except ValueError:
        host_port = -1
    if host_port is not None and not 0 < host_port < 65536:
        raise ExotelConfigurationError(f"The Exotel connection's host {host!r} has an invalid port.")
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        raise ExotelConfigurationError(
            f"The Exotel connection's host {host!r} is not a host name or an http(s) URL "
            "(and must not hold credentials). Leave it empty to use the region's host."
        )
    if parts.path.rstrip("/"):
        raise ExotelConfigurationError(
            f"The Exotel connection's host {host!r} has a path; give only scheme, host and port."
        )
    netloc = parts.netloc
    if port and host_port is None:
        if not 0 < int(port) < 65536:
            raise ExotelConfigurationError(f"The Exotel connection's port {port!r} is invalid.")
        netloc = f"{netloc}:{int(port)}"
    return f"{parts.scheme}://{netloc}"


def _scheme(value: Any) -> str | None:
    """extra.scheme: ``http`` or ``https`` (any case), or None when unset."""
    if value is None or str(value).strip() == "":
        return None
    scheme = str(value).strip().lower()
    if scheme not in ("http", "https"):
        raise ExotelConfigurationError(
            f"The Exotel connection's extra.scheme must be 'http' or 'https', not {value!r}."
        )
    return scheme


def _positive_number(value: Any, name: str, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if not number > 0:
        raise ExotelConfigurationError(
            f"The Exotel connection's extra.{name} must be a positive number, not {value!r}."
        )
    return number


def _request_budget(value: Any, base_url: str) -> int:
    """extra.requests_per_minute: a whole number from 1 to Exotel's limit of 200 (any positive whole
    number for another host, e.g. a local simulator whose limit is scaled up for a benchmark)."""
    budget = _positive_number(value, "requests_per_minute", DEFAULT_REQUESTS_PER_MINUTE)
    exotel_host = urlsplit(base_url).hostname in REGION_HOSTS.values()
    limit = EXOTEL_REQUESTS_PER_MINUTE_LIMIT if exotel_host else float("inf")
    if budget != int(budget) or not 1 <= budget <= limit:
        raise ExotelConfigurationError(
            f"The Exotel connection's extra.requests_per_minute must be a whole number from 1 to "
            f"{EXOTEL_REQUESTS_PER_MINUTE_LIMIT} (Exotel's limit per account), not {value!r}."
        )
    return int(budget)


def _redis_url(value: Any) -> str | None:
    """extra.rate_limit_redis_url: a redis://, rediss:// or unix:// URL (never quoted: it may hold a password)."""
    if value is None or not str(value).strip():
        return None
    url = str(value).strip()
    if urlsplit(url).scheme not in _REDIS_SCHEMES:
        raise ExotelConfigurationError(
            "The Exotel connection's extra.rate_limit_redis_url must be a redis://, rediss:// or "
            "unix:// URL (for example redis://redis.internal:6379/0)."
        )
    return url


_REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})


def _boolean(value: Any, *, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in {"false", "0", "no", "off"}


def _time_zone(value: Any) -> str:
    """An IANA zone name (default India time); a clear error for anything else."""
    name = str(value).strip() if value is not None else ""
    if not name:
        return DEFAULT_TIME_ZONE
    try:
        ZoneInfo(name)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        raise ExotelConfigurationError(
            f"extra.timezone {name!r} is not an IANA time zone name; use e.g. 'Asia/Kolkata' "
            "(the default, India time) or 'UTC': the zone Exotel gives DateCreated in."
        ) from None
    return name
