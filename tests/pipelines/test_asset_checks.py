"""Asset checks evaluated by dg.materialize on a temporary warehouse."""
from __future__ import annotations

import dagster as dg
import polars as pl
import pytest
import yaml

from assets import attribution, ingestion, registry
from generator.city import generate_city
from pipelines.resources import default_resources
from scoring.rules import DEFAULT_RULES

UPSTREAM = [registry.compounds, ingestion.case_records, ingestion.case_events, attribution.attributed_events]


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    data = tmp_path_factory.mktemp("checks") / "data"
    generate_city(data, seed=31, n_compounds=60, n_events=900)
    return data


@pytest.fixture(scope="module")
def unplaceable_city(tmp_path_factory):
    """Two petitions in five with no coordinates and an address no compound has."""
    data = tmp_path_factory.mktemp("checks_bad") / "data"
    generate_city(data, seed=31, n_compounds=60, n_events=900)
    path = sorted((data / "sources" / "petition").glob("*.csv"))[0]
    frame = pl.read_csv(path, infer_schema_length=0)
    address, lon, lat = frame.columns[3], frame.columns[4], frame.columns[5]
    bad = pl.int_range(pl.len()) % 5 < 2
    frame.with_columns(
        pl.when(bad).then(pl.lit("外省某市某区某路1号")).otherwise(pl.col(address)).alias(address),
        pl.when(bad).then(None).otherwise(pl.col(lon)).alias(lon),
        pl.when(bad).then(None).otherwise(pl.col(lat)).alias(lat),
    ).write_csv(path)
    return data


def rules_with(tmp_path, section: str, **values):
    """A copy of the shipped rules file with some values of one section changed."""
    raw = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    raw[section] = {**raw.get(section, {}), **values}
    path = tmp_path / "rules.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _evaluations(city, tmp_path, **folders) -> dict:
    result = dg.materialize(UPSTREAM, resources=default_resources(city, tmp_path / "out", **folders))
    assert result.success
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_checks_pass_on_a_clean_city(city, tmp_path):
    evaluations = _evaluations(city, tmp_path)
    assert evaluations["rows_add_up"].passed
    assert evaluations["matches_contract"].passed
    assert evaluations["match_rate"].metadata["lowest"].value > 0.5


def test_match_rate_below_the_floor_is_an_error_and_above_it_a_warning(unplaceable_city, tmp_path):
    below = _evaluations(unplaceable_city, tmp_path / "a")["match_rate"]
    assert below.metadata["lowest"].value < 0.8
    assert not below.passed and below.severity == dg.AssetCheckSeverity.ERROR
    lenient_rules = rules_with(tmp_path / "b", "attribution", match_rate_floor=0.3)
    lenient = _evaluations(unplaceable_city, tmp_path / "b", rules_path=lenient_rules)["match_rate"]
    assert not lenient.passed and lenient.severity == dg.AssetCheckSeverity.WARN
