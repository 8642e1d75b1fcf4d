"""Common problems on crafted frames (rises spread over compounds, concentrations) and on
synthetic cities with planted clusters of known strength (tests/reports/problem_city.py)."""
from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from reports.common_problems import COLUMNS, common_problems, leading_group, problem_family
from scoring.rules import load_rules
from tests.reports import problem_city
from tests.reports.problem_city import Plant

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
    assert out["q_value"].is_sorted()
    # on equal evidence the street comes first: it is the more specific place to act
    assert top["level"] == "street"
    # effect: nothing before, so the rate ratio is unbounded above; its lower bound is finite
    assert rising["effect"] is None and rising["effect_high"] is None
    assert rising["effect_low"] > 1


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
    assert top["share"] > top["city_share"]
    # a concentration claims no change: nothing like "45 → 45" can be shown
    assert top["change"] is None and top["n_before"] is None
    # effect: the share ratio, inside its interval
    assert top["effect"] == pytest.approx(top["share"] / top["city_share"])
    assert 1 < top["effect_low"] < top["effect"] < top["effect_high"]


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


def test_only_findings_within_the_false_discovery_level_are_listed(comp):
    before = _baseline(comp)
    now = dict(before)
    for k in range(6):
        now[(f"S1-{k}", "诈骗")] = 3
    out = common_problems(_stats(now, NOW), _stats(before, BEFORE), comp)
    assert 0 < out["q_value"].max() <= 0.10 and out["q_value"].min() > 0
    assert (out["tested"] == problem_family(_stats(now, NOW), _stats(before, BEFORE), comp).height).all()
    # a stricter level lists fewer
    strict = common_problems(_stats(now, NOW), _stats(before, BEFORE), comp, false_discovery_rate=1e-5)
    assert strict.height < out.height
    assert (strict["q_value"] <= 1e-5).all()


def test_a_modest_rise_among_many_tests_is_not_listed(comp):
    """8 → 20 in one street's group has a z score of 2.3 (listed by the old "z ≥ 2" rule), but
    among the night's many tests it is what chance gives: q far above the level."""
    before = _baseline(comp, per=1)
    now = dict(before)
    for k in range(4):
        now[(f"H1-{k}", "纠纷")] = 4
    tested = problem_family(_stats(now, NOW), _stats(before, BEFORE), comp)
    pair = tested.filter((pl.col("region") == "H1") & (pl.col("group") == "纠纷") & (pl.col("kind") == "rising"))
    n, m = pair.row(0, named=True)["n_now"], pair.row(0, named=True)["n_before"]
    assert (n - m) / (n + m) ** 0.5 >= 2
    assert pair["q_value"].item() > 0.10
    out = common_problems(_stats(now, NOW), _stats(before, BEFORE), comp)
    assert out.filter((pl.col("region") == "H1") & (pl.col("group") == "纠纷")).height == 0


FDR = load_rules().common_problems.false_discovery_rate


def test_planted_clusters_are_found_at_the_design_power():
    """Clusters of ×4 on the leading group (about 18 incidents a street a period) and on
    a smaller one (about 7, ×6): found in at least 80% of cities (bench: the whole power curve)."""
    seeds = range(12)
    plants = [(Plant("rising", "D1S2", "盗窃", 4.0), Plant("concentrated", "D3S4", "盗窃", 4.0)),
              (Plant("rising", "D2S1", "诈骗", 6.0), Plant("concentrated", "D4S3", "诈骗", 6.0))]
    for pair in plants:
        hits = {p: 0 for p in pair}
        for seed in seeds:
            c = problem_city.city(seed, pair)
            out = common_problems(c.now, c.before, c.compounds, false_discovery_rate=FDR)
            for p in pair:
                hits[p] += problem_city.found(out, p)
        for p, h in hits.items():
            assert h / len(seeds) >= 0.8, (p, h)


def test_a_city_without_clusters_lists_almost_nothing():
    """Every pair null: BH at level FDR lists anything at all in at most FDR of the cities
    (the complete null); over 40 cities allow at most 10% — measured 0 (bench: 1000 seeds)."""
    listed = []
    for seed in range(1000, 1040):
        c = problem_city.city(seed)
        listed.append(common_problems(c.now, c.before, c.compounds, false_discovery_rate=FDR).height)
    assert sum(h > 0 for h in listed) <= 4, listed
    # and the same cities do have pairs a z ≥ 2 rule would have listed (the old behaviour)
    c = problem_city.city(1000)
    t = problem_family(c.now, c.before, c.compounds)
    assert t.filter(pl.col("_eligible") & (pl.col("p_value") < 0.023)).height > 0


def _report(city, out, problems):
    from reports.analyst import render_report
    from tests.reports.conftest import AS_OF

    empty = pl.DataFrame({"source": ["police"], "files": [1]})
    path = render_report(out, as_of=AS_OF, ratings=city["ratings"], trend=city["trend"],
                         changes=city["changes"], explanations=city["explanations"], quality=empty,
                         match_rates=empty, review_size=0, problems=problems)
    html = path.read_text(encoding="utf-8")
    return html[html.index('<section id="problems">'):html.index("</section>", html.index('<section id="problems">'))]


def test_the_report_states_the_method_and_the_map_shows_the_same_list(city, tmp_path):
    """The test city has two planted problems (tests/reports/conftest.py) and chance
    elsewhere: the report lists what passes the level, the hotspot layer the same rows."""
    import json
    import re

    from reports.map_layer import build_features, write_map_layers

    cfg = load_rules().common_problems
    probs = common_problems(city["stats_cur"], city["stats_prev"], city["compounds"],
                            false_discovery_rate=cfg.false_discovery_rate)
    assert probs.height >= 2 and (probs["q_value"] <= cfg.false_discovery_rate).all()
    section = _report(city, tmp_path / "report", probs)
    for words in ("精确二项检验", "本杰明尼–霍赫伯格法", f"q 值不超过 {cfg.false_discovery_rate:.0%}",
                  "上期", "全市该类占比", f"{cfg.confidence:.0%} 精确置信区间"):
        assert words in section, words
    rows = re.findall(r'data-problem="([^"]+)"', section)
    assert rows == [f"{r['kind']}|{r['level']}|{r['region']}|{r['group']}" for r in probs.iter_rows(named=True)]
    # effect and interval beside q; no change shown that is none ("45 → 45")
    assert section.count("data-effect") == probs.height
    for before, now in re.findall(r"([\d,]+) → ([\d,]+)", section):
        assert before != now
    # a q-value too small for three decimals never reads as 0
    assert "0.000<" not in section and "&lt; 0.001" in section
    feats = build_features(city["compounds"], city["polygons"], city["ratings"], leading_group(city["stats_cur"]))
    write_map_layers(tmp_path / "map", feats, probs, city["outlines"])
    hot = json.loads((tmp_path / "map" / "hotspots.geojson").read_text(encoding="utf-8"))["features"]
    assert [f"{h['properties']['kind']}|{h['properties']['level']}|{h['properties']['region']}|"
            f"{h['properties']['group']}" for h in hot] == rows


def test_the_report_says_plainly_when_nothing_passes(city, tmp_path):
    probs = common_problems(city["stats_prev"], city["stats_prev"], city["compounds"])
    assert probs.height == 0
    section = _report(city, tmp_path, probs)
    assert "本期没有问题达到通报整治标准" in section and "<table" not in section


def test_an_empty_earlier_period_is_no_baseline(comp):
    counts = _baseline(comp)
    out = common_problems(_stats(counts, NOW), _stats({}, BEFORE), comp)
    assert "rising" not in set(out["kind"])  # nothing "rose from 0" everywhere
