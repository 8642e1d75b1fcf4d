"""Are the sources complete enough to publish a rating date? Per source: records in a recent
window against the source's trailing level, and landing files rejected as unreadable.

Pure functions (no Dagster): `COUNTS_SQL` counts in DuckDB, `source_completeness` judges the
counts with the thresholds of config/rules.yaml (`sources:`) and the analysts'
acknowledgements of known outages (DATA_DIR/decisions/source_outages.csv, `split_outages`).
"""
from __future__ import annotations

from datetime import date, timedelta

import pandera.errors
import polars as pl
from pandera.typing.polars import DataFrame

from schemas.decisions import SourceOutage
from schemas.events import SOURCES
from scoring.rules import SourceChecks

PROBLEMS = ["empty", "stale", "low_volume", "rejected_file", "no_records_at_all"]
OUTAGES_FILE = "source_outages.csv"
MAX_ERROR = 160  # characters of a reader's error quoted in the one-line message

# Per source (the `windows` relation: source, end_ts, recent_start, trailing_start), the
# records up to the rating date, in the recent window, in the trailing window before it, and
# the first record's time (a source younger than the trailing window has a shorter level).
COUNTS_SQL = """
SELECT w.source,
       count(r.source) AS total,
       count(r.source) FILTER (WHERE r.occurred_at >= w.recent_start) AS recent,
       count(r.source) FILTER (WHERE r.occurred_at >= w.trailing_start AND r.occurred_at < w.recent_start) AS trailing,
       min(r.occurred_at) AS first_at
FROM windows w
LEFT JOIN raw.case_records r ON r.source = w.source AND r.occurred_at < w.end_ts
GROUP BY w.source
"""


def windows(checks: SourceChecks, as_of: date) -> pl.DataFrame:
    """Each source's recent and trailing windows for the rating date (the `windows` of COUNTS_SQL)."""
    rows = []
    for source in SOURCES:
        own = checks.for_source(source)
        recent_start = as_of + timedelta(days=1) - timedelta(days=own.recent_days)
        rows.append({
            "source": source, "end_ts": as_of + timedelta(days=1), "recent_start": recent_start,
            "trailing_start": recent_start - timedelta(days=own.trailing_days),
        })
    return pl.DataFrame(rows).with_columns(pl.col("end_ts", "recent_start", "trailing_start").cast(pl.Datetime("us")))


def split_outages(df: pl.DataFrame | None) -> tuple[DataFrame[SourceOutage], pl.DataFrame]:
    """Acknowledgements that pass the SourceOutage model, and the unusable rows with a
    `reason` each (reported, never applied)."""
    empty = pl.DataFrame(schema={"source": pl.String, "from": pl.Date, "to": pl.Date, "who": pl.String,
                                 "when": pl.Datetime("us"), "why": pl.String})
    if df is None or df.is_empty():
        return empty, pl.DataFrame(schema={"row": pl.UInt32, "reason": pl.String})
    absent = [c for c in ("source", "from", "to", "who", "when", "why") if c not in df.columns]
    if absent:
        bad = pl.DataFrame({"row": pl.Series(range(1, df.height + 1), dtype=pl.UInt32)}).with_columns(
            pl.lit(f"{OUTAGES_FILE} has no column(s) {', '.join(absent)}").alias("reason"))
        return empty, bad

    def text(c: str) -> pl.Expr:
        return pl.col(c).cast(pl.String).str.strip_chars().replace("", None)

    rows = df.select(
        text("source").str.to_lowercase().alias("source"),
        text("from").str.to_date(strict=False).alias("from"),
        text("to").str.to_date(strict=False).alias("to"),
        text("who").alias("who"),
        text("when").str.to_datetime(strict=False, time_unit="us").alias("when"),
        text("why").alias("why"),
    ).with_row_index("row", offset=1)
    reason = (
        pl.when(~pl.col("source").is_in(SOURCES) | pl.col("source").is_null())
        .then(pl.format("source {} is not one of " + "/".join(SOURCES), pl.col("source").fill_null("(empty)")))
        .when(pl.col("from").is_null() | pl.col("to").is_null()).then(pl.lit("from/to must be dates YYYY-MM-DD"))
        .when(pl.col("to") < pl.col("from")).then(pl.lit("to is before from"))
        .when(pl.col("who").is_null()).then(pl.lit("who is empty: name the analyst"))
        .when(pl.col("when").is_null()).then(pl.lit("when is missing or not a date-time"))
        .when(pl.col("why").is_null()).then(pl.lit("why is empty: say what the outage is"))
    )
    rows = rows.with_columns(reason.alias("reason"))
    good = rows.filter(pl.col("reason").is_null()).drop("row", "reason")
    try:
        good = SourceOutage.validate(good)
    except pandera.errors.SchemaError as exc:  # the checks above mirror the model
        raise ValueError(f"{OUTAGES_FILE}: {exc}") from exc
    return good, rows.filter(pl.col("reason").is_not_null()).select("row", "reason")


