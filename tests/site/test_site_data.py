"""Properties of the public data: suppression in the tables themselves, month window, slugs,
the month's needs figures in the publication's rows."""
from __future__ import annotations

from datetime import date

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.figures import small_public_counts
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


def _loop_row(cid: str, **overrides) -> dict:
    return frames.tables(**overrides)["compounds"].filter(pl.col("compound_id") == cid).select(
        "needs_received", "needs_closed", "checkins", "on_time_share", "satisfaction_share").row(0, named=True)


def test_the_months_needs_figures_are_publication_rows():
    assert _loop_row("XM-001") == {"needs_received": 6, "needs_closed": 4, "checkins": 4, "on_time_share": 1.0,
                                   "satisfaction_share": 1.0}
    assert _loop_row("XM-002") == {"needs_received": None, "needs_closed": 0, "checkins": None, "on_time_share": None,
                                   "satisfaction_share": None}  # 2 needs, 1 check-in: 少量
    assert _loop_row("XM-004")["on_time_share"] is None  # 5 closed, 2 late
    # a compound without a row in the figures, or no figures at all: nothing this month
    nothing = {"needs_received": 0, "needs_closed": 0, "checkins": 0, "on_time_share": None, "satisfaction_share": None}
    assert _loop_row("XM-003") == nothing
    assert _loop_row("XM-001", needs=frames.need_figures().filter(pl.col("compound_id") != "XM-001")) == nothing
    assert _loop_row("XM-001", needs=None) == nothing


need = st.tuples(st.booleans(), st.booleans(), st.sampled_from([None, "满意", "不满意"]))


@settings(max_examples=40, deadline=None)
@given(st.lists(need, max_size=12), st.integers(0, 6))
def test_no_small_count_or_part_of_a_share_is_stored(needs, visits):
    row = _loop_row("XM-001", needs=frames.need_figures({"XM-001": needs}, {"XM-001": visits}))
    closed = [n for n in needs if n[0]]
    on_time = sum(n[1] for n in closed)
    rated = [n for n in closed if n[2]]
    satisfied = sum(n[2] == "满意" for n in rated)

    def shown(n: int) -> int | None:
        return n if n == 0 or n >= 3 else None

    assert (row["needs_received"], row["needs_closed"], row["checkins"]) == (shown(len(needs)), shown(len(closed)),
                                                                             shown(visits))
    parts_fine = {"on_time_share": (len(closed), on_time), "satisfaction_share": (len(rated), satisfied)}
    for share, (base, part) in parts_fine.items():
        if base and shown(part) is not None and shown(base - part) is not None:
            assert row[share] == round(part / base, 2)
        else:
            assert row[share] is None


def test_the_nightly_check_catches_a_share_that_gives_a_part_away():
    figures = frames.need_figures()
    assert small_public_counts(figures, 3).is_empty()
    leaky = figures.with_columns(pl.when(pl.col("compound_id") == "XM-004").then(0.6)
                                 .otherwise(pl.col("on_time_share")).alias("on_time_share"))  # 3 of 5: 2 late
    assert small_public_counts(leaky, 3)["compound_id"].to_list() == ["XM-004"]
    # 247 of 250 on time shows as 99%: the 3 late stay possible, the check must not block it
    big = figures.with_columns(pl.when(pl.col("compound_id") == "XM-001").then(250).otherwise(pl.col("needs_closed"))
                               .alias("needs_closed"),
                               pl.when(pl.col("compound_id") == "XM-001").then(0.99).otherwise(pl.col("on_time_share"))
                               .alias("on_time_share"))
    assert small_public_counts(big, 3).is_empty()
