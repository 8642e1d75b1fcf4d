"""The governance policy file (config/governance.yaml): score weights and the ranked levels."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from config.loader import Strict, config_path, load, parse

DEFAULT_GOVERNANCE = config_path("governance.yaml")
PARTS = ("five_star_share", "no_veto_share", "no_downgrade_share", "on_time_share", "satisfaction", "checkins")
LEVELS = ("street", "community", "grid")


class Score(Strict):
    weights: dict[str, float]
    checkins_per_compound_target: float = Field(gt=0)
    prior_cases: float = Field(4.0, ge=0, le=1000)
    decimals: int = Field(1, ge=0, le=4)

    @model_validator(mode="after")
    def _weights(self) -> "Score":
        if set(self.weights) != set(PARTS):
            raise ValueError(f"weights must name exactly the parts {list(PARTS)}")
        if any(w < 0 for w in self.weights.values()) or abs(sum(self.weights.values()) - 1.0) > 1e-9:
            raise ValueError("weights must be non-negative and add up to 1")
        return self


class Ranking(Strict):
    levels: tuple[str, ...]

    @model_validator(mode="after")
    def _levels(self) -> "Ranking":
        if not self.levels or any(level not in LEVELS for level in self.levels):
            raise ValueError(f"levels must be some of {list(LEVELS)}")
        return self


class GovernanceConfig(Strict):
    """The whole policy, plus ``version`` (first 12 hex digits of the file's sha256)."""

    score: Score
    satisfied: tuple[str, ...] = Field(min_length=1)
    ranking: Ranking
    version: str = "unversioned"


def parse_governance_config(raw: dict, source: str = "governance config") -> GovernanceConfig:
    """Validate an already-parsed policy (tests build variants this way)."""
    return parse(raw, GovernanceConfig, source)


def load_governance_config(path: Path | None = None) -> GovernanceConfig:
    """The validated governance policy (default ``config/governance.yaml``)."""
    return load(path or "governance.yaml", GovernanceConfig)
