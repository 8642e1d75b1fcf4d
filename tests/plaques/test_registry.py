"""Plaque planning: new, replace and withdraw, the stability period and re-runs."""
from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plaques.registry import plan_history_params, plan_history_sql, plan_plaques
from tests.plaques.conftest import make_compounds, make_ratings, rated

D0 = date(2026, 3, 2)


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def actions_of(plan) -> dict[str, tuple]:
    return {r["compound_id"]: (r["action"], r["stars"], r["serial"], r["previous_serial"])
            for r in plan.actions.iter_rows(named=True)}


def active(plan) -> dict[str, tuple]:
    return {r["compound_id"]: (r["serial"], r["stars"])
            for r in plan.registry.filter(pl.col("status") == "active").iter_rows(named=True)}


def run_dates(history: pl.DataFrame, compounds, dates, stability_days=30, registry=None):
    plans = []
    for d in dates:
        plan = plan_plaques(registry, history, compounds, as_of=d, stability_days=stability_days)
        registry = plan.registry
        plans.append(plan)
    return plans


def test_first_date_issues_a_plaque_to_every_rated_compound(compounds):
    hist = make_ratings([rated("C1", 4, D0), ("C2", 3, "downgraded", "downgrade:burglary", D0),
                         ("C3", 0, "not_rated", "", D0), ("C4", 0, "vetoed", "veto:homicide", D0), rated("C5", 5, D0)])
    plan = plan_plaques(None, hist, compounds, as_of=D0)
    acts = actions_of(plan)
    assert set(acts) == {"C1", "C2", "C5"}
    assert all(a[0] == "new" for a in acts.values())
    assert acts["C1"][2] == "350203-C1-01"
    assert acts["C2"][1] == 3
    assert plan.registry.height == 3 and set(plan.registry["status"]) == {"active"}
    assert set(plan.registry["batch_id"]) == {"B20260302"}


def test_serial_uses_district_abbreviation_without_division_code(compounds):
    plan = plan_plaques(None, make_ratings([rated("C3", 4, D0)]), compounds, as_of=D0)
    assert plan.actions["serial"].to_list() == ["JM-C3-01"]


def test_veto_withdraws_and_downgrade_replaces_at_once(compounds):
    hist = make_ratings([rated("C1", 4, D0), rated("C2", 5, D0), rated("C5", 3, D0),
                         ("C1", 0, "vetoed", "veto:homicide", day(1)),
                         ("C2", 4, "downgraded", "downgrade:burglary", day(1)), rated("C5", 3, day(1))])
    _, second = run_dates(hist, compounds, [D0, day(1)])
    acts = actions_of(second)
    assert acts == {"C1": ("withdraw", 4, "350203-C1-01", None),
                    "C2": ("replace", 4, "350205-C2-02", "350205-C2-01")}
    reg = {r["serial"]: r for r in second.registry.iter_rows(named=True)}
    assert reg["350203-C1-01"]["status"] == "withdrawn" and reg["350203-C1-01"]["reason"].startswith("veto")
    assert reg["350205-C2-01"]["status"] == "superseded"
    assert reg["350205-C2-02"]["status"] == "active" and reg["350205-C2-02"]["stars"] == 4
    assert reg["350203-C1-01"]["status_changed_on"] == day(1)


def test_index_only_change_waits_for_the_stability_period(compounds):
    # C1 drops from 4 to 3 stars by its index alone and stays there.
    rows = [rated("C1", 4, D0)] + [rated("C1", 3, day(n)) for n in range(1, 41)]
    hist = make_ratings(rows)
    plans = run_dates(hist, compounds, [day(n) for n in range(41)], stability_days=30)
    replaced_on = [p.as_of for p in plans if not p.actions.filter(pl.col("action") == "replace").is_empty()]
    # The level 3 begins on day 1 and has held 30 days on day 31: replaced then, once.
    assert replaced_on == [day(31)]
    assert active(plans[-1])["C1"] == ("350203-C1-02", 3)
    waiting = plans[10].pending
    assert waiting["compound_id"].to_list() == ["C1"] and waiting["days_to_go"].to_list() == [21]


def test_index_rise_also_waits(compounds):
    rows = [rated("C1", 3, D0)] + [rated("C1", 4, day(n)) for n in (10, 20, 30, 40)]
    plans = run_dates(make_ratings(rows), compounds, [D0, day(10), day(20), day(30), day(40)], stability_days=30)
    assert [p.actions.height for p in plans] == [1, 0, 0, 0, 1]
    assert actions_of(plans[-1])["C1"][:2] == ("replace", 4)


