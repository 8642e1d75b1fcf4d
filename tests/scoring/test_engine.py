import math
from datetime import date, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from schemas.ratings import ExplanationRow, Rating
from scoring.engine import score
from scoring.rules import load_rules
from tests.scoring.factories import compounds, events

AS_OF = date(2026, 6, 30)
RULES = load_rules()
# The hand-computed examples below were worked with the street prior.
STREET_RULES = RULES.model_copy(update={"shrinkage": RULES.shrinkage.model_copy(update={"prior": "street"})})


def ref_index(harm: float, n: float, prior: float, rules=RULES) -> float:
    """Oracle: 100 exp(-R/s), R = 1000 (H + m min(prior, r5)) / (N + m)."""
    m = rules.shrinkage.strength_residents
    r5 = -rules.index.scale_per_1000 * math.log(rules.stars.thresholds[5] / 100) / 1000
    r = 1000 * (harm + m * min(prior, r5)) / (n + m)
    return 100 * math.exp(-r / rules.index.scale_per_1000)


def w(code: str, day: date, rules=RULES) -> float:
    return rules.categories[code] * 0.5 ** ((AS_OF - day).days / rules.window.half_life_days)


def test_worked_example_two_compounds_one_street():
    comp = compounds([
        {"compound_id": "A", "population": 2000},
        {"compound_id": "B", "households": 100},  # exposure 100 x 2.8 = 280
    ])
    d1, d2 = date(2026, 5, 1), date(2026, 1, 15)
    ev = events([
        {"event_id": "police:1", "compound_id": "A", "category_code": "theft", "occurred_at": d1},
        {"event_id": "police:2", "compound_id": "A", "category_code": "assault", "occurred_at": d2},
        {"event_id": "court:3", "compound_id": "B", "category_code": "noise", "occurred_at": d1, "source": "court"},
    ])
    res = score(comp, ev, STREET_RULES, AS_OF)
    ha, hb = w("theft", d1) + w("assault", d2), w("noise", d1)
    street = (ha + hb) / (2000 + 280)
    idx = [ref_index(ha, 2000, street), ref_index(hb, 280, street)]
    stars = [1 + sum(i >= t for t in STREET_RULES.stars.thresholds.values()) for i in idx]
    expected = pl.DataFrame({
        "compound_id": ["A", "B"], "name": ["小区A", "小区B"], "district": ["思明区"] * 2,
        "street": ["中华街道"] * 2, "safety_index": idx, "stars": stars, "status": ["rated"] * 2,
        "rules": [None, None], "ruleset_version": [STREET_RULES.version] * 2, "as_of": [AS_OF] * 2,
    }, schema_overrides={"stars": pl.Int8, "rules": pl.String})
    assert_frame_equal(res.ratings, expected)
    assert list(res.ratings.columns) == list(Rating.to_schema().columns)
    assert list(res.explanations.columns) == list(ExplanationRow.to_schema().columns)
    assert_frame_equal(ExplanationRow.validate(res.explanations), res.explanations)


def test_window_counts_only_placed_unexcluded_events_in_the_window():
    comp = compounds([{"compound_id": "A", "population": 1000}])
    start = date(2025, 6, 30)  # as_of - 12 months: excluded, the window is (start, as_of]
    ev = events([
        {"event_id": "p:1", "compound_id": "A", "category_code": "theft", "occurred_at": start},
        {"event_id": "p:2", "compound_id": "A", "category_code": "theft", "occurred_at": start + timedelta(days=1)},
        {"event_id": "p:3", "compound_id": "A", "category_code": "theft", "occurred_at": datetime(2026, 6, 30, 23, 59)},
        {"event_id": "p:4", "compound_id": "A", "category_code": "theft", "occurred_at": date(2026, 7, 1)},
        {"event_id": "p:5", "compound_id": None, "category_code": "theft", "occurred_at": date(2026, 6, 1)},
        {"event_id": "p:6", "compound_id": "A", "category_code": "theft", "occurred_at": date(2026, 6, 1), "method": "excluded"},
        {"event_id": "p:7", "compound_id": "ZZ", "category_code": "theft", "occurred_at": date(2026, 6, 1)},
    ])
    res = score(comp, ev, STREET_RULES, AS_OF)
    h = w("theft", start + timedelta(days=1)) + w("theft", AS_OF)
    assert res.ratings["safety_index"][0] == pytest.approx(ref_index(h, 1000, h / 1000))
    assert res.summary == {"total": 7, "unplaced": 1, "excluded": 1, "out_of_window": 2,
                           "unknown_compound": 1, "counted": 2}


