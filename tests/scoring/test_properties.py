"""Fairness properties of the engine (issue #6), checked with hypothesis on random small cities."""
import os
from datetime import date, timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from scoring.engine import score
from scoring.rules import load_rules
from tests.scoring.factories import compounds, events

RULES = load_rules()
AS_OF = date(2026, 6, 30)
CODES = sorted(RULES.categories)
EPS = 1e-9
SETTINGS = settings(max_examples=int(os.environ.get("SCORING_HYPOTHESIS_EXAMPLES", "40")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

compound_st = st.fixed_dictionaries({
    "street": st.sampled_from(["s1", "s2"]),
    "district": st.sampled_from(["思明区", "湖里区"]),
    "households": st.one_of(st.none(), st.integers(0, 3000)),
    "population": st.one_of(st.none(), st.integers(0, 9000)),
})
event_st = st.fixed_dictionaries({
    "c": st.integers(0, 5),
    "category_code": st.sampled_from(CODES),
    "days_ago": st.integers(-10, 420),
    "source": st.sampled_from(["police", "procuratorate", "court", "justice", "petition"]),
    "method": st.sampled_from(["explicit", "polygon", "address", "nearest", "excluded"]),
})


@st.composite
def cities(draw, min_compounds=1):
    comps = draw(st.lists(compound_st, min_size=min_compounds, max_size=6))
    evs = draw(st.lists(event_st, max_size=25))
    return comps, evs


def build(comps, evs, extra=()):
    c = compounds([{"compound_id": f"C{i}", **d} for i, d in enumerate(comps)])
    rows = [{"event_id": f"{e['source']}:{j}", "compound_id": f"C{e['c'] % len(comps)}",
             "category_code": e["category_code"], "occurred_at": AS_OF - timedelta(days=e["days_ago"]),
             "source": e["source"], "method": e["method"]} for j, e in enumerate(list(evs) + list(extra))]
    return c, events(rows)


def run(comps, evs, extra=()):
    c, e = build(comps, evs, extra)
    return score(c, e, RULES, AS_OF).ratings


def assert_never_better(before: pl.DataFrame, after: pl.DataFrame):
    for b, a in zip(before.iter_rows(named=True), after.iter_rows(named=True), strict=True):
        assert a["stars"] <= b["stars"], (b, a)
        if b["safety_index"] is not None:
            assert a["safety_index"] <= b["safety_index"] + EPS, (b, a)


@SETTINGS
@given(cities(), event_st)
def test_adding_an_incident_never_raises_any_index_or_stars(city, new):
    comps, evs = city
    assert_never_better(run(comps, evs), run(comps, evs, [new]))


@SETTINGS
@given(cities(), st.sampled_from(CODES), st.sampled_from(CODES), st.integers(0, 5), st.integers(0, 360))
def test_heavier_category_lowers_the_index_at_least_as_much(city, a, b, c, days_ago):
    comps, evs = city
    heavy, light = (a, b) if RULES.categories[a] >= RULES.categories[b] else (b, a)
    ev = {"c": c, "days_ago": days_ago, "source": "police", "method": "explicit"}
    rh = run(comps, evs, [{**ev, "category_code": heavy}])
    rl = run(comps, evs, [{**ev, "category_code": light}])
    for h, lo in zip(rh.iter_rows(named=True), rl.iter_rows(named=True), strict=True):
        if lo["safety_index"] is not None:
            assert h["safety_index"] <= lo["safety_index"] + EPS


@SETTINGS
@given(cities(), st.integers(0, 5), st.integers(1, 50000))
def test_same_incidents_in_a_larger_population_never_lower_the_index(city, c, more):
    comps, evs = city
    i = c % len(comps)
    if not comps[i]["population"]:
        comps = [dict(d) for d in comps]
        comps[i]["population"] = 1 + (comps[i]["households"] or 0)
    bigger = [dict(d) for d in comps]
    bigger[i]["population"] = comps[i]["population"] + more
    before, after = run(comps, evs), run(bigger, evs)
    for b, a in zip(before.iter_rows(named=True), after.iter_rows(named=True), strict=True):
        assert a["stars"] >= b["stars"]
        if b["safety_index"] is not None:
            assert a["safety_index"] >= b["safety_index"] - EPS


@SETTINGS
@given(cities(), st.integers(1, 100000))
def test_no_counted_incident_and_known_population_means_five_stars(city, population):
    comps, evs = city
    comps = comps + [{"street": "s1", "district": "思明区", "households": None, "population": population}]
    clean = f"C{len(comps) - 1}"
    # Incidents elsewhere stay; the clean compound may only have uncounted ones.
    evs = [e for e in evs if e["c"] % len(comps) != len(comps) - 1]
    uncounted = [{"c": len(comps) - 1, "category_code": "homicide", "days_ago": 400, "source": "police", "method": "explicit"},
                 {"c": len(comps) - 1, "category_code": "theft", "days_ago": 3, "source": "police", "method": "excluded"}]
    r = run(comps, evs, uncounted).filter(pl.col("compound_id") == clean)
    assert r.select("stars", "status").row(0) == (5, "rated")


@SETTINGS
@given(cities(), st.sampled_from(RULES.stability.minor_categories), st.integers(0, 364))
def test_one_minor_theft_in_a_30_household_compound_costs_at_most_one_star(city, code, days_ago):
    comps, evs = city
    comps = comps + [{"street": "s1", "district": "思明区", "households": 30, "population": None}]
    k = len(comps) - 1
    evs = [e for e in evs if e["c"] % len(comps) != k]
    theft = {"c": k, "category_code": code, "days_ago": days_ago, "source": "police", "method": "explicit"}
    before = run(comps, evs).filter(pl.col("compound_id") == f"C{k}")["stars"][0]
    after = run(comps, evs, [theft]).filter(pl.col("compound_id") == f"C{k}")["stars"][0]
    assert before == 5 and after >= 4


@SETTINGS
@given(cities(), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_row_order(city, rnd):
    comps, evs = city
    c, e = build(comps, evs)
    a = score(c, e, RULES, AS_OF)
    ci, ei = list(range(c.height)), list(range(e.height))
    rnd.shuffle(ci)
    rnd.shuffle(ei)
    b = score(c[ci], e[ei], RULES, AS_OF)
    assert_frame_equal(a.ratings.sort("compound_id"), b.ratings.sort("compound_id"))
    keys = ["compound_id", "kind", "key", "detail"]
    assert_frame_equal(a.explanations.sort(keys), b.explanations.sort(keys))
