"""The intake service's policy, from ``config/intake.yaml``, through one typed loader."""
from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scoring.rules import CONFIG_DIR

DEFAULT_INTAKE_CONFIG = CONFIG_DIR / "intake.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimitSettings(_Strict):
    burst: float = Field(gt=0)
    per_second: float = Field(gt=0)


class CheckinSettings(_Strict):
    count_interval_hours: float = Field(gt=0)


class IdempotencySettings(_Strict):
    keep_hours: float = Field(gt=0)
    min_key_length: int = Field(ge=8)
    max_key_length: int = Field(le=255)


class OfficerSessionSettings(_Strict):
    max_age_hours: float = Field(gt=0)


class Limits(_Strict):
    max_body_bytes: int = Field(gt=0)
    body_deadline_seconds: float = Field(gt=0)
    header_deadline_seconds: float = Field(gt=0)
    keep_alive_seconds: float = Field(gt=0)
    max_concurrent_requests: int = Field(gt=0)
    max_connections: int = Field(gt=0)


class DatabaseSettings(_Strict):
    checkpoint_seconds: float = Field(ge=0)


class SiteSettings(_Strict):
    page_cache_mib: float = Field(gt=0)


class IntakeSettings(_Strict):
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


def load_intake_settings(path: Path = DEFAULT_INTAKE_CONFIG) -> IntakeSettings:
    """Read and validate the intake policy; a clear one-line error names the bad key."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the intake settings ({exc}); restore config/intake.yaml") from None
    try:
        return IntakeSettings.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{path}: {where}: {first['msg']}; fix it (see config/intake.yaml)") from None


@lru_cache(maxsize=1)
def intake_settings() -> IntakeSettings:
    """The shipped intake policy, read once."""
    return load_intake_settings()
