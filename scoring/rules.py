"""The scoring rules file: loading, validation and its content-hash version."""
from __future__ import annotations

import math
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from config.loader import ConfigError, Strict, config_path, load
from ingest.taxonomy import load_taxonomy
from schemas.events import SOURCES

DEFAULT_RULES = config_path("rules.yaml")


class Window(Strict):
    months: int = Field(12, ge=1, le=36)
    half_life_days: float = Field(180.0, gt=0)


class Population(Strict):
    persons_per_household: float = Field(2.8, gt=0)


class Shrinkage(Strict):
    prior: Literal["five_star", "street", "city"] = "five_star"
    strength_residents: float = Field(3000.0, gt=0)


class IndexScale(Strict):
    scale_per_1000: float = Field(26.0, gt=0)


class Stars(Strict):
    thresholds: dict[int, float]
    floor: int = Field(1, ge=1, le=5)

    @field_validator("thresholds")
    @classmethod
    def _levels(cls, v: dict[int, float]) -> dict[int, float]:
        if sorted(v) != [2, 3, 4, 5]:
            raise ValueError("needs exactly the star levels 2, 3, 4, 5 (1 star is below the 2-star threshold)")
        for star, t in v.items():
            if not 0.0 < t < 100.0:
                raise ValueError(f"threshold for {star} stars must lie strictly between 0 and 100, got {t}")
        if not v[2] < v[3] < v[4] < v[5]:
            raise ValueError("thresholds must increase with the star level (2 < 3 < 4 < 5)")
        return v


class StableStars(Strict):
    """Hysteresis of the index level: how far past a threshold, or how long across it."""

    margin: float = Field(0.5, ge=0, lt=10)
    days: int = Field(14, ge=0, le=366)


class Veto(Strict):
    categories: list[str]


class DowngradeKind(Strict):
    label: str
    categories: list[str] = Field(min_length=1)
    steps: int = Field(1, ge=1, le=4)


class Sufficiency(Strict):
    min_exposure_residents: float = Field(1.0, gt=0)


class Attribution(Strict):
    address_match_threshold: float = Field(85.0, gt=0, le=100)
    match_rate_warn: float = Field(0.95, ge=0, le=1)
    match_rate_floor: float = Field(0.80, ge=0, le=1)


class SourceWindow(Strict):
    recent_days: int | None = Field(None, ge=1, le=366)
    trailing_days: int | None = Field(None, ge=7, le=1100)
    min_volume_ratio: float | None = Field(None, ge=0, le=1)
    min_expected: float | None = Field(None, ge=0)


class SourceChecks(Strict):
    """Thresholds of the blocking source completeness check (see config/rules.yaml)."""

    recent_days: int = Field(30, ge=1, le=366)
    trailing_days: int = Field(180, ge=7, le=1100)
    min_volume_ratio: float = Field(0.3, ge=0, le=1)
    min_expected: float = Field(5.0, ge=0)
    per_source: dict[str, SourceWindow] = Field(default_factory=dict)

    @field_validator("per_source")
    @classmethod
    def _known_sources(cls, v: dict[str, SourceWindow]) -> dict[str, SourceWindow]:
        unknown = sorted(set(v) - set(SOURCES))
        if unknown:
            raise ValueError(f"unknown source(s) {', '.join(unknown)}: use one of {', '.join(SOURCES)}")
        return v

    def for_source(self, source: str) -> "SourceChecks":
        """The thresholds of one source: its own values over the shared ones."""
        own = self.per_source.get(source)
        if own is None:
            return self
        return self.model_copy(update={k: v for k, v in own.model_dump().items() if v is not None})


class Stability(Strict):
    minor_categories: list[str] = Field(default_factory=list)


class Public(Strict):
    """What the public pages may show: counts under ``suppress_below`` read "少量" (at least
    3, or a hidden count of 1 could only be 1)."""

    suppress_below: int = Field(3, ge=3, le=100)


class CommonProblems(Strict):
    """How the common-problems list is tested (reports/common_problems.py)."""

    false_discovery_rate: float = Field(0.10, gt=0, lt=1)
    confidence: float = Field(0.95, gt=0, lt=1)
    min_compounds: int = Field(3, ge=1)
    period_months: int = Field(3, ge=1, le=12)


