"""The needs policy file (config/needs.yaml): time limits, routing, escalation, rating.

Loaded once through :func:`load_needs_config` into frozen, typed models; every limit,
level and label the workflow uses is read from here.
"""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from config.loader import Strict, config_path, load, parse
from intake.vocab import NEED_CATEGORIES

DEFAULT_NEEDS = config_path("needs.yaml")
LEVELS = ("grid", "street", "district", "city")


class Limit(Strict):
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


class Escalation(Strict):
    levels: tuple[Literal["grid", "street", "district", "city"], ...]
    department_escalates_to: Literal["grid", "street", "district", "city"] = "street"
    hours: float = Field(24, gt=0, le=24 * 30)

    @model_validator(mode="after")
    def _levels(self) -> "Escalation":
        if self.levels != LEVELS:
            raise ValueError(f"levels must be {list(LEVELS)} (lowest first)")
        return self


class Rating(Strict):
    choices: tuple[str, ...]
    reopens: str
    max_reopen: int = Field(1, ge=0, le=5)

    @model_validator(mode="after")
    def _reopens_is_a_choice(self) -> "Rating":
        if self.reopens not in self.choices or len(set(self.choices)) != len(self.choices):
            raise ValueError("`reopens` must be one of the distinct `choices`")
        return self


class StaffPolicy(Strict):
    session_minutes: int = Field(480, ge=5, le=24 * 60)
    scrypt_log2_n: int = Field(14, ge=10, le=20)
    sweep_seconds: float = Field(60, ge=1, le=3600)


_STATES = ("registered", "assigned", "in_progress", "resolved", "closed", "reopened", "rated")
_ACTIONS = ("register", "assign", "accept", "record", "escalate", "transfer", "overdue", "resolve", "close",
            "send_back", "rate")
_ROLES = ("grid_worker", "street_supervisor", "district_supervisor", "city_supervisor", "department",
          "resident", "system")
_UNIT_LEVELS = (*LEVELS, "department")


class Labels(Strict):
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


class NeedsConfig(Strict):
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


def parse_needs_config(raw: dict, source: str = "needs config") -> NeedsConfig:
    """Validate an already-parsed needs policy (tests build variants this way)."""
    return parse(raw, NeedsConfig, source)


NEEDS_CONFIG_ENV = "SAFESTAR_NEEDS_CONFIG"


def load_needs_config(path: Path | None = None) -> NeedsConfig:
    """Load and validate the needs policy: ``path``, else the file named by
    ``SAFESTAR_NEEDS_CONFIG`` (a city's own policy), else ``config/needs.yaml``."""
    env = os.environ.get(NEEDS_CONFIG_ENV)
    return load(path or (Path(env) if env else "needs.yaml"), NeedsConfig)
