"""Stable stars: a level changes only when the index passes a threshold by the margin, or
stays across it for the configured nights; vetoes and downgrades act at once."""
from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.loader import ConfigError
from scoring.engine import score
from scoring.history import rating_changes
from scoring.index import index_stars
from scoring.rules import load_rules
from scoring.verdict import held_levels, stable_rows
from tests.scoring.factories import compounds, events

RULES = load_rules()
T = RULES.stars.thresholds
M = RULES.stable_stars.margin
DAYS = RULES.stable_stars.days
START = date(2026, 3, 1)


def _indexed(values: dict[str, float | None]) -> pl.DataFrame:
    """What index_frame gives for these indexes (rate back from the index)."""
    scale = RULES.index.scale_per_1000
    df = pl.DataFrame({"compound_id": list(values),
                       "safety_index": [v for v in values.values()]}, schema={"compound_id": pl.String,
                                                                                "safety_index": pl.Float64})
    df = df.with_columns((-scale * (pl.col("safety_index") / 100).log()).alias("rate"))
    return df.with_columns(index_stars(pl.col("rate"), RULES).alias("index_stars"))


def _nightly(series: dict[str, list[float]], rules=RULES) -> dict[str, list[int]]:
    """Rate every night in turn, each against the nights before: the stars per night."""
    history: list[pl.DataFrame] = []
    n = len(next(iter(series.values())))
    for night in range(n):
        as_of = START + timedelta(days=night)
        held = held_levels(_indexed({c: v[night] for c, v in series.items()}),
                           pl.concat(history) if history else None, rules, as_of)
        history.append(held.select("compound_id", pl.lit(as_of).alias("as_of"), pl.col("index_stars").alias("stars"),
                                   pl.lit("rated").alias("status"), pl.lit(None, pl.String).alias("rules"),
                                   "safety_index"))
    out = pl.concat(history).sort("as_of")
    return {c: out.filter(pl.col("compound_id") == c)["stars"].to_list() for c in series}


def _break_runs(offsets: list[float], run: int) -> list[float]:
    """Flip the side of the threshold at least every `run` nights (a wobble, not a move)."""
    out, side, length = [], 0, 0
    for x in offsets:
        s = 1 if x >= 0 else -1
        length = length + 1 if s == side else 1
        if length > run:
            x, s, length = -x if x else -M / 2, -s, 1
        side = s
        out.append(x)
    return out


@settings(max_examples=60, deadline=None)
@given(k=st.sampled_from([2, 3, 4, 5]),
       offsets=st.lists(st.floats(-0.999, 0.999), min_size=2, max_size=3 * DAYS))
def test_an_index_wobbling_within_the_margin_never_changes_the_stars(k, offsets):
    wobble = _break_runs([o * M for o in offsets], max(DAYS - 1, 1))
    stars = _nightly({"C": [T[k] + o for o in wobble]})["C"]
    assert len(set(stars)) == 1, (k, wobble, stars)
    assert stars[0] in (k - 1 if k > 2 else 1, k)


def test_passing_the_threshold_by_the_margin_changes_at_once():
    up = _nightly({"C": [T[5] - 0.1, T[5] + 0.2, T[5] + M, T[5] + M - 0.1]})["C"]
    assert up == [4, 4, 5, 5]
    down = _nightly({"C": [T[4] + 0.1, T[4] - 0.3, T[4] - M - 0.01, T[4] - 0.1]})["C"]
    assert down == [4, 4, 3, 3]
    # a big move skips levels at once
    assert _nightly({"C": [T[2] + 1, T[5] + 5]})["C"] == [2, 5]


def test_staying_across_for_the_configured_nights_changes_the_level():
    assert DAYS >= 2
    series = [T[5] - 0.2] + [T[5] + 0.1] * DAYS
    stars = _nightly({"C": series})["C"]
    # held at 4 until the index has been above the line at every night of DAYS days
    assert stars[:DAYS] == [4] * DAYS and stars[DAYS] == 5


def test_without_a_previous_rating_the_thresholds_apply_as_they_are():
    held = held_levels(_indexed({"A": T[5] + 0.01, "B": T[5] - 0.01}), None, RULES, START)
    assert held["index_stars"].to_list() == [5, 4]


def _city():
    comp = compounds([{"compound_id": "C1", "population": 3000}, {"compound_id": "C2", "population": 3000}])
    return comp