class Rules(Strict):
    """Validated scoring rules; `version` is the content hash written on every rating."""

    window: Window
    population: Population
    shrinkage: Shrinkage
    index: IndexScale
    stars: Stars
    stable_stars: StableStars = StableStars()
    categories: dict[str, float]
    veto: Veto
    downgrade: dict[str, DowngradeKind]
    sufficiency: Sufficiency = Sufficiency()
    stability: Stability = Stability()
    public: Public = Public()
    plaque_stability_days: int = Field(30, ge=0)
    attribution: Attribution = Attribution()
    sources: SourceChecks = SourceChecks()
    common_problems: CommonProblems = CommonProblems()
    version: str = ""
    taxonomy_codes: tuple[str, ...] = ()
    taxonomy_names: dict[str, str] = Field(default_factory=dict)
    taxonomy_groups: dict[str, str] = Field(default_factory=dict)

    @field_validator("categories")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        for code, w in v.items():
            if not (isinstance(w, (int, float)) and math.isfinite(w) and w >= 0):
                raise ValueError(f"weight of {code!r} must be a number >= 0, got {w!r}")
        return v

    @model_validator(mode="after")
    def _stable_for_small_compounds(self) -> "Rules":
        # The design promise "one minor theft in a 30-household compound costs at most one
        # star" holds for every compound size iff 1000*w/m <= R(4 stars) - R(5 stars).
        if not self.stability.minor_categories:
            return self
        w = max(self.categories.get(c, 0.0) for c in self.stability.minor_categories)
        gap = self.rate_threshold(4) - self.rate_threshold(5)
        cost = 1000.0 * w / self.shrinkage.strength_residents
        if cost > gap:
            need = math.ceil(1000.0 * w / gap)
            raise ValueError(
                f"shrinkage.strength_residents={self.shrinkage.strength_residents:g} lets one minor "
                f"incident (weight {w:g}) cost more than one star; raise it to at least {need} "
                f"or widen the 4-5 star threshold gap"
            )
        return self

    @model_validator(mode="after")
    def _margin_within_the_gaps(self) -> "Rules":
        t = self.stars.thresholds
        gap = min(t[k + 1] - t[k] for k in (2, 3, 4))
        if 2 * self.stable_stars.margin >= gap:
            raise ValueError(f"stable_stars.margin={self.stable_stars.margin:g} must be less than half the "
                             f"smallest gap between star thresholds ({gap:g}); lower the margin")
        return self

    # --- derived values -------------------------------------------------------------
    def rate_threshold(self, star: int, offset: float = 0.0) -> float:
        """The largest stabilised rate R (per 1000 residents) that still earns `star` stars;
        with `offset`, that of the threshold moved by so many index points (-inf when the
        moved threshold is 100 or more: no rate reaches it)."""
        t = self.stars.thresholds[star] + offset
        return -self.index.scale_per_1000 * math.log(t / 100.0) if t < 100.0 else -math.inf

    @cached_property
    def veto_set(self) -> frozenset[str]:
        return frozenset(self.veto.categories)

    @cached_property
    def downgrade_kind_of(self) -> dict[str, str]:
        """Category code -> downgrade kind."""
        return {c: kind for kind, k in self.downgrade.items() for c in k.categories}

    def label(self, code: str) -> str:
        """Chinese display name of a category code (the code itself when unknown)."""
        return self.taxonomy_names.get(code, code)

    @cached_property
    def downgrade_labels(self) -> dict[str, str]:
        """Downgrade kind -> its public label (the one place these labels are written)."""
        return {kind: spec.label for kind, spec in self.downgrade.items()}


def _section(raw: dict, key: str) -> dict:
    """A mapping section of the raw YAML, or {} when it is absent or mistyped (pydantic
    then reports the type error with the key)."""
    v = raw.get(key)
    return v if isinstance(v, dict) else {}


def _codes_in(v: object) -> list[str]:
    return [c for c in v if isinstance(c, str)] if isinstance(v, list) else []


def _check_codes(raw: dict, codes: tuple[str, ...], source: str) -> None:
    """Every category the rules name is a taxonomy code, and every code has a weight."""
    weights = _section(raw, "categories")
    lists = {"veto.categories": _section(raw, "veto").get("categories"),
             **{f"downgrade.{kind}.categories": spec.get("categories") if isinstance(spec, dict) else None
                for kind, spec in _section(raw, "downgrade").items()},
             "stability.minor_categories": _section(raw, "stability").get("minor_categories")}
    named = [(f"categories.{code}", code) for code in weights]
    named += [(where, code) for where, found in lists.items() for code in _codes_in(found)]
    problems = [f"{where}: {code!r} is not a code of config/taxonomy.yaml" for where, code in named if code not in codes]
    missing = [c for c in codes if c not in weights]
    if missing:
        problems.append(f"categories: no weight for {', '.join(missing)}")
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems)
                          + " — fix the file: use the taxonomy's codes, with a weight for each")


def _taxonomy_fields(raw: dict, source: str) -> dict:
    """The taxonomy's codes, names and groups a rules file is checked against and carries."""
    cats = load_taxonomy().categories  # a broken taxonomy raises its own ConfigError
    codes = tuple(cats["code"].to_list())
    _check_codes(raw, codes, source)
    return {"taxonomy_codes": codes, "taxonomy_names": dict(zip(cats["code"], cats["name_zh"])),
            "taxonomy_groups": dict(zip(cats["code"], cats["group"]))}


def load_rules(path: Path | None = None) -> Rules:
    """The validated rules (default `config/rules.yaml`), checked against the taxonomy; an
    unusable file raises `ConfigError` naming the key and the fix."""
    return load(path or "rules.yaml", Rules, _taxonomy_fields, depends=("taxonomy.yaml",))