def test_veto_only_in_the_rating_year():
    comp = compounds([{"compound_id": "A", "population": 5000}, {"compound_id": "B", "population": 5000}])
    ev = events([
        {"event_id": "p:1", "compound_id": "A", "category_code": "homicide", "occurred_at": date(2025, 12, 31)},
        {"event_id": "p:2", "compound_id": "B", "category_code": "robbery", "occurred_at": date(2026, 1, 1)},
        {"event_id": "p:3", "compound_id": "B", "category_code": "homicide", "occurred_at": date(2026, 3, 1)},
    ])
    r = score(comp, ev, RULES, AS_OF)
    got = r.ratings.select("compound_id", "stars", "status", "rules")
    assert got.row(0)[2] == "rated" and got.row(0)[1] >= 1 and got.row(0)[3] is None
    assert got.row(1) == ("B", 0, "vetoed", "veto:homicide|veto:robbery")
    rule = r.explanations.filter((pl.col("compound_id") == "B") & (pl.col("kind") == "rule"))
    assert rule["key"].to_list() == ["veto:homicide", "veto:robbery"]
    assert "p:3" in rule["detail"][0] and "p:2" in rule["detail"][1]
    lift = r.explanations.filter((pl.col("compound_id") == "B") & (pl.col("kind") == "lift"))
    assert "2027-01-01" in lift["detail"][0]


def test_downgrade_steps_by_kind_and_floor():
    comp = compounds([{"compound_id": c, "population": 20000} for c in "ABCD"])
    d = date(2026, 6, 1)
    ev = events([
        {"event_id": "p:1", "compound_id": "A", "category_code": "burglary", "occurred_at": d},
        {"event_id": "p:2", "compound_id": "A", "category_code": "burglary", "occurred_at": d},
        {"event_id": "p:3", "compound_id": "B", "category_code": "burglary", "occurred_at": d},
        {"event_id": "p:4", "compound_id": "B", "category_code": "gambling", "occurred_at": d},
        {"event_id": "p:5", "compound_id": "C", "category_code": "fraud_den", "occurred_at": d},
    ])
    r = score(comp, ev, RULES, AS_OF).ratings
    base = score(comp, ev.filter(pl.lit(False)), RULES, AS_OF).ratings
    assert base["stars"].to_list() == [5, 5, 5, 5]
    assert r["status"].to_list() == ["downgraded", "downgraded", "downgraded", "rated"]
    assert r["rules"].to_list() == ["downgrade:burglary", "downgrade:burglary|downgrade:gambling",
                                    "downgrade:fraud_den", None]
    # 20000 residents: these few incidents leave the index at five stars, so the stars are 5 - steps
    assert r["stars"].to_list() == [4, 3, 3, 5]


def test_floor_keeps_one_star_and_status_says_downgraded():
    comp = compounds([{"compound_id": "A", "population": 200}])
    ev = events([{"event_id": f"p:{i}", "compound_id": "A", "category_code": "drugs",
                  "occurred_at": date(2026, 6, 1)} for i in range(40)])
    r = score(comp, ev, RULES, AS_OF).ratings
    assert r.select("stars", "status", "rules").row(0) == (1, "downgraded", "downgrade:drugs")


