"""Common problems on crafted frames: rises spread over compounds, and concentrations."""
from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from reports.common_problems import COLUMNS, common_problems, leading_group

NOW, BEFORE = date(2026, 11, 1), date(2026, 8, 1)


def _compounds(streets: dict[str, int]) -> pl.DataFrame:
    rows = []
    for street, n in streets.items():
        district = "思明区" if street.startswith("S") else "湖里区"
        rows += [{"compound_id": f"{street}-{k}", "name": f"{street}{k}", "district": district,
                  "street": street} for k in range(n)]
    return pl.DataFrame(rows)


def _stats(counts: dict[tuple[str, str], int], as_of: date) -> pl.DataFrame:
    return pl.DataFrame(
        [{"compound_id": c, "as_of": as_of, "category_group": g, "n": n} for (c, g), n in counts.items()],
        schema={"compound_id": pl.String, "as_of": pl.Date, "category_group": pl.String, "n": pl.Int32})


def _baseline(comp: pl.DataFrame, per: int = 2) -> dict:
    """Every compound has the same mix of three groups: nothing stands out."""
    return {(c, g): per for c in comp["compound_id"] for g in ("盗窃", "纠纷", "治安")}


@pytest.fixture
def comp():
    return _compounds({"S1": 8, "S2": 8, "H1": 8, "H2": 8})


def test_a_rise_across_many_compounds_ranks_first(comp):
    before = _baseline(comp)
    now = dict(before)
    for k in range(6):  # 诈骗 appears in six compounds of S1, absent before
        now[(f"S1-{k}", "诈骗")] = 3
    out = common_problems(_stats(now, NOW), _stats(before, BEFORE), comp)
    assert out.columns == COLUMNS
    top = out.row(0, named=True)
    assert (top["region"], top["group"]) == ("S1", "诈骗")
    rising = out.filter(pl.col("kind") == "rising").row(0, named=True)
    assert (rising["level"], rising["region"], rising["group"]) == ("street", "S1", "诈骗")
    assert (rising["n_now"], rising["n_before"], rising["change"], rising["compounds_rising"]) == (18, 0, 18, 6)
    assert rising["compounds"] == 8
    # the district holding S1 shows the same rise one level up
    assert out.filter((pl.col("level") == "district") & (pl.col("region") == "思明区")
                      & (pl.col("group") == "诈骗")).height == 1
    # nothing else rose, so nothing else is reported as rising
    assert set(out.filter(pl.col("kind") == "rising")["group"]) == {"诈骗"}
    assert out["rank"].to_list() == list(range(1, out.height + 1))
    assert out["score"].is_sorted(descending=True)


def test_a_spike_in_one_compound_is_not_common(comp):
    before = _baseline(comp)
    now = dict(before)
    now[("S1-0", "诈骗")] = 40
    out = common_problems(_stats(now, NOW), _stats(before, BEFORE), comp)
    assert out.filter(pl.col("kind") == "rising").height == 0
    # min_compounds=1 turns the single compound's spike into a finding
    assert common_problems(_stats(now, NOW), _stats(before, BEFORE), comp, min_compounds=1) \
        .filter((pl.col("kind") == "rising") & (pl.col("group") == "诈骗")).height > 0


def test_a_concentration_is_detected_without_any_rise(comp):
    counts = _baseline(comp)
    for k in range(8):  # theft dominates H2, the same as last period
        counts[(f"H2-{k}", "盗窃")] = 12
    out = common_problems(_stats(counts, NOW), _stats(counts, BEFORE), comp)
    assert out.filter(pl.col("kind") == "rising").height == 0
    conc = out.filter(pl.col("kind") == "concentrated")
    assert conc.height >= 1
    top = conc.row(0, named=True)
    assert (top["level"], top["region"], top["group"], top["district"]) == ("street", "H2", "盗窃", "湖里区")
    assert top["share"] == pytest.approx(96 / 128)
    city = (96 + 24 * 2) / (96 + 24 * 2 + 2 * 32 * 2)  # theft / all: 96+48 of 144+64+64
    assert top["city_share"] == pytest.approx(city)
    assert top["share"] > top["city_share"] and top["change"] == 0