def source_completeness(counts: pl.DataFrame, rejected: pl.DataFrame, outages: pl.DataFrame,
                        checks: SourceChecks, as_of: date) -> pl.DataFrame:
    """One row per source: the counts, the expected recent count from the trailing level, the
    problem (null when complete), a one-line `detail` naming the source and what to do,
    whether an analyst acknowledged it, and whether it `blocks` publication.

    `counts`: rows of COUNTS_SQL; `rejected`: source, file, error of the landing files
    rejected on this run; `outages`: valid acknowledgements (`split_outages`)."""
    by_source = {r["source"]: r for r in counts.iter_rows(named=True)}
    nothing_at_all = sum(int(r["total"] or 0) for r in by_source.values()) == 0
    acks = outages.filter((pl.col("from") <= as_of) & (pl.col("to") >= as_of))
    rows = []
    for source in SOURCES:
        own = checks.for_source(source)
        c = by_source.get(source, {})
        total, recent, trailing = int(c.get("total") or 0), int(c.get("recent") or 0), int(c.get("trailing") or 0)
        recent_start = as_of + timedelta(days=1) - timedelta(days=own.recent_days)
        first = c.get("first_at")
        span = own.trailing_days if first is None else min(own.trailing_days, max(0, (recent_start - first.date()).days))
        expected = trailing * own.recent_days / span if span > 0 else 0.0
        files = rejected.filter(pl.col("source") == source)
        where = f"DATA_DIR/sources/{source}/"
        problem, detail = None, None
        if nothing_at_all:
            problem = "no_records_at_all"
            detail = (f"no source has any record up to {as_of}: a first run with no records never publishes; "
                      f"put the departments' exports in DATA_DIR/sources/<source>/")
        elif files.height:
            problem = "rejected_file"
            error = " ".join(str(files["error"][0] or "").split())  # one line, whatever the reader said
            error = error if len(error) <= MAX_ERROR else error[:MAX_ERROR - 1] + "…"
            detail = (f"source {source}: {files.height} landing file(s) rejected as unreadable "
                      f"({files['file'][0]}: {error}); fix or replace the file in {where} or its mapping.yaml")
        elif total == 0:
            problem = "empty"
            detail = f"source {source}: no records at all up to {as_of}; put its exports in {where}"
        elif recent == 0 and expected >= own.min_expected:
            problem = "stale"
            detail = (f"source {source}: no records in the {own.recent_days} days up to {as_of} "
                      f"(about {expected:.0f} expected from its trailing {span} days); add its latest export to {where}")
        elif expected >= own.min_expected and recent < own.min_volume_ratio * expected:
            problem = "low_volume"
            detail = (f"source {source}: {recent} records in the {own.recent_days} days up to {as_of}, "
                      f"far below the {expected:.0f} its trailing {span} days predict; check that its export in {where} is complete")
        ack = acks.filter(pl.col("source") == source).sort("when").tail(1)
        acknowledged = problem is not None and problem != "no_records_at_all" and ack.height == 1
        rows.append({
            "as_of": as_of, "source": source, "records_total": total, "recent_days": own.recent_days,
            "records_recent": recent, "expected_recent": round(expected, 1), "problem": problem, "detail": detail,
            "acknowledged": acknowledged,
            "ack_who": ack["who"][0] if acknowledged else None,
            "ack_when": ack["when"][0] if acknowledged else None,
            "ack_why": ack["why"][0] if acknowledged else None,
            "ack_from": ack["from"][0] if acknowledged else None,
            "ack_to": ack["to"][0] if acknowledged else None,
            "blocks": problem is not None and not acknowledged,
        })
    return pl.DataFrame(rows, schema={
        "as_of": pl.Date, "source": pl.String, "records_total": pl.Int64, "recent_days": pl.Int64,
        "records_recent": pl.Int64, "expected_recent": pl.Float64, "problem": pl.String, "detail": pl.String,
        "acknowledged": pl.Boolean, "ack_who": pl.String, "ack_when": pl.Datetime("us"), "ack_why": pl.String,
        "ack_from": pl.Date, "ack_to": pl.Date, "blocks": pl.Boolean,
    })


def blocking_message(verdict: pl.DataFrame, as_of: date) -> str:
    """One line: why the rating date is not published, and what to do."""
    blocking = verdict.filter(pl.col("blocks"))
    if blocking.is_empty():
        return ""
    if (blocking["problem"] == "no_records_at_all").any():
        return f"nothing published for {as_of}: {blocking['detail'][0]}"
    return (f"nothing published for {as_of}: " + "; ".join(blocking["detail"].to_list())
            + f"; or, for a known outage, acknowledge it in DATA_DIR/decisions/{OUTAGES_FILE} "
              "(source,from,to,who,when,why)")
