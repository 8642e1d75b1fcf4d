"""Properties of the public data: suppression in the tables themselves, month window, slugs."""
from __future__ import annotations

from datetime import date

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.site_data import page_slug, trend_months
from tests.site import frames

GROUPS = list(frames.GROUPS)


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.sampled_from(GROUPS), st.integers(0, 40), min_size=0, max_size=5))
def test_no_count_below_the_threshold_is_stored(counts):
    stats = pl.DataFrame({"compound_id": ["XM-001"] * len(counts), "as_of": [frames.AS_OF] * len(counts),
                          "category_group": list(counts), "n": list(counts.values())},
                         schema={"compound_id": pl.String, "as_of": pl.Date, "category_group": pl.String, "n": pl.Int32})
    groups = frames.tables(stats=stats)["groups"].filter(pl.col("compound_id") == "XM-001")
    shown = dict(zip(groups["label"], groups["n"]))
    assert set(shown) == {frames.GROUPS[g] for g, n in counts.items() if n > 0}
    for g, n in counts.items():
        if n > 0:
            assert shown[frames.GROUPS[g]] == (None if n < 3 else n)
    # Exact counts come first, largest first; suppressed rows follow in the fixed order.
    values = groups.sort("ord")["n"].to_list()
    exact = [v for v in values if v is not None]
    assert values == sorted(exact, reverse=True) + [None] * (len(values) - len(exact))
    small = [label for label, v in zip(groups.sort("ord")["label"], values) if v is None]
    assert small == sorted(small, key=list(frames.GROUPS.values()).index)


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