def test_without_a_previous_period_only_concentrations(comp):
    counts = _baseline(comp)
    for k in range(8):
        counts[(f"H2-{k}", "盗窃")] = 12
    out = common_problems(_stats(counts, NOW), None, comp)
    assert set(out["kind"]) == {"concentrated"}
    assert out["n_before"].null_count() == out.height
    assert out["change"].null_count() == out.height


def test_nothing_to_report_gives_an_empty_frame_with_the_columns(comp):
    counts = _baseline(comp)
    out = common_problems(_stats(counts, NOW), _stats(counts, BEFORE), comp)
    assert out.height == 0 and out.columns == COLUMNS
    empty = _stats({}, NOW)
    assert common_problems(empty, None, comp).height == 0


def test_category_granularity_works_the_same(comp):
    before = {(c, cat): 1 for c in comp["compound_id"] for cat in ("theft", "burglary", "noise")}
    now = dict(before)
    for k in range(5):
        now[(f"S2-{k}", "telecom_fraud")] = 4
    out = common_problems(_stats(now, NOW), _stats(before, BEFORE), comp)
    assert (out.row(0, named=True)["region"], out.row(0, named=True)["group"]) == ("S2", "telecom_fraud")


def test_leading_group_picks_the_most_counted(comp):
    stats = _stats({("S1-0", "盗窃"): 3, ("S1-0", "诈骗"): 5, ("S1-1", "纠纷"): 2, ("S1-1", "盗窃"): 2,
                    ("S1-2", "治安"): 0}, NOW)
    got = dict(leading_group(stats).rows())
    assert got == {"S1-0": "诈骗", "S1-1": "盗窃"}


def test_period_stats_count_a_window_of_attributed_events():
    from datetime import datetime

    from reports.common_problems import period_stats

    ev = pl.DataFrame({
        "compound_id": ["C1", "C1", "C1", "C2", None, "C2"],
        "category_group": ["盗窃", "盗窃", "诈骗", "盗窃", "盗窃", "盗窃"],
        "category_code": ["theft", "burglary", "fraud", "theft", "theft", "theft"],
        "occurred_at": [datetime(2026, 10, 5), datetime(2026, 8, 2), datetime(2026, 11, 1, 23),
                        datetime(2026, 7, 31), datetime(2026, 10, 1), datetime(2026, 10, 9)],
        "method": ["polygon", "address", "explicit", "nearest", "unmatched", "excluded"],
    })
    got = period_stats(ev, date(2026, 11, 1), 3)
    # window (2026-08-01, 2026-11-01]: C2's July event is before it, the excluded and
    # unplaced events never count
    assert got.rows() == [("C1", date(2026, 11, 1), "盗窃", 2), ("C1", date(2026, 11, 1), "诈骗", 1)]
    by_code = period_stats(ev, date(2026, 11, 1), 3, by="category_code")
    assert sorted(by_code["category_group"]) == ["burglary", "fraud", "theft"]
    earlier = period_stats(ev, date(2026, 8, 1), 3)
    assert earlier.rows() == [("C2", date(2026, 8, 1), "盗窃", 1)]


def test_q_values_control_false_discoveries(comp):
    import numpy as np

    from reports.common_problems import _bh_q_values, _upper_tail

    np.testing.assert_allclose(_upper_tail(np.array([0.0, 1.96, -1.96, 3.0])),
                               [0.5, 0.0249979, 0.9750021, 0.0013499], atol=2e-7)
    # Benjamini–Hochberg by hand: p = (.01, .04, .03, .5), m = 4; sorted p·m/rank =
    # .04, .06, .0533, .5 → running minimum from the top: .04, .0533, .0533, .5
    z = np.array([2.326348, 1.750686, 1.880794, 0.0])   # one-sided p .01 .04 .03 .5
    np.testing.assert_allclose(_bh_q_values(z), [0.04, 0.0533333, 0.0533333, 0.5], atol=1e-5)
    before = _baseline(comp)
    now = dict(before)
    for k in range(6):
        now[(f"S1-{k}", "诈骗")] = 3
    out = common_problems(_stats(now, NOW), _stats(before, BEFORE), comp)
    top = out.row(0, named=True)
    assert 0 < top["q_value"] < 0.01
    assert out["q_value"].is_between(0, 1).all()
    assert common_problems(_stats(now, NOW), _stats(before, BEFORE), comp, max_q=1e-9).height < out.height
