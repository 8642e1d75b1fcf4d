"""The intake service's policy, from ``config/intake.yaml``, through one typed loader."""
from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, field_validator

from config.loader import Strict, config_path, load

DEFAULT_INTAKE_CONFIG = config_path("intake.yaml")


class RateLimitSettings(Strict):
    burst: float = Field(gt=0)
    per_second: float = Field(gt=0)


class CheckinSettings(Strict):
    count_interval_hours: float = Field(gt=0)


class IdempotencySettings(Strict):
    keep_hours: float = Field(gt=0)
    min_key_length: int = Field(ge=8)
    max_key_length: int = Field(le=255)


class OfficerSessionSettings(Strict):
    max_age_hours: float = Field(gt=0)


class Limits(Strict):
    max_body_bytes: int = Field(gt=0)
    body_deadline_seconds: float = Field(gt=0)
    header_deadline_seconds: float = Field(gt=0)
    keep_alive_seconds: float = Field(gt=0)
    max_concurrent_requests: int = Field(gt=0)
    max_connections: int = Field(gt=0)


class DatabaseSettings(Strict):
    checkpoint_seconds: float = Field(ge=0)


class SiteSettings(Strict):
    page_cache_mib: float = Field(gt=0)


class IntakeSettings(Strict):
    """Every threshold of the intake service."""

    rate_limit: RateLimitSettings
    trusted_proxies: tuple[str, ...] = ()
    checkins: CheckinSettings
    idempotency: IdempotencySettings
    officer_session: OfficerSessionSettings
    limits: Limits
    database: DatabaseSettings
    site: SiteSettings
    hsts_max_age_seconds: int = Field(ge=0)
    workers: int = Field(ge=1, le=64)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_proxy(v) for v in value)


def check_proxy(value: str) -> str:
    """A trusted proxy hop: an IP address or a CIDR network (``10.0.0.0/8``)."""
    try:
        ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValueError(f"trusted proxy {value!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/8)") from None
    return value.strip()


def load_intake_settings(path: Path | None = None) -> IntakeSettings:
    """Read and validate the intake policy (default ``config/intake.yaml``); a one-line
    ``ConfigError`` names the bad key."""
    return load(path or "intake.yaml", IntakeSettings)
