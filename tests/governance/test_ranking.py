"""The governance score, ranks, the change since last month, and the policy file."""
from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.loader import ConfigError
from governance.config import DEFAULT_GOVERNANCE, load_governance_config, parse_governance_config
from governance.month import monthly_ranking
from tests.governance.factories import COMPOUNDS, Loop, checkins, ratings

CFG = load_governance_config()
NOV = date(2026, 11, 1)


def _closed(loop: Loop, compound: str, day: int, late: bool = False, rating: str | None = None) -> None:
    """A need handled within its 24 hours, or (late) escalated by its missed deadline first."""
    n = loop.need(compound, datetime(2026, 11, day, 9))
    handled = day + 1 if late else day
    if late:
        loop.step(n, "overdue", datetime(2026, 11, day + 1, 10), deadline=datetime(2026, 11, day + 2, 10))
    loop.step(n, "accept", datetime(2026, 11, handled, 11))
    loop.step(n, "resolve", datetime(2026, 11, handled, 12))
    loop.step(n, "close", datetime(2026, 11, handled, 13))
    if rating:
        loop.step(n, "rate", datetime(2026, 11, handled, 14), rating=rating)


def _rank(loop: Loop, stars: dict, chk: pl.DataFrame | None = None, prev_stars: dict | None = None,
          cfg=CFG) -> pl.DataFrame:
    needs, events = loop.frames()
    ranked, _ = monthly_ranking(NOV, needs, events, chk if chk is not None else checkins(), COMPOUNDS,
                                ratings(stars), ratings(prev_stars) if prev_stars else None, cfg)
    return ranked


def test_score_is_the_documented_weighted_sum():
    loop = Loop()
    _closed(loop, "a", 2, rating="满意")
    _closed(loop, "a", 4, late=True, rating="不满意")
    _closed(loop, "d", 3, rating="基本满意")
    stars = {"a": (5, "rated"), "b": (4, "rated"), "c": (0, "vetoed"), "d": (3, "downgraded")}
    chk = checkins(("a", datetime(2026, 11, 5, 9)), ("b", datetime(2026, 11, 5, 9)), ("b", datetime(2026, 11, 6, 9)))
    ranked = _rank(loop, stars, chk)
    w, k = CFG.score.weights, CFG.score.prior_cases

    def share(n, base, city):  # drawn toward the city's share as config/governance.yaml says
        return (n + k * city) / (base + k)

    # the city: 4 rated compounds, 1 five-star, 1 vetoed, 1 downgraded; 3 closed, 2 on time; 3 ratings, 2 satisfied
    xiagang = ranked.filter((pl.col("level") == "street") & (pl.col("street") == "厦港街道")).row(0, named=True)
    # 厦港: compounds a, b, c; 1 of 3 five-star, 1 vetoed, 0 downgraded; 2 closed, 1 on time;
    # 2 ratings, 1 satisfied; 3 check-ins over 3 compounds (target 1 each)
    expected = 100 * (w["five_star_share"] * share(1, 3, 1 / 4) + w["no_veto_share"] * (1 - share(1, 3, 1 / 4))
                      + w["no_downgrade_share"] * (1 - share(0, 3, 1 / 4)) + w["on_time_share"] * share(1, 2, 2 / 3)
                      + w["satisfaction"] * share(1, 2, 2 / 3) + w["checkins"] * 1.0)
    assert xiagang["score"] == round(expected, CFG.score.decimals)
    zhonghua = ranked.filter((pl.col("level") == "street") & (pl.col("street") == "中华街道")).row(0, named=True)
    expected = 100 * (w["five_star_share"] * share(0, 1, 1 / 4) + w["no_veto_share"] * (1 - share(0, 1, 1 / 4))
                      + w["no_downgrade_share"] * (1 - share(1, 1, 1 / 4)) + w["on_time_share"] * share(1, 1, 2 / 3)
                      + w["satisfaction"] * share(1, 1, 2 / 3) + 0)
    assert zhonghua["score"] == round(expected, CFG.score.decimals)
    assert {xiagang["rank"], zhonghua["rank"]} == {1, 2}
    assert xiagang["of"] == zhonghua["of"] == 2


def test_a_unit_without_needs_takes_the_city_share():
    loop = Loop()
    _closed(loop, "a", 2, rating="满意")
    _closed(loop, "a", 4, late=True, rating="不满意")
    stars = {c: (5, "rated") for c in "abcd"}
    ranked = _rank(loop, stars)
    grids = ranked.filter(pl.col("level") == "grid").rows_by_key("unit_id", named=True, unique=True)
    # grid Sa002 has no need: its on-time and satisfaction parts are the city's (1/2), not 0 or 1
    assert grids["Sa002"]["on_time_share"] == 0.5 and grids["Sa002"]["satisfaction"] == 0.5
    assert grids["Sa002"]["score"] == grids["Sa001"]["score"]  # same as the grid whose needs make the city share


