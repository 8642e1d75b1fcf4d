"""Need facts, figures per area and the public compound figures, from hand-made loops."""
from __future__ import annotations

from datetime import date, datetime

import polars as pl

from governance.figures import compound_month_figures, need_facts, small_public_counts, unit_figures
from schemas.governance import CompoundNeedFigures, NeedFact, UnitFigures
from tests.governance.factories import COMPOUNDS, Loop, checkins

SAT = ("满意", "基本满意")
END = datetime(2026, 11, 30, 23, 59, 59)


def _scenario() -> Loop:
    loop = Loop()
    # 1: handled in time, closed, rated satisfied
    n = loop.need("a", datetime(2026, 11, 2, 9))
    loop.step(n, "accept", datetime(2026, 11, 2, 10))
    loop.step(n, "resolve", datetime(2026, 11, 2, 20))
    loop.step(n, "close", datetime(2026, 11, 3, 9))
    loop.step(n, "rate", datetime(2026, 11, 3, 12), rating="满意")
    # 2: missed its deadline, escalated by itself, then closed by the street; rated 不满意, reopened, closed again
    n = loop.need("a", datetime(2026, 11, 5, 9))
    loop.step(n, "overdue", datetime(2026, 11, 6, 10), deadline=datetime(2026, 11, 7, 10))
    loop.step(n, "accept", datetime(2026, 11, 6, 11))
    loop.step(n, "resolve", datetime(2026, 11, 6, 18))
    loop.step(n, "close", datetime(2026, 11, 7, 9))
    loop.step(n, "rate", datetime(2026, 11, 7, 10), rating="不满意", to_state="reopened")
    loop.step(n, "close", datetime(2026, 11, 8, 9))
    # 3: still open in grid Sa002, asked for help once
    n = loop.need("b", datetime(2026, 11, 20, 9))
    loop.step(n, "accept", datetime(2026, 11, 20, 10))
    loop.step(n, "escalate", datetime(2026, 11, 20, 12))
    # 4: registered last month, closed this month on time (counted as closed, not received)
    n = loop.need("d", datetime(2026, 10, 30, 9), hours=72)
    loop.step(n, "accept", datetime(2026, 10, 30, 10))
    loop.step(n, "resolve", datetime(2026, 11, 1, 9))
    loop.step(n, "close", datetime(2026, 11, 1, 15))
    return loop


def test_need_facts_follow_the_events():
    needs, events = _scenario().frames()
    facts = NeedFact.validate(need_facts(needs, events, END)).sort("need_id")
    assert facts["state"].to_list() == ["rated", "closed", "assigned", "closed"]
    assert facts["on_time"].to_list() == [True, False, False, True]
    assert facts["escalations"].to_list() == [0, 1, 1, 0]
    assert facts["reopened"].to_list() == [False, True, False, False]
    assert facts["rating"].to_list() == ["满意", "不满意", None, None]
    assert facts["hours_to_close"].to_list()[:2] == [24.0, 48.0]  # to the FIRST close
    # as of an earlier moment the same need is in an earlier state
    early = need_facts(needs, events, datetime(2026, 11, 2, 21)).sort("need_id")
    assert early["state"].to_list() == ["resolved", "closed"]  # need 4 closed on Nov 1; 2 and 3 not yet registered


def test_unit_figures_count_the_period_per_area():
    needs, events = _scenario().frames()
    facts = need_facts(needs, events, END)
    chk = checkins(("a", datetime(2026, 11, 4, 9)), ("c", datetime(2026, 11, 9, 9)),
                   ("c", datetime(2026, 10, 9, 9)))
    fig = UnitFigures.validate(unit_figures(facts, events, chk, COMPOUNDS, date(2026, 11, 1), date(2026, 11, 30), SAT))
    row = {(r["level"], r["unit_id"]): r for r in fig.iter_rows(named=True)}
    city = row[("city", "全市")]
    assert (city["received"], city["closed"], city["closed_on_time"]) == (3, 3, 2)
    assert (city["escalations"], city["rated"], city["satisfied"]) == (2, 2, 1)
    assert (city["open_at_end"], city["checkins"], city["compounds"]) == (1, 2, 4)
    assert city["median_hours_to_close"] == 48.0  # 24, 48 and 54 hours
    sa001 = row[("grid", "Sa001")]
    assert (sa001["received"], sa001["closed"], sa001["closed_on_time"], sa001["escalations"]) == (2, 2, 1, 1)
    assert row[("grid", "Sa002")]["open_at_end"] == 1
    assert row[("street", "思明区/中华街道")]["closed"] == 1 and row[("street", "思明区/中华街道")]["received"] == 0
    assert row[("community", "思明区/厦港街道/福海社区")]["checkins"] == 1
    # every level adds up to the city
    for level in ("grid", "community", "street", "district"):
        sums = fig.filter(pl.col("level") == level).select(pl.col("received", "closed", "checkins").sum()).row(0)
        assert sums == (city["received"], city["closed"], city["checkins"])


def test_public_compound_figures_withhold_small_counts():
    loop = Loop()
    for i in range(4):  # compound a: 4 needs, all closed on time, 3 rated
        n = loop.need("a", datetime(2026, 11, 2 + i, 9))
        loop.step(n, "accept", datetime(2026, 11, 2 + i, 10))
        loop.step(n, "resolve", datetime(2026, 11, 2 + i, 11))
        loop.step(n, "close", datetime(2026, 11, 2 + i, 12))
        if i < 3:
            loop.step(n, "rate", datetime(2026, 11, 2 + i, 13), rating="满意" if i else "不满意", to_state="rated")
    loop.need("b", datetime(2026, 11, 3, 9))  # b: one open need
    needs, events = loop.frames()
    facts = need_facts(needs, events, END)
    chk = checkins(("b", datetime(2026, 11, 4, 9)), ("b", datetime(2026, 11, 5, 9)))
    pub = CompoundNeedFigures.validate(
        compound_month_figures(facts, events, chk, COMPOUNDS["compound_id"], date(2026, 11, 20), SAT, 3))
    a, b, c = (pub.filter(pl.col("compound_id") == x).row(0, named=True) for x in "abc")
    assert (a["needs_received"], a["needs_closed"], a["on_time_share"]) == (4, 4, 1.0)
    # 2 of 3 satisfied would tell that one resident was not: the share is withheld
    assert a["satisfaction_share"] is None and a["satisfaction_suppressed"]
    assert b["needs_received"] is None and b["needs_received_suppressed"]
    assert b["checkins"] is None and b["checkins_suppressed"]
    assert (c["needs_received"], c["checkins"], c["needs_received_suppressed"]) == (0, 0, False)
    # no column of the public frame holds a count between 1 and the threshold
    for col in ("needs_received", "needs_closed", "checkins"):
        assert not pub[col].is_between(1, 2).any()

    assert small_public_counts(pub, 3).is_empty()
    # the check the nightly run makes on this table catches a count or a share that slips through
    leaky = pub.with_columns(pl.when(pl.col("compound_id") == "b").then(1).otherwise(pl.col("needs_received"))
                             .alias("needs_received"))
    assert small_public_counts(leaky, 3)["compound_id"].to_list() == ["b"]
    leaky = pub.with_columns(pl.when(pl.col("compound_id") == "a").then(None).otherwise(pl.col("needs_closed"))
                             .alias("needs_closed"))
    assert small_public_counts(leaky, 3)["compound_id"].to_list() == ["a"]