def test_wobbling_across_a_threshold_never_reprints(compounds):
    # Weekly ratings alternating 4, 3, 4, 3…: no level holds 30 days, no reprint.
    dates = [day(7 * k) for k in range(12)]
    rows = [rated("C1", 4 if k % 2 == 0 else 3, d) for k, d in enumerate(dates)]
    plans = run_dates(make_ratings(rows), compounds, dates, stability_days=30)
    assert plans[0].actions.height == 1
    assert sum(p.actions.height for p in plans[1:]) == 0
    assert active(plans[-1])["C1"] == ("350203-C1-01", 4)


def test_a_short_dip_resets_the_clock(compounds):
    # 4 → 3 for 20 days, one rating back at 4, then 3 again: the clock restarts at the dip's end.
    dates = [day(n) for n in range(0, 60, 5)]
    levels = {0: 4, 5: 3, 10: 3, 15: 3, 20: 3, 25: 4, 30: 3, 35: 3, 40: 3, 45: 3, 50: 3, 55: 3}
    rows = [rated("C1", levels[(d - D0).days], d) for d in dates]
    plans = run_dates(make_ratings(rows), compounds, dates, stability_days=20)
    replaced = [p.as_of for p in plans if p.actions.height and p.as_of != D0]
    assert replaced == [day(50)]


def test_not_rated_withdraws_and_rerating_issues_a_new_serial(compounds):
    hist = make_ratings([rated("C1", 4, D0), ("C1", 0, "not_rated", "", day(1)), rated("C1", 4, day(2))])
    plans = run_dates(hist, compounds, [D0, day(1), day(2)])
    assert actions_of(plans[1])["C1"][:1] == ("withdraw",)
    assert actions_of(plans[2])["C1"] == ("new", 4, "350203-C1-02", None)


def test_compound_leaving_the_ratings_is_withdrawn(compounds):
    hist = make_ratings([rated("C1", 4, D0), rated("C2", 4, D0), rated("C2", 4, day(1))])
    plans = run_dates(hist, compounds, [D0, day(1)])
    assert actions_of(plans[1]) == {"C1": ("withdraw", 4, "350203-C1-01", None)}


def test_vetoed_compound_stays_without_plaque_until_next_year(compounds):
    d_veto, d_rated, d_next = date(2026, 6, 1), date(2026, 9, 1), date(2027, 1, 4)
    hist = make_ratings([rated("C1", 5, date(2026, 5, 1)), ("C1", 0, "vetoed", "veto:robbery", d_veto),
                         rated("C1", 4, d_rated), rated("C1", 4, d_next)])
    plans = run_dates(hist, compounds, [date(2026, 5, 1), d_veto, d_rated, d_next])
    assert [p.actions["action"].to_list() for p in plans] == [["new"], ["withdraw"], [], ["new"]]
    assert plans[-1].actions["serial"].to_list() == ["350203-C1-02"]


def test_rerunning_a_date_gives_the_same_plan(compounds):
    hist = make_ratings([rated("C1", 4, D0), rated("C2", 5, D0),
                         ("C1", 0, "vetoed", "veto:homicide", day(1)),
                         ("C2", 4, "downgraded", "downgrade:burglary", day(1))])
    first, second = run_dates(hist, compounds, [D0, day(1)])
    again = plan_plaques(second.registry, hist, compounds, as_of=day(1))
    assert again.actions.equals(second.actions)
    assert again.registry.equals(second.registry)
    # Re-running the first date undoes the second date's changes.
    back = plan_plaques(second.registry, hist, compounds, as_of=D0)
    assert back.registry.equals(first.registry)


def test_missing_rating_date_is_an_error(compounds):
    with pytest.raises(ValueError, match="no ratings for 2026-03-03"):
        plan_plaques(None, make_ratings([rated("C1", 4, D0)]), compounds, as_of=day(1))


@settings(max_examples=12, deadline=None)
@given(st.lists(st.lists(st.integers(min_value=2, max_value=4), min_size=10, max_size=10), min_size=4, max_size=4))
def test_plaques_follow_only_levels_that_held(seqs):
    """Property: an index-only replace shows a level that held on every rating date of the
    period, and no level that has held the period is left unprinted."""
    ids = ["C1", "C2", "C4", "C5"]
    compounds = make_compounds(ids)
    stab = 4
    dates = [day(2 * k) for k in range(10)]
    rows = [rated(c, s, d) for c, seq in zip(ids, seqs) for s, d in zip(seq, dates)]
    hist = make_ratings(rows)
    level = {(c, d): s for c, seq in zip(ids, seqs) for s, d in zip(seq, dates)}
    registry = None
    for d in dates:
        plan = plan_plaques(registry, hist, compounds, as_of=d, stability_days=stab)
        registry = plan.registry
        for r in plan.actions.filter(pl.col("action") == "replace").iter_rows(named=True):
            held = [level[(r["compound_id"], x)] for x in dates if d - timedelta(days=stab) <= x <= d]
            assert set(held) == {r["stars"]}
        plaque = {c: s for c, (_, s) in active(plan).items()}
        for c in ids:
            recent = [level[(c, x)] for x in dates if d - timedelta(days=stab) <= x <= d]
            if d - dates[0] >= timedelta(days=stab) and len(set(recent)) == 1:
                assert plaque[c] == recent[0]


