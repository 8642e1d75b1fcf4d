"""Calibrate the default rules on a generated demo city (ground-truth attribution).

    python -m generator --out /tmp/score_city          # in the generator's checkout
    python -m bench.scoring_calibrate /tmp/score_city [--scale 12 --t5 90 ...]

Builds crude attributed events from `truth/records.parquet` (true compound ids; one
incident per incident_id at its most final record: court > procuratorate > police;
revoked and bad rows dropped), scores both rating dates with config/rules.yaml (or the
overrides given), and prints the five-star share overall and per district, the status
counts, and agreement with `truth/expected_status.parquet`.
"""
from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import polars as pl

from scoring.engine import score
from scoring.rules import Rules, load_rules

FINALITY = {"court": 0, "procuratorate": 1, "police": 2, "justice": 3, "petition": 4}


def truth_events(city: Path, rules: Rules) -> pl.DataFrame:
    """AttributedEvent-shaped incidents from the generator's ground truth."""
    r = pl.read_parquet(city / "truth" / "records.parquet")
    r = r.filter(pl.col("bad_reason").is_null() & ~pl.col("revoked") & pl.col("compound_id").is_not_null()
                 & pl.col("category_code").is_not_null())
    inc = (
        r.with_columns(pl.col("source").replace_strict(FINALITY, default=9).alias("_f"))
        .sort("incident_id", "_f")
        .group_by("incident_id", maintain_order=True)
        .agg(pl.all().first(), pl.format("{}:{}", "source", "record_id").str.join("|").alias("linked_records"),
             pl.len().cast(pl.Int32).alias("n_records"))
    )
    return inc.select(
        pl.format("{}:{}", "source", "record_id").alias("event_id"), "source", "record_id", "category_code",
        pl.col("category_code").replace_strict(rules.taxonomy_groups, default="其他").alias("category_group"),
        "occurred_at", pl.lit(None, dtype=pl.String).alias("address"),
        pl.lit(None, dtype=pl.Float64).alias("lon"), pl.lit(None, dtype=pl.Float64).alias("lat"),
        pl.lit("WGS84").alias("coord_sys"), "compound_id", pl.lit(None, dtype=pl.String).alias("police_case_no"),
        "linked_records", "n_records", pl.lit(None, dtype=pl.Float64).alias("lon_wgs84"),
        pl.lit(None, dtype=pl.Float64).alias("lat_wgs84"), pl.lit("explicit").alias("method"),
        pl.lit(1.0).alias("confidence"), pl.lit(False).alias("needs_review"),
    )


def registry(city: Path) -> pl.DataFrame:
    return pl.read_csv(city / "compounds.csv", infer_schema_length=0).with_columns(
        pl.col("households", "population").cast(pl.Int64, strict=False),
        pl.col("lon", "lat").cast(pl.Float64, strict=False),
    )


def report(ratings: pl.DataFrame) -> dict:
    """Five-star shares (of all compounds) overall and per district, and status counts."""
    five = (pl.col("stars") == 5).mean()
    per = ratings.group_by("district").agg(five.alias("five_share"), pl.len().alias("n")).sort("district")
    return {
        "five_share": ratings.select(five).item(),
        "by_district": {d: round(s, 3) for d, s, _ in per.iter_rows()},
        "status": dict(ratings["status"].value_counts().sort("status").iter_rows()),
        "stars": dict(ratings["stars"].value_counts().sort("stars").iter_rows()),
    }


def with_overrides(rules: Rules, a: argparse.Namespace) -> Rules:
    upd = {}
    if a.scale:
        upd["index"] = rules.index.model_copy(update={"scale_per_1000": a.scale})
    if a.m:
        upd["shrinkage"] = rules.shrinkage.model_copy(update={"strength_residents": a.m})
    if a.t:
        upd["stars"] = rules.stars.model_copy(update={"thresholds": dict(zip((5, 4, 3, 2), a.t, strict=True))})
    return rules.model_copy(update=upd)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("city", type=Path)
    ap.add_argument("--scale", type=float)
    ap.add_argument("--m", type=float)
    ap.add_argument("--t", type=float, nargs=4, metavar=("T5", "T4", "T3", "T2"))
    a = ap.parse_args()
    rules = with_overrides(load_rules(), a)
    meta = json.loads((a.city / "city.json").read_text(encoding="utf-8"))
    comp, ev = registry(a.city), truth_events(a.city, rules)
    expected = pl.read_parquet(a.city / "truth" / "expected_status.parquet")
    for key in ("first_as_of", "second_as_of"):
        as_of = date.fromisoformat(meta[key])
        res = score(comp, ev, rules, as_of)
        rep = report(res.ratings)
        agree = res.ratings.join(expected.filter(pl.col("as_of") == as_of), on="compound_id", suffix="_t")
        rep["status_agrees_with_truth"] = round(agree.select((pl.col("status") == pl.col("status_t")).mean()).item(), 4)
        rep["index_quantiles"] = [round(res.ratings["safety_index"].quantile(q), 1) for q in (0.1, 0.25, 0.5, 0.75, 0.9)]
        print(as_of, json.dumps(rep, ensure_ascii=False))


if __name__ == "__main__":
    main()
