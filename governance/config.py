"""The governance policy file (config/governance.yaml): score weights and the ranked levels."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_GOVERNANCE = Path(__file__).resolve().parents[1] / "config" / "governance.yaml"
PARTS = ("five_star_share", "no_veto_share", "no_downgrade_share", "on_time_share", "satisfaction", "checkins")
LEVELS = ("street", "community", "grid")


class GovernanceConfigError(ValueError):
    """A governance policy file that cannot be used, naming the key at fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Score(_Strict):
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


class Ranking(_Strict):
    levels: tuple[str, ...]

    @model_validator(mode="after")
    def _levels(self) -> "Ranking":
        if not self.levels or any(level not in LEVELS for level in self.levels):
            raise ValueError(f"levels must be some of {list(LEVELS)}")
        return self


class GovernanceConfig(_Strict):
    """The whole policy, plus ``version`` (first 12 hex digits of the file's sha256)."""

    score: Score
    satisfied: tuple[str, ...] = Field(min_length=1)
    ranking: Ranking
    version: str = "unversioned"


def parse_governance_config(raw: dict, version: str = "unversioned", source: str = "governance config") -> GovernanceConfig:
    """Validate an already-parsed policy (tests build variants this way)."""
    try:
        return GovernanceConfig.model_validate({**raw, "version": version})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise GovernanceConfigError(f"{source}: {where}: {err['msg']}; fix it (see config/governance.yaml)") from None


@lru_cache(maxsize=4)
def load_governance_config(path: Path | None = None) -> GovernanceConfig:
    """Load and validate the governance policy (default ``config/governance.yaml``)."""
    path = Path(path or DEFAULT_GOVERNANCE)
    try:
        data = path.read_bytes()
        raw = yaml.safe_load(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise GovernanceConfigError(f"{path}: cannot read the governance policy ({exc}); "
                                    f"restore config/governance.yaml") from None
    if not isinstance(raw, dict):
        raise GovernanceConfigError(f"{path}: the governance policy must be a YAML mapping")
    return parse_governance_config(raw, hashlib.sha256(data).hexdigest()[:12], str(path))
