"""The needs policy file (config/needs.yaml): time limits, routing, escalation, rating.

Loaded once through :func:`load_needs_config` into frozen, typed models; every limit,
level and label the workflow uses is read from here.
"""
from __future__ import annotations

import hashlib
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from intake.vocab import NEED_CATEGORIES

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
DEFAULT_NEEDS = CONFIG_DIR / "needs.yaml"
LEVELS = ("grid", "street", "district", "city")


class NeedsConfigError(ValueError):
    """A needs policy file that cannot be used, with the key at fault and how to fix it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limit(_Strict):
    """A time limit: clock hours, or working days (same time of day)."""

    hours: float | None = Field(None, gt=0, le=24 * 60)
    working_days: int | None = Field(None, ge=1, le=60)

    @model_validator(mode="after")
    def _one_unit(self) -> "Limit":
        if (self.hours is None) == (self.working_days is None):
            raise ValueError("give exactly one of `hours` or `working_days`")
        return self


class CategoryPolicy(Limit):
    urgent: bool = False
    route: Literal["grid", "department"] = "grid"


class Escalation(_Strict):
    levels: tuple[Literal["grid", "street", "district", "city"], ...]
    department_escalates_to: Literal["grid", "street", "district", "city"] = "street"
    hours: float = Field(24, gt=0, le=24 * 30)

    @model_validator(mode="after")
    def _levels(self) -> "Escalation":
        if self.levels != LEVELS:
            raise ValueError(f"levels must be {list(LEVELS)} (lowest first)")
        return self


class Rating(_Strict):
    choices: tuple[str, ...]
    reopens: str
    max_reopen: int = Field(1, ge=0, le=5)

    @model_validator(mode="after")
    def _reopens_is_a_choice(self) -> "Rating":
        if self.reopens not in self.choices or len(set(self.choices)) != len(self.choices):
            raise ValueError("`reopens` must be one of the distinct `choices`")
        return self


class StaffPolicy(_Strict):
    session_minutes: int = Field(480, ge=5, le=24 * 60)
    scrypt_log2_n: int = Field(14, ge=10, le=20)
    sweep_seconds: float = Field(60, ge=1, le=3600)


_STATES = ("registered", "assigned", "in_progress", "resolved", "closed", "reopened", "rated")
_ACTIONS = ("register", "assign", "accept", "record", "escalate", "transfer", "overdue", "resolve", "close",
            "send_back", "rate")
_ROLES = ("grid_worker", "street_supervisor", "district_supervisor", "city_supervisor", "department",
          "resident", "system")
_UNIT_LEVELS = (*LEVELS, "department")


class Labels(_Strict):
    """Chinese labels of states, actions, levels and roles, and the resident's timeline."""

    states: dict[str, str]
    actions: dict[str, str]
    levels: dict[str, str]
    roles: dict[str, str]
    public_levels: dict[str, str]
    steps: dict[str, str]

    @model_validator(mode="after")
    def _complete(self) -> "Labels":
        for name, keys in (("states", _STATES), ("actions", _ACTIONS), ("levels", _UNIT_LEVELS),
                           ("roles", _ROLES), ("public_levels", _UNIT_LEVELS), ("steps", _ACTIONS)):
            missing = [k for k in keys if k not in getattr(self, name)]
            if missing:
                raise ValueError(f"labels.{name} misses {missing}")
        return self


class NeedsConfig(_Strict):
    """The whole needs policy, plus ``version`` (first 12 hex digits of the file's sha256)."""

    categories: dict[str, CategoryPolicy]
    holidays: frozenset[date] = frozenset()
    escalation: Escalation
    send_back: Limit
    rating: Rating
    staff: StaffPolicy = StaffPolicy()
    labels: Labels
    version: str = "unversioned"

    @field_validator("categories")
    @classmethod
    def _every_category(cls, v: dict[str, CategoryPolicy]) -> dict[str, CategoryPolicy]:
        missing = [c for c in NEED_CATEGORIES if c not in v]
        extra = [c for c in v if c not in NEED_CATEGORIES]
        if missing or extra:
            raise ValueError(f"must be exactly the form's categories {list(NEED_CATEGORIES)}"
                             f" (missing {missing}, unknown {extra})")
        return v


def parse_needs_config(raw: dict, version: str = "unversioned", source: str = "needs config") -> NeedsConfig:
    """Validate an already-parsed needs policy (tests build variants this way)."""
    try:
        return NeedsConfig.model_validate({**raw, "version": version})
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = " ".join(str(err["msg"]).split())
        raise NeedsConfigError(f"{source}: {where}: {msg}; fix it (see config/needs.yaml)") from None


@lru_cache(maxsize=4)
def load_needs_config(path: Path | None = None) -> NeedsConfig:
    """Load and validate the needs policy (default ``config/needs.yaml``)."""
    path = Path(path or DEFAULT_NEEDS)
    try:
        data = path.read_bytes()
        raw = yaml.safe_load(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise NeedsConfigError(f"{path}: cannot read the needs policy ({e}); restore config/needs.yaml") from None
    if not isinstance(raw, dict):
        raise NeedsConfigError(f"{path}: the needs policy must be a YAML mapping; restore config/needs.yaml")
    return parse_needs_config(raw, hashlib.sha256(data).hexdigest()[:12], str(path))