def test_not_rated_without_population_or_households_and_household_basis():
    comp = compounds([
        {"compound_id": "A"},
        {"compound_id": "B", "households": 0, "population": 0},
        {"compound_id": "C", "households": 100},
        {"compound_id": "D", "population": 280},
    ])
    ev = events([{"event_id": f"p:{c}", "compound_id": c, "category_code": "theft",
                  "occurred_at": date(2026, 6, 1)} for c in "ABCD"])
    r = score(comp, ev, RULES, AS_OF).ratings
    assert r["status"].to_list()[:2] == ["not_rated", "not_rated"]
    assert r["safety_index"].to_list()[:2] == [None, None]
    assert r["stars"].to_list()[:2] == [0, 0]
    # 100 households x 2.8 persons = 280 residents: same exposure, same index
    assert r["safety_index"][2] == pytest.approx(r["safety_index"][3])


def test_one_row_per_registry_compound_in_registry_order():
    comp = compounds([{"compound_id": c, "population": 100} for c in ["Z", "A", "M"]])
    r = score(comp, events([]), RULES, AS_OF).ratings
    assert r["compound_id"].to_list() == ["Z", "A", "M"]
    assert r["stars"].to_list() == [5, 5, 5] and r["status"].to_list() == ["rated"] * 3


def test_explanation_points_add_up_to_the_index_loss():
    comp = compounds([{"compound_id": "A", "population": 800}, {"compound_id": "B", "population": 3000}])
    ev = events([
        {"event_id": "p:1", "compound_id": "A", "category_code": "theft", "occurred_at": date(2026, 5, 1)},
        {"event_id": "c:2", "compound_id": "A", "category_code": "assault", "occurred_at": date(2026, 2, 1), "source": "court"},
        {"event_id": "p:3", "compound_id": "A", "category_code": "theft", "occurred_at": date(2025, 9, 1)},
        {"event_id": "p:4", "compound_id": "B", "category_code": "noise", "occurred_at": date(2026, 6, 1)},
    ])
    r = score(comp, ev, RULES, AS_OF)
    x = r.explanations.filter(pl.col("compound_id") == "A")
    loss = 100 - r.ratings["safety_index"][0]
    prior = x.filter(pl.col("key") == "prior")["value"][0]
    cat = x.filter(pl.col("kind") == "category")
    src = x.filter(pl.col("kind") == "source")
    assert cat["value"].sum() + prior == pytest.approx(loss)
    assert src["value"].sum() + prior == pytest.approx(loss)
    assert sorted(cat["key"].to_list()) == ["assault", "theft"]
    assert sorted(src["key"].to_list()) == ["court", "police"]
    assert set(x.filter(pl.col("kind") == "compare")["key"]) == {"street", "district", "city", "prior"}


def test_lift_forecast_matches_a_later_rating():
    # A bad neighbour keeps the street's prior at its cap, so the forecast's assumption
    # (prior held) is exact and a later re-score must show what the lift row promised.
    comp = compounds([{"compound_id": "A", "population": 300}, {"compound_id": "N", "population": 1000}])
    rows = [{"event_id": f"n:{i}", "compound_id": "N", "category_code": "homicide", "occurred_at": AS_OF}
            for i in range(50)]
    rows += [{"event_id": f"a:{i}", "compound_id": "A", "category_code": "theft",
              "occurred_at": date(2026, 1 + i % 6, 10)} for i in range(8)]
    rows += [{"event_id": "a:b", "compound_id": "A", "category_code": "burglary", "occurred_at": date(2025, 10, 3)}]
    ev = events(rows)
    now = score(comp, ev, RULES, AS_OF)
    a = now.ratings.row(0, named=True)
    assert a["status"] == "downgraded" and a["stars"] < 5
    lift = now.explanations.filter((pl.col("compound_id") == "A") & (pl.col("kind") == "lift"))
    nxt = lift.filter(pl.col("key") == "next_star").row(0, named=True)
    when = AS_OF + timedelta(days=int(nxt["value"]))
    later = score(comp, ev, RULES, when).ratings.row(0, named=True)
    assert later["stars"] > a["stars"]
    assert f"将为 {later['stars']} 星" in nxt["detail"]
    before = score(comp, ev, RULES, when - timedelta(days=31)).ratings.row(0, named=True)
    assert before["stars"] <= a["stars"]
    lapse = lift.filter(pl.col("key") == "downgrade:burglary")
    assert lapse["detail"][0].startswith("入室盗窃降星") and "2026-10-03" in lapse["detail"][0]


