"""Suppression that holds: an attacker reading every page of generated small cities derives
no count under the threshold, and cities that differ only inside hidden counts publish the
same pages (charts included) — incidents, and the month's needs and check-ins alike."""
from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.site import page_paths, render
from reports.site_data import trend_months
from reports.site_store import Publication
from tests.site import frames
from tests.site.attacker import derived, derived_needs, small_numbers

IDS = ["XM-001", "XM-002", "XM-003", "XM-004", "XM-005"]
GROUPS = list(frames.GROUPS)
MONTHS = trend_months(frames.AS_OF)
BELOW = 3

# One incident: (compound, group, month index). Few per compound, so small counts abound.
incident = st.tuples(st.sampled_from(IDS), st.sampled_from(GROUPS), st.integers(0, 11))
city = st.lists(incident, min_size=0, max_size=40)


def frames_of(incidents: list[tuple[str, str, int]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The public aggregates (per group, per month) of a list of incidents."""
    ev = pl.DataFrame(incidents, schema={"compound_id": pl.String, "category_group": pl.String, "m": pl.Int64},
                      orient="row")
    stats = ev.group_by("compound_id", "category_group").agg(pl.len().cast(pl.Int32).alias("n")).with_columns(
        pl.lit(frames.AS_OF).alias("as_of")).select("compound_id", "as_of", "category_group", "n")
    monthly = ev.group_by("compound_id", "m").agg(pl.len().cast(pl.Int32).alias("n_events")).with_columns(
        pl.col("m").map_elements(lambda i: MONTHS[i], return_dtype=pl.Date).alias("month"),
        pl.lit(frames.AS_OF).alias("as_of"), pl.lit(None, pl.Float64).alias("safety_index"),
    ).select("compound_id", "as_of", "month", "n_events", "safety_index")
    return stats, monthly


def publish(folder, incidents) -> Publication:
    stats, monthly = frames_of(incidents)
    return Publication(frames.publication(folder, stats=stats, monthly=monthly))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(incidents=city)
def test_the_attacker_derives_no_small_count_from_any_page(tmp_path_factory, incidents):
    pub = publish(tmp_path_factory.mktemp("pub"), incidents)
    for path in page_paths(pub):
        if path.endswith(".svg"):
            continue
        html = render(pub, path).body
        assert small_numbers(html, BELOW) == [], path
        if path.startswith("/c/"):
            assert derived(html, BELOW) == [], (path, incidents)


def _hidden_pair(incidents):
    """A compound with a group and a month whose counts are both hidden, or None."""
    stats, monthly = frames_of(incidents)
    for cid in IDS:
        g = stats.filter((pl.col("compound_id") == cid) & (pl.col("n") == 1))
        m = monthly.filter((pl.col("compound_id") == cid) & (pl.col("n_events") == 1))
        if g.height and m.height:
            return cid, g["category_group"][0], MONTHS.index(m["month"][0])
    return None


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(incidents=city)
def test_a_hidden_one_and_a_hidden_two_publish_the_same_pages(tmp_path_factory, incidents):
    pair = _hidden_pair(incidents)
    if pair is None:
        incidents = incidents + [("XM-002", "盗窃", 4)]
        pair = _hidden_pair(incidents)
    cid, group, month = pair
    more = incidents + [(cid, group, month)]  # that group and that month: 1 -> 2, both still hidden
    a, b = publish(tmp_path_factory.mktemp("a"), incidents), publish(tmp_path_factory.mktemp("b"), more)
    for path in page_paths(a):
        if path.endswith(".svg") and path != f"/c/{cid}.trend.svg":
            continue
        assert render(a, path).body == render(b, path).body, path
    assert page_paths(a) == page_paths(b)


def test_a_hidden_category_is_not_the_total_minus_the_listed_ones(tmp_path):
    """The finding of the issue: months all shown, one category hidden -> total minus the
    listed categories gave it away. Now the month counts are withheld for that compound."""
    incidents = [("XM-001", "盗窃", 0)] * 3 + [("XM-001", "诈骗", 0)]  # 4 in one month; 盗窃 3, 诈骗 1
    html = render(publish(tmp_path, incidents), "/c/XM-001.html").body
    assert derived(html, BELOW) == [] and "不公布" in html and "本小区不公布每月案事件数" in html
    # The same page built without the second check gives 诈骗 away: the attacker is real.
    cell = '<td class="n">不公布</td>'
    leaky = html.replace(cell, '<td class="n">4</td>', 1).replace(cell, '<td class="n">0</td>')
    assert derived(leaky, BELOW) == [("groups", 1, 1)]


# One need of the month: (closed?, on time?, the resident's rating if closed).
need = st.tuples(st.booleans(), st.booleans(), st.sampled_from([None, "满意", "基本满意", "不满意"]))
loop = st.fixed_dictionaries({}, optional={cid: st.lists(need, max_size=9) for cid in IDS})
visits = st.dictionaries(st.sampled_from(IDS), st.integers(0, 5))


def rated(needs, cid):
    return sum(1 for closed, _, rating in needs.get(cid, []) if closed and rating)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(needs=loop, checkins=visits)
def test_the_attacker_derives_no_small_count_from_the_needs_figures(tmp_path_factory, needs, checkins):
    pub = Publication(frames.publication(tmp_path_factory.mktemp("pub"), needs=frames.need_figures(needs, checkins)))
    for cid in IDS:
        html = render(pub, f"/c/{cid}.html").body
        assert small_numbers(html, BELOW) == [], (cid, needs, checkins)
        # told how many ratings there were, the attacker still pins no small part of a share
        assert derived_needs(html, BELOW, rated(needs, cid)) == [], (cid, needs, checkins)


ON_TIME, LATE, OPEN = (True, True, None), (True, False, None), (False, False, None)


@pytest.mark.parametrize("one, other", [
    ({"XM-003": [OPEN]}, {"XM-003": [OPEN] * 2}),                                  # received 1 or 2
    ({"XM-003": [ON_TIME]}, {"XM-003": [LATE, ON_TIME]}),                          # closed 1 or 2
    ({"XM-004": [ON_TIME] * 3 + [LATE] * 2}, {"XM-004": [ON_TIME] * 4 + [LATE]}),   # 5 closed, 2 or 1 late
    ({"XM-004": [(True, True, "满意")] * 2 + [(True, True, "不满意")] * 3},           # 5 rated, 2 or 1 satisfied
     {"XM-004": [(True, True, "满意")] + [(True, True, "不满意")] * 4}),
])
def test_a_hidden_needs_count_changes_no_page(tmp_path, one, other):
    base = {"XM-001": [ON_TIME] * 4 + [OPEN] * 3}
    a, b = (Publication(frames.publication(tmp_path / name, needs=frames.need_figures({**base, **world}, {})))
            for name, world in (("a", one), ("b", other)))
    assert page_paths(a) == page_paths(b)
    for path in page_paths(a):
        assert render(a, path).body == render(b, path).body, path


def test_one_checkin_or_two_publish_the_same_pages(tmp_path):
    a, b = (Publication(frames.publication(tmp_path / str(n), needs=frames.need_figures({}, {"XM-002": n})))
            for n in (1, 2))
    assert render(a, "/c/XM-002.html").body == render(b, "/c/XM-002.html").body


def test_a_share_beside_its_base_would_give_a_late_need_away(tmp_path):
    """5 needs closed, 2 late: 60% on time would tell the 2. The page shows "—"; the same
    page with the share printed is caught by the attacker."""
    figures = frames.need_figures({"XM-004": [ON_TIME] * 3 + [LATE] * 2}, {})
    html = render(Publication(frames.publication(tmp_path, needs=figures)), "/c/XM-004.html").body
    assert derived_needs(html, BELOW, 0) == [] and 'id="need-closed">5 件<' in html
    leaky = html.replace('id="need-on-time">—<', 'id="need-on-time">60%<')
    assert derived_needs(leaky, BELOW, 0) == [("late", 2)]
