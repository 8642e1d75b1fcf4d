"""Benchmark: `scoring.engine.score` vs a straightforward pandas version of the same formula.

    python -m bench.scoring_bench [--events 10000000] [--compounds 100000] [--data DIR]

Synthetic data (seeded): compounds in 600 streets of 6 districts, incidents over 14 months
(some outside the window, some unplaced or excluded) with realistic category frequencies.
Each implementation runs in its own child process, so peak RSS (VmHWM) is its own and
includes the input frames; the time excludes reading the parquet files. The pandas version computes ratings only
(index, stars, veto, downgrade), like `scoring.engine.rate`; `score` also builds the
explanations and lift forecasts. All results are compared (index to 1e-9, stars, status,
rules) before figures are shown. Each implementation runs `--repeat` times, interleaved;
the best time counts (the machine may be shared).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl

AS_OF = date(2026, 6, 30)
CATEGORY_MIX = {  # rough relative frequencies of incident types in a city's records
    "theft": 20, "ebike_theft": 10, "telecom_fraud": 12, "fraud": 4, "noise": 12, "neighbour_dispute": 10,
    "family_dispute": 6, "property_dispute": 8, "fighting": 3, "provocation": 1, "assault": 1.5,
    "domestic_violence": 1, "burglary": 1.5, "pickpocketing": 2, "snatching": 0.3, "gambling": 0.3,
    "drugs": 0.3, "prostitution": 0.2, "fraud_den": 0.02, "robbery": 0.05, "homicide": 0.002,
    "serious_assault": 0.01, "rape": 0.005, "arson": 0.005, "community_correction": 1,
    "resettlement": 0.5, "petition_security": 1, "petition_property": 2, "petition_neighbour": 1,
    "petition_mass": 0.2, "petition_other": 1,
}


def make_data(out: Path, n_events: int, n_compounds: int, seed: int = 7) -> None:
    """Write compounds.parquet and events.parquet (AttributedEvent layout) under `out`."""
    from scoring.rules import load_rules

    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    street = rng.integers(0, 600, n_compounds)
    pop = rng.lognormal(7.3, 0.8, n_compounds).astype(np.int64)
    has_pop = rng.random(n_compounds) > 0.05
    has_hh = rng.random(n_compounds) > 0.02
    comp = pl.DataFrame({
        "compound_id": [f"XM{i:06d}" for i in range(n_compounds)],
        "name": [f"小区{i}" for i in range(n_compounds)],
        "aliases": pl.Series([None] * n_compounds, dtype=pl.String),
        "district": [f"D{s % 6}" for s in street], "district_code": pl.Series([None] * n_compounds, dtype=pl.String),
        "street": [f"S{s}" for s in street], "community": pl.Series([None] * n_compounds, dtype=pl.String),
        "grid_code": pl.Series([None] * n_compounds, dtype=pl.String), "address": pl.Series([None] * n_compounds, dtype=pl.String),
        "households": pl.Series(np.where(has_hh, pop // 3, -1)).replace(-1, None),
        "population": pl.Series(np.where(has_pop, pop, -1)).replace(-1, None),
        "lon": np.full(n_compounds, 118.1), "lat": np.full(n_compounds, 24.5), "coord_sys": ["WGS84"] * n_compounds,
    })
    comp.write_parquet(out / "compounds.parquet")

    rules = load_rules()
    codes = list(CATEGORY_MIX)
    p = np.array(list(CATEGORY_MIX.values()))
    cat = rng.choice(len(codes), n_events, p=p / p.sum())
    # Busier compounds get more incidents: weight by population times a skew factor.
    w = pop * rng.gamma(0.7, 1.0, n_compounds)
    cidx = rng.choice(n_compounds, n_events, p=w / w.sum())
    start = datetime(2025, 5, 1)
    secs = rng.integers(0, int((datetime(2026, 7, 10) - start).total_seconds()), n_events)
    method = rng.choice(np.array(["explicit", "polygon", "address", "nearest", "excluded", "unmatched"]),
                        n_events, p=[0.35, 0.35, 0.15, 0.1, 0.01, 0.04])
    source = rng.choice(np.array(["police", "procuratorate", "court", "justice", "petition"]),
                        n_events, p=[0.7, 0.03, 0.1, 0.07, 0.1])
    groups = {c: rules.taxonomy_groups[c] for c in codes}
    ev = pl.DataFrame({
        "i": np.arange(n_events), "source": source, "cat": cat, "cidx": cidx, "secs": secs, "method": method,
    }).select(
        pl.format("{}:{}", "source", "i").alias("event_id"), "source",
        pl.col("i").cast(pl.String).alias("record_id"),
        pl.col("cat").replace_strict(dict(enumerate(codes)), return_dtype=pl.String).alias("category_code"),
        pl.col("cat").replace_strict({i: groups[c] for i, c in enumerate(codes)}, return_dtype=pl.String).alias("category_group"),
        (pl.lit(start) + pl.duration(seconds=pl.col("secs"))).alias("occurred_at"),
        pl.lit(None, dtype=pl.String).alias("address"),
        pl.lit(118.1).alias("lon"), pl.lit(24.5).alias("lat"), pl.lit("WGS84").alias("coord_sys"),
        pl.when(pl.col("method") == "unmatched").then(None)
        .otherwise(pl.format("XM{}", pl.col("cidx").cast(pl.String).str.zfill(6))).alias("compound_id"),
        pl.lit(None, dtype=pl.String).alias("police_case_no"),
        pl.format("{}:{}", "source", "i").alias("linked_records"),
        pl.lit(1, dtype=pl.Int32).alias("n_records"),
        pl.lit(118.1).alias("lon_wgs84"), pl.lit(24.5).alias("lat_wgs84"),
        "method", pl.lit(0.9).alias("confidence"), pl.lit(False).alias("needs_review"),
    )
    ev.write_parquet(out / "events.parquet")


def run_polars(data: Path, full: bool) -> tuple[float, pl.DataFrame]:
    from scoring.engine import rate, score
    from scoring.rules import load_rules

    comp = pl.read_parquet(data / "compounds.parquet")
    ev = pl.read_parquet(data / "events.parquet")
    rules = load_rules()
    t = time.perf_counter()
    if full:
        res = score(comp, ev, rules, AS_OF)
        ratings = res.ratings
        print(f"  score: {ratings.height} ratings, {res.explanations.height} explanation rows", file=sys.stderr)
    else:
        ratings = rate(comp, ev, rules, AS_OF)
    dt = time.perf_counter() - t
    return dt, ratings.select("compound_id", "safety_index", "stars", "status", "rules")


def run_pandas(data: Path) -> tuple[float, pl.DataFrame]:
    """The same formula written the straightforward pandas way (vectorised, no row loops)."""
    import pandas as pd

    from scoring.rules import load_rules

    comp = pd.read_parquet(data / "compounds.parquet")
    ev = pd.read_parquet(data / "events.parquet")
    rules = load_rules()
    t = time.perf_counter()
    as_of = pd.Timestamp(AS_OF)
    start = pd.Timestamp(AS_OF) - pd.DateOffset(months=rules.window.months)
    ev = ev[ev["compound_id"].notna() & (ev["method"] != "excluded")].copy()
    ev["day"] = ev["occurred_at"].dt.normalize()
    ev = ev[(ev["day"] > start) & (ev["day"] <= as_of)]
    ev = ev[ev["compound_id"].isin(comp["compound_id"])]
    age = (as_of - ev["day"]).dt.days
    ev["weight"] = ev["category_code"].map(rules.categories).fillna(1.0) * 0.5 ** (age / rules.window.half_life_days)
    harm = ev.groupby("compound_id")["weight"].sum()

    c = comp[["compound_id", "district", "street", "population", "households"]].copy()
    pop = c["population"].astype("float64")
    hh = c["households"].astype("float64") * rules.population.persons_per_household
    expo = pop.where(pop > 0, hh.where(hh > 0))
    c["exposure"] = expo.where(expo >= rules.sufficiency.min_exposure_residents)
    c["harm"] = c["compound_id"].map(harm).fillna(0.0)
    rated = c["exposure"].notna()
    c["h_r"] = c["harm"].where(rated, 0.0)
    c["n_r"] = c["exposure"].fillna(0.0)
    city = c["h_r"].sum() / c["n_r"].sum() if c["n_r"].sum() > 0 else 0.0
    if rules.shrinkage.prior == "street":
        g = c.groupby(["district", "street"])
        prior = g["h_r"].transform("sum") / g["n_r"].transform("sum")
        prior = prior.where(np.isfinite(prior), city)
    else:
        prior = pd.Series(city, index=c.index)
    r5 = rules.rate_threshold(5) / 1000.0
    m = rules.shrinkage.strength_residents
    c["prior_used"] = np.minimum(prior, r5)
    c["rate"] = 1000.0 * (c["harm"] + m * c["prior_used"]) / (c["exposure"] + m)
    c["safety_index"] = 100.0 * np.exp(-c["rate"] / rules.index.scale_per_1000)
    istars = pd.Series(1, index=c.index)
    for k in (2, 3, 4, 5):
        istars += (c["rate"] <= rules.rate_threshold(k)).astype(int)

    jan1 = pd.Timestamp(AS_OF.year, 1, 1)
    veto = ev[ev["category_code"].isin(list(rules.veto_set)) & (ev["day"] >= jan1)][["compound_id", "category_code"]]
    veto = veto.drop_duplicates().assign(rule="veto:" + veto["category_code"].astype(str), steps=0)
    kind_of = rules.downgrade_kind_of
    down = ev[ev["category_code"].isin(list(kind_of))][["compound_id", "category_code"]].copy()
    down["kind"] = down["category_code"].map(kind_of)
    down = down[["compound_id", "kind"]].drop_duplicates()
    down = down.assign(rule="downgrade:" + down["kind"].astype(str),
                       steps=down["kind"].map({k: v.steps for k, v in rules.downgrade.items()}))
    fired = pd.concat([veto[["compound_id", "rule", "steps"]], down[["compound_id", "rule", "steps"]]])
    fired = fired.sort_values(["compound_id", "rule"])
    per = fired.groupby("compound_id").agg(rules=("rule", "|".join), steps=("steps", "sum"))
    per["vetoed"] = fired[fired["rule"].str.startswith("veto:")].groupby("compound_id").size() > 0
    c = c.join(per, on="compound_id")
    c["steps"] = c["steps"].fillna(0)
    vetoed = c["vetoed"].fillna(False).astype(bool)
    status = np.where(~rated, "not_rated", np.where(vetoed, "vetoed", np.where(c["rules"].notna(), "downgraded", "rated")))
    stars = np.maximum(istars - c["steps"], rules.stars.floor)
    c["stars"] = np.where((status == "not_rated") | (status == "vetoed"), 0, stars).astype("int8")
    c["status"] = status
    out = c[["compound_id", "safety_index", "stars", "status", "rules"]]
    dt = time.perf_counter() - t
    return dt, pl.from_pandas(out)


def _vm(field: str) -> float:
    """A memory figure of this process in MB from /proc/self/status (VmHWM = peak RSS).

    Unlike ru_maxrss, VmHWM starts afresh with the child's own address space.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(impl: str, data: Path, out: Path) -> None:
    rss0 = _vm("VmHWM")
    dt, ratings = run_pandas(data) if impl == "pandas" else run_polars(data, full=impl == "score")
    peak = _vm("VmHWM")
    ratings.write_parquet(out)
    print(json.dumps({"impl": impl, "seconds": dt, "peak_rss_mb": peak, "start_rss_mb": rss0}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--compounds", type=int, default=100_000)
    ap.add_argument("--data", type=Path, default=Path("/tmp/safestar_scoring_bench"))
    ap.add_argument("--repeat", type=int, default=2, help="runs of each, interleaved; the best time counts")
    ap.add_argument("--child", choices=["score", "rate", "pandas"], help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child, a.data, a.out)
        return
    tag = a.data / f"{a.events}_{a.compounds}"
    if not (tag / "events.parquet").exists():
        t = time.perf_counter()
        make_data(tag, a.events, a.compounds)
        print(f"generated {a.events:,} incidents over {a.compounds:,} compounds in {time.perf_counter() - t:.1f}s",
              file=sys.stderr)
    impls = ("score", "rate", "pandas")
    runs: dict[str, list[dict]] = {i: [] for i in impls}
    for _ in range(a.repeat):  # interleaved, so a burst of load on a shared machine hits all
        for impl in impls:
            out = tag / f"ratings_{impl}.parquet"
            p = subprocess.run([sys.executable, "-m", "bench.scoring_bench", "--child", impl, "--data", str(tag),
                                "--out", str(out)], capture_output=True, text=True, check=True)
            sys.stderr.write(p.stderr)
            runs[impl].append(json.loads(p.stdout.strip().splitlines()[-1]))
    frames = {i: pl.read_parquet(tag / f"ratings_{i}.parquet").sort("compound_id") for i in impls}
    same = all(_same(frames["pandas"], frames[i]) for i in ("score", "rate"))
    print(f"{a.events:,} incidents, {a.compounds:,} compounds, as_of {AS_OF}; results identical: {same}")
    print(f"{'impl':28} {'best s':>7} {'all runs s':>16} {'peak RSS MB':>12} {'RSS at start MB':>16}")
    label = {"score": "polars score (+explanations)", "rate": "polars rate (ratings only)", "pandas": "pandas (ratings only)"}
    best = {i: min(r["seconds"] for r in rs) for i, rs in runs.items()}
    for impl, rs in runs.items():
        secs = " ".join(f"{r['seconds']:.2f}" for r in rs)
        print(f"{label[impl]:28} {best[impl]:7.2f} {secs:>16} {max(r['peak_rss_mb'] for r in rs):12.0f} "
              f"{rs[0]['start_rss_mb']:16.0f}")
    print(f"load average after the runs: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(f"speed-up vs pandas: rate {best['pandas'] / best['rate']:.1f}x (same outputs), "
          f"score {best['pandas'] / best['score']:.1f}x (score also builds explanations and lift forecasts)")
    if not same:
        sys.exit("implementations disagree")


def _same(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    """Ratings agree: index to 1e-9, nulls in the same places, stars, status and rules."""
    close = ((a["safety_index"] - b["safety_index"]).abs().fill_null(0) < 1e-9).all()
    nulls = a["safety_index"].is_null().equals(b["safety_index"].is_null())
    return bool(close and nulls and a["stars"].cast(pl.Int8).equals(b["stars"].cast(pl.Int8))
                and a["status"].equals(b["status"]) and a["rules"].fill_null("").equals(b["rules"].fill_null("")))


if __name__ == "__main__":
    main()