def test_index_drop_under_an_old_downgrade_waits(compounds):
    # The downgrade fired (and was printed) on day 1; on day 2 the index drops another star
    # while the same rule is still in force: that is an index change, and it waits.
    hist = make_ratings([rated("C1", 5, D0), ("C1", 4, "downgraded", "downgrade:burglary", day(1)),
                         ("C1", 3, "downgraded", "downgrade:burglary", day(2))])
    plans = run_dates(hist, compounds, [D0, day(1), day(2)])
    assert actions_of(plans[1])["C1"][:2] == ("replace", 4)
    assert plans[2].actions.is_empty() and plans[2].pending["rated_stars"].to_list() == [3]
    # A second kind of downgrade is a new rule: at once.
    hist2 = pl.concat([hist, make_ratings([("C1", 2, "downgraded", "downgrade:burglary|downgrade:gambling",
                                            day(3))])])
    again = plan_plaques(plans[2].registry, hist2, compounds, as_of=day(3))
    assert actions_of(again)["C1"][:2] == ("replace", 2)


def test_downgrade_fired_on_an_unplanned_date_still_acts_at_once(compounds):
    # Plaques were not planned on day 1 (the run skipped it); the rule fired then.
    hist = make_ratings([rated("C1", 5, D0), ("C1", 4, "downgraded", "downgrade:drugs", day(1)),
                         ("C1", 4, "downgraded", "downgrade:drugs", day(2))])
    plans = run_dates(hist, compounds, [D0, day(2)])
    assert actions_of(plans[1])["C1"][:2] == ("replace", 4)


_KINDS = st.sampled_from([(3, "rated", ""), (4, "rated", ""), (5, "rated", ""),
                          (2, "downgraded", "downgrade:burglary"), (0, "vetoed", "veto:homicide"),
                          (0, "not_rated", "")])


@settings(max_examples=8, deadline=None)
@given(st.lists(st.lists(_KINDS, min_size=12, max_size=12), min_size=4, max_size=4),
       st.lists(st.booleans(), min_size=12, max_size=12))
def test_the_ratings_read_for_planning_plan_the_same_as_every_rating(seqs, gaps):
    """The asset reads only `plan_history_sql`'s ratings (run starts, the date, this year's
    vetoes, issue dates) from the warehouse: every date's plan must equal the plan from the
    whole history, across a year end, vetoes, downgrades, unrated dates and missing dates."""
    import duckdb

    ids = ["C1", "C2", "C4", "C5"]
    compounds = make_compounds(ids)
    dates = [date(2025, 12, 20) + timedelta(days=3 * k) for k in range(12)]  # crosses into 2026
    rows = [(c, s, status, rules, d) for c, seq in zip(ids, seqs) for (s, status, rules), d, gap
            in zip(seq, dates, gaps) if not (gap and c == "C2")]  # C2 has no rating on some dates
    hist = make_ratings(rows)
    with duckdb.connect() as conn:
        conn.execute("CREATE SCHEMA marts")
        conn.register("h", hist.to_arrow())
        conn.execute("CREATE TABLE marts.ratings AS SELECT * FROM h")
        full_reg = reduced_reg = None
        for d in dates:
            full = plan_plaques(full_reg, hist, compounds, as_of=d, stability_days=6)
            has_plaques = conn.execute("SELECT count(*) FROM information_schema.tables "
                                       "WHERE table_name = 'plaques'").fetchall()[0][0] > 0
            query = plan_history_sql(plaques="marts.plaques" if has_plaques else None)
            needed = conn.sql(query, params=plan_history_params(d)).pl()
            reduced = plan_plaques(reduced_reg, needed, compounds, as_of=d, stability_days=6)
            assert reduced.registry.equals(full.registry)
            assert reduced.actions.equals(full.actions)
            assert reduced.pending.equals(full.pending)
            full_reg, reduced_reg = full.registry, reduced.registry
            conn.register("r", full.registry.with_columns(pl.lit(d).alias("as_of")).to_arrow())
            conn.execute("CREATE TABLE IF NOT EXISTS marts.plaques AS SELECT * FROM r LIMIT 0")
            conn.execute("INSERT INTO marts.plaques SELECT * FROM r")
            conn.unregister("r")