def test_grids_are_ranked_inside_their_street_and_ties_share_a_rank():
    loop = Loop()
    _closed(loop, "b", 2, late=True)
    _closed(loop, "d", 2)  # the city's on-time share is 1/2: Sa001 and Sa003, without needs, take it
    stars = {c: (5, "rated") for c in "abcd"}
    ranked = _rank(loop, stars).filter(pl.col("level") == "grid")
    by = ranked.rows_by_key("unit_id", named=True, unique=True)
    assert by["Sb001"]["rank"] == 1 and by["Sb001"]["of"] == 1  # alone in 中华街道
    assert by["Sa002"]["rank"] == 3 and by["Sa002"]["of"] == 3  # its late need puts it last of 厦港
    assert by["Sa001"]["rank"] == by["Sa003"]["rank"] == 1  # equal scores share the better rank


def test_change_since_last_month():
    loop = Loop()
    stars_now = {"a": (3, "rated"), "b": (3, "rated"), "c": (3, "rated"), "d": (5, "rated")}
    stars_before = {"a": (5, "rated"), "b": (5, "rated"), "c": (5, "rated"), "d": (3, "rated")}
    ranked = _rank(loop, stars_now, prev_stars=stars_before)
    streets = ranked.filter(pl.col("level") == "street").rows_by_key("street", named=True, unique=True)
    assert (streets["中华街道"]["prev_rank"], streets["中华街道"]["rank"], streets["中华街道"]["rank_change"]) == (2, 1, 1)
    assert (streets["厦港街道"]["prev_rank"], streets["厦港街道"]["rank"], streets["厦港街道"]["rank_change"]) == (1, 2, -1)
    assert streets["厦港街道"]["score_change"] < 0
    # without a rating last month there is nothing to compare with, needs or not
    loop = Loop()
    n = loop.need("a", datetime(2026, 10, 20, 9))
    loop.step(n, "accept", datetime(2026, 10, 20, 10))
    fresh = _rank(loop, stars_now)
    assert fresh["prev_rank"].null_count() == fresh.height and fresh["rank_change"].null_count() == fresh.height


def test_weights_come_from_the_config():
    raw = yaml.safe_load(DEFAULT_GOVERNANCE.read_text(encoding="utf-8"))
    raw["score"]["weights"] = {**{k: 0.0 for k in raw["score"]["weights"]}, "checkins": 1.0}
    only_checkins = parse_governance_config(raw)
    chk = checkins(("b", datetime(2026, 11, 5, 9)))
    ranked = _rank(Loop(), {c: (5, "rated") for c in "abcd"}, chk, cfg=only_checkins)
    grids = ranked.filter(pl.col("level") == "grid").rows_by_key("unit_id", named=True, unique=True)
    assert grids["Sa002"]["score"] == 100.0 and grids["Sa001"]["score"] == 0.0


@pytest.mark.parametrize("change, where", [
    (lambda r: r["score"]["weights"].update(checkins=0.5), "score"),
    (lambda r: r["score"]["weights"].pop("checkins"), "score"),
    (lambda r: r["ranking"].update(levels=["street", "county"]), "ranking"),
    (lambda r: r.update(satisfied=[]), "satisfied"),
])
def test_a_bad_policy_file_is_refused_naming_the_key(change, where):
    raw = yaml.safe_load(DEFAULT_GOVERNANCE.read_text(encoding="utf-8"))
    change(raw)
    with pytest.raises(ConfigError, match=rf"^governance config: {where}"):
        parse_governance_config(raw)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from("abcd"), st.integers(1, 25), st.booleans(),
                          st.sampled_from([None, "满意", "基本满意", "不满意"])), max_size=12),
       st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["rated", "vetoed", "downgraded", "not_rated"])),
                min_size=4, max_size=4))
def test_scores_stay_within_0_and_100_and_ranks_are_consistent(needs, stars):
    loop = Loop()
    for compound, day, late, rating in needs:
        _closed(loop, compound, day, late=late, rating=rating)
    ranked = _rank(loop, dict(zip("abcd", stars)))
    assert ranked["score"].is_between(0, 100).all()
    for (level, scope), group in ranked.group_by("level", "scope"):
        # a higher score never has a worse rank
        ordered = group.sort("score", descending=True)
        assert ordered["rank"].is_sorted()
        assert ordered["rank"][0] == 1 and (group["of"] == group.height).all()
