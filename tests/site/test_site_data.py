"""Properties of the page data: suppression, month window, slugs."""
from __future__ import annotations

from datetime import date

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.site_data import group_counts, trend_months
from reports.site_slug import page_slug
from schemas.public import CompoundPublicStats

GROUPS = ["暴力", "盗窃", "诈骗", "黄赌毒", "治安", "纠纷"]
AS_OF = date(2026, 11, 23)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(GROUPS), st.integers(0, 40), min_size=0, max_size=6))
def test_no_count_below_three_is_ever_shown(counts):
    stats = CompoundPublicStats.validate(pl.DataFrame(
        {"compound_id": ["A"] * len(counts), "as_of": [AS_OF] * len(counts),
         "category_group": list(counts), "n": list(counts.values())},
        schema={"compound_id": pl.String, "as_of": pl.Date, "category_group": pl.String, "n": pl.Int32}))
    out = group_counts(stats, AS_OF, GROUPS, {g: g + "类" for g in GROUPS})
    rows = out["groups"].to_list()[0] if out.height else []
    shown = {r["label"][:-1]: r["shown"] for r in rows}
    assert set(shown) == {g for g, n in counts.items() if n > 0}
    for g, text in shown.items():
        assert text == ("少量" if counts[g] < 3 else str(counts[g]))
    # Exact counts come first, largest first; suppressed rows follow in the fixed order.
    texts = [r["shown"] for r in rows]
    exact = [int(t) for t in texts if t != "少量"]
    assert exact == sorted(exact, reverse=True)
    assert texts == [str(n) for n in exact] + ["少量"] * (len(texts) - len(exact))
    small = [r["label"][:-1] for r in rows if r["shown"] == "少量"]
    assert small == sorted(small, key=GROUPS.index)


@given(st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 12, 31)))
def test_trend_is_the_twelve_months_ending_in_the_rating_month(d):
    months = trend_months(d)
    assert len(months) == 12 and months[-1] == d.replace(day=1)
    assert all(m.day == 1 for m in months) and len(set(months)) == 12
    assert all((b.year * 12 + b.month) - (a.year * 12 + a.month) == 1 for a, b in zip(months, months[1:]))


@given(st.text(min_size=1, max_size=40))
def test_slugs_are_path_safe(cid):
    slug = page_slug(cid)
    assert slug and "/" not in slug and ".." not in slug and "\\" not in slug and "%" not in slug
    assert page_slug(cid) == slug
