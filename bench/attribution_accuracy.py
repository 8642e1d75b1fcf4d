"""Attribution accuracy on a generated demo city, against its truth/records.parquet.

    python -m generator --out /tmp/city            # the demo-city generator
    python -m bench.attribution_accuracy /tmp/city

Reads the source exports only as far as attribution needs (ids, address, coordinates,
coordinate system, explicit compound id) through each folder's mapping.yaml — a stand-in
for the ingestion stage, good enough to measure placement — then attributes every good
record (no planted bad row) and compares with the compound it was generated for.
"""
from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import time
from pathlib import Path

import polars as pl
import yaml

from attribution.attribute import attribute_events
from attribution.quality import match_rates
from geo.polygons import CompoundPolygons
from schemas.registry import Compound

KEEP = ["record_id", "address", "lon", "lat", "coord_sys", "compound_id"]


def _read_table(path: Path, spec: dict) -> pl.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        data = path.read_bytes()
        enc = spec.get("encoding", "auto")
        for e in ([enc] if enc not in ("auto", None) else ["utf-8-sig", "gb18030"]):
            try:
                text = data.decode({"utf-8": "utf-8-sig"}.get(e, e))
                break
            except UnicodeDecodeError:
                continue
        return pl.read_csv(text.encode("utf-8"), infer_schema=False, truncate_ragged_lines=True)
    if suffix == ".xlsx":
        sheet = spec.get("sheet", 0)
        kw = {"sheet_id": sheet + 1} if isinstance(sheet, int) else {"sheet_name": sheet}
        return pl.read_excel(path, infer_schema_length=0, **kw)
    if suffix == ".jsonl":
        return pl.read_ndjson(path, infer_schema_length=None).select(pl.all().cast(pl.String))
    raise ValueError(f"unsupported file {path}")


def read_sources(city: Path) -> pl.DataFrame:
    """source, file, line, record_id, address, lon, lat, coord_sys, compound_id (strings/floats)."""
    frames = []
    for folder in sorted((city / "sources").iterdir()):
        mapping = yaml.safe_load((folder / "mapping.yaml").read_text(encoding="utf-8"))
        for path in sorted(folder.iterdir()):
            if path.name == "mapping.yaml":
                continue
            spec = dict(mapping)
            for entry in mapping.get("files") or []:
                if fnmatch.fnmatch(path.name, entry["pattern"]):
                    spec.update({k: v for k, v in entry.items() if k != "pattern"})
                    break
            raw = _read_table(path, spec).with_row_index("line", offset=1)
            cols = {h: c for h, c in spec["columns"].items() if h in raw.columns and c in KEEP}
            df = raw.select(pl.col("line").cast(pl.Int64), *[pl.col(h).cast(pl.String).alias(c) for h, c in cols.items()])
            for c in KEEP:
                if c not in df.columns:
                    df = df.with_columns(pl.lit(spec.get("coord_sys", "WGS84") if c == "coord_sys" else None,
                                                dtype=pl.String).alias(c))
            frames.append(df.select(
                pl.lit(folder.name).alias("source"), pl.lit(path.name).alias("file"), "line",
                "record_id", "address",
                pl.col("lon").str.strip_chars().cast(pl.Float64, strict=False),
                pl.col("lat").str.strip_chars().cast(pl.Float64, strict=False),
                pl.col("coord_sys").fill_null(spec.get("coord_sys", "WGS84")),
                pl.col("compound_id").replace("", None),
            ))
    return pl.concat(frames)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("city", type=Path)
    ap.add_argument("--radius", type=float, default=100.0)
    ap.add_argument("--threshold", type=float, default=85.0)
    args = ap.parse_args(argv)

    truth = pl.read_parquet(args.city / "truth" / "records.parquet")
    records = read_sources(args.city).join(
        truth.select("source", "file", "line", pl.col("compound_id").alias("true_id"), "coord_kind", "bad_reason"),
        on=["source", "file", "line"], how="inner",
    ).filter(pl.col("bad_reason").is_null()).drop("bad_reason")
    events = records.with_columns(
        pl.format("{}:{}", "source", "record_id").alias("event_id"),
        pl.lit("x").alias("category_code"), pl.lit("x").alias("category_group"),
        pl.lit(dt.datetime(2026, 1, 1)).alias("occurred_at"), pl.lit(None, pl.String).alias("police_case_no"),
        pl.format("{}:{}", "source", "record_id").alias("linked_records"), pl.lit(1, pl.Int32).alias("n_records"),
    ).unique("event_id", keep="first", maintain_order=True)

    compounds = Compound.validate(pl.read_csv(args.city / "compounds.csv", infer_schema=False))
    t, cpu = time.perf_counter(), time.process_time()
    polygons = CompoundPolygons.from_geojson(args.city / "compounds.geojson")
    att, review = attribute_events(events, compounds, polygons, radius_m=args.radius, fuzzy_threshold=args.threshold)
    secs, cpu = time.perf_counter() - t, time.process_time() - cpu

    res = att.select("event_id", "compound_id", "method", "needs_review").join(
        events.select("event_id", "source", "true_id", "coord_kind", "address",
                      pl.col("compound_id").is_not_null().alias("has_explicit")), on="event_id")
    res = res.with_columns(
        pl.when(pl.col("coord_kind") != "none").then(pl.lit("with coordinates")).otherwise(pl.lit("address only")).alias("kind"),
        (pl.col("compound_id") == pl.col("true_id")).fill_null(False).alias("correct"),
        (pl.col("compound_id").is_not_null() & (pl.col("compound_id") != pl.col("true_id"))).alias("wrong"),
    )
    print(f"# attribution accuracy — {args.city} ({events.height:,} good records, {secs:.1f} s wall, {cpu:.1f} s CPU incl. polygon load)")
    print(f"truth compound missing for {res['true_id'].is_null().sum()} records")
    summary = res.group_by("kind").agg(
        pl.len().alias("records"), pl.col("correct").mean().alias("correct"), pl.col("wrong").mean().alias("wrong"),
        pl.col("compound_id").is_null().mean().alias("unplaced"),
        pl.col("needs_review").mean().alias("to_review"),
    ).sort("kind")
    no_explicit = res.filter(~pl.col("has_explicit")).group_by("kind").agg(
        pl.len().alias("records"), pl.col("correct").mean().alias("correct"), pl.col("wrong").mean().alias("wrong"),
    ).sort("kind")
    with pl.Config(tbl_rows=40, tbl_cols=20, fmt_str_lengths=60, tbl_width_chars=200, float_precision=4):
        print(summary)
        print("without an explicit compound id from the department:")
        print(no_explicit)
        print(res.group_by("kind", "method").agg(pl.len(), pl.col("correct").mean()).sort("kind", "method"))
        print(match_rates(att))
        print("wrong placements (sample):")
        print(res.filter(pl.col("wrong")).select("source", "kind", "method", "address", "compound_id", "true_id").head(15))
        print("unplaced (sample):")
        print(res.filter(pl.col("compound_id").is_null()).select("source", "kind", "address", "true_id").head(15))
        print(f"review queue: {review.height:,} items; reasons: {review['reason'].value_counts().rows()}")
        in_cands = review.join(events.select("event_id", "true_id"), on="event_id").select(
            pl.col("candidates").fill_null("").str.contains(pl.col("true_id"), literal=True).mean()
        ).item()
        print(f"review items whose candidates include the true compound: {in_cands:.1%}")
        why = res.filter(pl.col("compound_id").is_null()).join(
            att.select("event_id"), on="event_id").height
        print(f"unplaced records: {why:,}")


if __name__ == "__main__":
    main()