def _event(cid, code, day, k):
    return {"event_id": f"police:{k}", "compound_id": cid, "category_code": code,
            "occurred_at": day, "source": "police", "method": "polygon"}


def test_vetoes_and_downgrades_act_at_once_whatever_is_held():
    as_of = date(2026, 6, 30)
    comp = _city()
    before = score(comp, events([]), RULES, as_of - timedelta(days=1)).ratings
    assert before["stars"].to_list() == [5, 5]
    ev = events([_event("C1", "burglary", as_of, 1), _event("C2", "homicide", as_of, 2)])
    now = score(comp, ev, RULES, as_of, previous=before).ratings
    assert now.select("compound_id", "status", "stars").rows() == [("C1", "downgraded", 4), ("C2", "vetoed", 0)]


def test_a_held_level_is_explained():
    prev = pl.DataFrame({"compound_id": ["A", "B"], "as_of": [START, START], "stars": [4, 5],
                         "status": ["rated", "rated"], "rules": [None, None], "safety_index": [T[5] - 1, T[5] + 1]},
                        schema_overrides={"stars": pl.Int8, "rules": pl.String})
    held = held_levels(_indexed({"A": T[5] + M / 2, "B": T[5] - M / 2}), prev, RULES, START + timedelta(days=1))
    assert held["index_stars"].to_list() == [4, 5] and held["plain_stars"].to_list() == [5, 4]
    rows = {r["compound_id"]: r for r in stable_rows(held, RULES).iter_rows(named=True)}
    assert set(rows) == {"A", "B"} and rows["A"]["kind"] == "rule" and rows["A"]["value"] == 5
    assert "缓冲" in rows["A"]["detail"] and f"需达到 {T[5] + M:g}" in rows["A"]["detail"] and "保持 4 星" in rows["A"]["detail"]
    assert f"低于 {T[5] - M:g}" in rows["B"]["detail"] and "保持 5 星" in rows["B"]["detail"]


def test_an_upgrade_never_reads_the_same_index():
    rows = lambda idx, stars, d: pl.DataFrame({  # noqa: E731
        "compound_id": ["XM002043"], "name": ["小区"], "district": ["思明区"], "street": ["中华街道"],
        "safety_index": [idx], "stars": [stars], "status": ["rated"], "rules": [None],
        "ruleset_version": ["v"], "as_of": [d]}, schema_overrides={"stars": pl.Int8, "rules": pl.String})
    chg = rating_changes(rows(89.9986, 4, START), rows(90.0046, 5, START + timedelta(days=1)))
    assert chg["change"].item() == "up"
    assert "index 89.999 → 90.005" in chg["reason"].item()
    chg = rating_changes(rows(71.04, 3, START), rows(72.5, 3, START + timedelta(days=1)))
    assert chg["reason"].item() == "index 71.0 → 72.5"


def test_a_margin_wider_than_the_gaps_is_refused(tmp_path):
    text = (RULES_PATH := load_rules.__globals__["DEFAULT_RULES"]).read_text(encoding="utf-8")
    bad = tmp_path / "rules.yaml"
    bad.write_text(text.replace("  margin: 0.5", "  margin: 8"), encoding="utf-8")
    with pytest.raises(ConfigError, match="stable_stars.margin"):
        load_rules(bad)
    assert RULES_PATH.exists()


def test_a_downgraded_previous_rating_holds_its_index_level():
    """A downgraded previous rating held its stars plus the steps (capped at 5); at the floor,
    where the steps may have been absorbed, at most floor + steps."""
    prev = pl.DataFrame({
        "compound_id": ["A", "B", "C"], "as_of": [START] * 3, "stars": [4, 2, 1],
        "status": ["downgraded", "downgraded", "downgraded"],
        "rules": ["downgrade:burglary", "downgrade:burglary|downgrade:fraud_den", "downgrade:burglary"],
        "safety_index": [T[5] + 1, T[5] + 1, T[4] + 1]}, schema_overrides={"stars": pl.Int8})
    # today: every index sits just under the 5-star line, within the margin
    held = held_levels(_indexed({"A": T[5] - M / 2, "B": T[5] - M / 2, "C": T[5] - M / 2}), prev, RULES,
                       START + timedelta(days=1))
    # A: 4 + 1 = 5 held; B: 2 + 3 = 5 held; C held at most 1 + 1 = 2, and today's index is
    # past the 4-star line by more than the margin: 4 (not 5)
    assert held["index_stars"].to_list() == [5, 5, 4]
