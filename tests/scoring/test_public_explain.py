from datetime import date

import polars as pl
from polars.testing import assert_frame_equal

from scoring.engine import score
from scoring.explain import format_explanation
from scoring.public import public_aggregates
from scoring.rules import load_rules
from tests.scoring.factories import compounds, events

RULES = load_rules()
AS_OF = date(2026, 6, 30)


def city():
    comp = compounds([{"compound_id": "A", "population": 400}, {"compound_id": "B", "population": 900}])
    ev = events([
        {"event_id": "p:1", "compound_id": "A", "category_code": "theft", "occurred_at": date(2026, 6, 3)},
        {"event_id": "p:2", "compound_id": "A", "category_code": "burglary", "occurred_at": date(2026, 6, 20)},
        {"event_id": "p:3", "compound_id": "A", "category_code": "homicide", "occurred_at": date(2025, 7, 1)},
        {"event_id": "p:4", "compound_id": "A", "category_code": "noise", "occurred_at": date(2025, 6, 30)},
        {"event_id": "p:5", "compound_id": "A", "category_code": "noise", "occurred_at": date(2026, 1, 5), "method": "excluded"},
        {"event_id": "p:6", "compound_id": None, "category_code": "noise", "occurred_at": date(2026, 1, 5)},
    ])
    return comp, ev


def test_public_aggregates_count_groups_and_months():
    comp, ev = city()
    res = score(comp, ev, RULES, AS_OF)
    stats, monthly = public_aggregates(ev, res.ratings, AS_OF, group_of={"暴力": "暴力类"})
    assert_frame_equal(stats, pl.DataFrame({
        "compound_id": ["A", "A"], "as_of": [AS_OF] * 2, "category_group": ["暴力类", "盗窃"], "n": [1, 2]},
        schema_overrides={"n": pl.Int32}))
    assert monthly.height == 24
    a = monthly.filter(pl.col("compound_id") == "A")
    assert a["month"].to_list()[0] == date(2025, 7, 1) and a["month"].to_list()[-1] == date(2026, 6, 1)
    assert a["n_events"].to_list() == [1] + [0] * 10 + [2]
    assert monthly.filter(pl.col("compound_id") == "B")["n_events"].sum() == 0
    assert monthly["safety_index"].null_count() == 24


def test_explain_text_names_rules_lift_and_costs():
    comp, ev = city()
    res = score(comp, ev, RULES, AS_OF)
    text = format_explanation("A", res.ratings, res.explanations)
    assert "downgrade:burglary" in text and "ruleset " + RULES.version in text
    assert "What would lift it" in text and "入室盗窃" in text and "盗窃" in text
    assert "Compared with" in text and "思明区：平均平安指数" in text
    assert format_explanation("nope", res.ratings, res.explanations).startswith("No rating")
    later = score(comp, ev, RULES, date(2026, 7, 31))
    both_r = pl.concat([res.ratings, later.ratings])
    both_x = pl.concat([res.explanations, later.explanations])
    assert "Rating on 2026-07-31" in format_explanation("A", both_r, both_x)
    assert "Rating on 2026-06-30" in format_explanation("A", both_r, both_x, as_of=AS_OF)
    assert format_explanation("A", both_r, both_x, as_of=date(2020, 1, 1)).startswith("No rating")
