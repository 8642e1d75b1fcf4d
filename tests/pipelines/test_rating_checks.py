"""The checks on marts/ratings re-derive their facts from the warehouse and fail when the
engine's output is wrong (reproduced by corrupting the engine's result in a real run)."""
from __future__ import annotations

import dataclasses
import json
from datetime import date

import polars as pl
import pytest

import assets.ratings
from generator.city import generate_city
from assets.checks import star_disagreements
from pipelines.cli import UserError, run_rating
from scoring.rules import load_rules

RULES = load_rules()


def _rating(cid, index, stars, status="rated", rules=None):
    return {"compound_id": cid, "safety_index": index, "stars": stars, "status": status, "rules": rules}


def test_star_disagreements_follow_the_thresholds_not_the_engine():
    frame = pl.DataFrame([
        _rating("ok5", 95.0, 5), _rating("ok4", 85.0, 4), _rating("ok1", 10.0, 1),
        _rating("down", 95.0, 4, "downgraded", "downgrade:burglary"),
        _rating("den", 95.0, 3, "downgraded", "downgrade:fraud_den"),
        _rating("floor", 40.0, 1, "downgraded", "downgrade:drugs"),
        _rating("veto", 95.0, 0, "vetoed", "veto:homicide"),
        _rating("none", None, 0, "not_rated"),
        _rating("bad5", 85.0, 5), _rating("bad0", 60.0, 0), _rating("bad_veto", 60.0, 0, "vetoed"),
        _rating("bad_down", 95.0, 5, "downgraded", "downgrade:burglary"),
        _rating("bad_status", 95.0, 5, "rated", "downgrade:burglary"), _rating("bad_nr", 70.0, 0, "not_rated"),
    ])
    bad = star_disagreements(frame, RULES)
    assert sorted(bad["compound_id"]) == ["bad0", "bad5", "bad_down", "bad_nr", "bad_status", "bad_veto"]


def test_stable_stars_may_hold_a_level_within_the_margin():
    frame = pl.DataFrame([_rating("held", 89.8, 5), _rating("dropped", 88.0, 5)])
    assert star_disagreements(frame, RULES, margin=0.5)["compound_id"].to_list() == ["dropped"]


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    data = tmp_path_factory.mktemp("rating_checks") / "data"
    generate_city(data, seed=5, n_compounds=60, n_events=900)
    return data, date.fromisoformat(json.loads((data / "city.json").read_text(encoding="utf-8"))["first_as_of"])


@pytest.mark.parametrize("defect, says", [
    ("drop", "1 unrated"),
    ("star", "stars the index and rules do not explain"),
])
def test_a_defective_engine_result_stops_publication(city, tmp_path, monkeypatch, defect, says):
    data, as_of = city
    real_score = assets.ratings.score

    def broken_score(*args, **kwargs):
        result = real_score(*args, **kwargs)
        ratings = result.ratings.sort("compound_id")
        if defect == "drop":
            ratings = ratings.slice(1)
        else:  # a 4-star compound published with 5
            four = ratings.filter((pl.col("status") == "rated") & (pl.col("stars") == 4))["compound_id"][0]
            ratings = ratings.with_columns(pl.when(pl.col("compound_id") == four).then(pl.lit(5, dtype=ratings.schema["stars"]))
                                           .otherwise(pl.col("stars")).alias("stars"))
        return dataclasses.replace(result, ratings=ratings)

    monkeypatch.setattr(assets.ratings, "score", broken_score)
    with pytest.raises(UserError) as failure:
        run_rating(data, tmp_path / "out", as_of, demo=True, quiet=True)
    line = str(failure.value)
    assert says in line and "\n" not in line
    assert not (tmp_path / "out" / as_of.isoformat()).exists()