def test_five_star_compounds_have_no_lift_row():
    comp = compounds([{"compound_id": "A", "population": 100}])
    r = score(comp, events([]), RULES, AS_OF)
    assert r.explanations.filter(pl.col("kind") == "lift").height == 0


def test_city_prior_differs_from_street_prior_only_through_the_prior():
    rules = STREET_RULES.model_copy(update={"shrinkage": STREET_RULES.shrinkage.model_copy(update={"prior": "city"})})
    comp = compounds([{"compound_id": "A", "population": 1000, "street": "s1"},
                      {"compound_id": "B", "population": 1000, "street": "s2"}])
    ev = events([{"event_id": "p:1", "compound_id": "A", "category_code": "theft", "occurred_at": date(2026, 6, 1)}])
    h = w("theft", date(2026, 6, 1))
    r_city = score(comp, ev, rules, AS_OF).ratings["safety_index"].to_list()
    r_street = score(comp, ev, STREET_RULES, AS_OF).ratings["safety_index"].to_list()
    assert r_city == pytest.approx([ref_index(h, 1000, h / 2000), ref_index(0, 1000, h / 2000)])
    assert r_street == pytest.approx([ref_index(h, 1000, h / 1000), 100.0])


def test_unknown_category_and_source_weigh_like_a_theft_and_stay_visible():
    comp = compounds([{"compound_id": "A", "population": 1000}, {"compound_id": "B", "population": 1000,
                                                                  "street": "s2"}])
    d = date(2026, 6, 1)
    ev = events([
        {"event_id": "p:1", "compound_id": "A", "category_code": "mystery", "occurred_at": d, "source": "police"},
        {"event_id": "p:2", "compound_id": "B", "category_code": "theft", "occurred_at": d, "source": "police"},
    ]).with_columns(pl.when(pl.col("event_id") == "p:1").then(pl.lit("hotline")).otherwise(pl.col("source")).alias("source"))
    r = score(comp, ev, RULES, AS_OF)
    a, b = r.ratings["safety_index"].to_list()
    assert a == pytest.approx(b)
    x = r.explanations.filter((pl.col("compound_id") == "A") & pl.col("kind").is_in(["category", "source"]))
    assert sorted(x["key"].to_list()) == ["(unknown)", "(unknown)"]


def test_rate_gives_the_ratings_of_score():
    from scoring.engine import rate
    comp = compounds([{"compound_id": c, "population": 300 + 100 * i} for i, c in enumerate("ABC")])
    ev = events([{"event_id": f"p:{i}", "compound_id": "ABC"[i % 3], "category_code": ["theft", "burglary", "robbery"][i % 3],
                  "occurred_at": date(2026, 1 + i % 6, 3)} for i in range(9)])
    assert_frame_equal(rate(comp, ev, RULES, AS_OF), score(comp, ev, RULES, AS_OF).ratings)


def test_default_prior_makes_each_rating_depend_on_its_own_incidents_only():
    comp = compounds([{"compound_id": "A", "population": 1000}, {"compound_id": "B", "population": 1000}])
    quiet = score(comp, events([]), RULES, AS_OF).ratings
    noisy = score(comp, events([{"event_id": f"p:{i}", "compound_id": "B", "category_code": "robbery",
                                 "occurred_at": date(2026, 6, 1)} for i in range(5)]), RULES, AS_OF).ratings
    assert_frame_equal(quiet.filter(pl.col("compound_id") == "A"), noisy.filter(pl.col("compound_id") == "A"))
    assert noisy.filter(pl.col("compound_id") == "B")["safety_index"][0] < quiet["safety_index"][1]
