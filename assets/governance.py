"""The closed loop in the warehouse: residents' needs, their handling and officers'
check-ins from the intake service, their figures per area, and the monthly ranking."""

import os
import shutil
from datetime import date, datetime, time
from pathlib import Path

import dagster as dg
import polars as pl

from assets.common import OWNERS, as_of_of, frame_metadata, rating_dates
from assets.ratings import ratings
from assets.registry import compounds
from governance.figures import (compound_month_figures, intake_counts as count_intake, local_datetime, need_facts,
                                small_public_counts, unit_figures)
from governance.month import month_end, monthly_ranking
from intake.export import TABLE_SCHEMAS, read_intake_tables
from pipelines.resources import Policy, RunFolders, Warehouse
from reports.governance_month import write_month

# Months of the ranking, on the city's calendar; the current month is ranked on what it
# holds so far (its files say up to which day).
ranking_months = dg.MonthlyPartitionsDefinition(start_date="2024-01-01", end_offset=1, timezone="Asia/Shanghai")


def _typed_events(events: pl.DataFrame) -> pl.DataFrame:
    return events.with_columns(local_datetime("at"), local_datetime("deadline"))


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["raw", "intake_needs"], kinds={"sqlite", "duckdb"}, owners=OWNERS, description="Residents' needs as the intake service holds them "
                     "(reference number, compound, category, time): no text, contact or receipt key."),
        dg.AssetSpec(["raw", "intake_need_events"], kinds={"sqlite", "duckdb"}, owners=OWNERS, description="Every step of every need (appended workflow "
                     "events: capacity, action, from and to state, level, unit, deadline, rating), no notes."),
        dg.AssetSpec(["raw", "intake_checkins"], kinds={"sqlite", "duckdb"}, owners=OWNERS, description="Officers' check-ins (报到): compound, kind, time; "
                     "no officer id or note."),
        dg.AssetSpec(["core", "needs"], deps=[compounds], kinds={"duckdb", "polars"}, owners=OWNERS, description=(
            "One row per resident's need as of the rating date: its state, when it was registered, resolved "
            "and first closed, whether it met its deadline, how often it went up a level, its latest rating.")),
    ],
    group_name="sources",
    partitions_def=rating_dates,
    pool="warehouse",
)
def intake_tables(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: RunFolders):
    """The intake database (read-only, one snapshot) up to the end of the rating date."""
    as_of = as_of_of(context)
    tables = read_intake_tables(folders.intake_path(), as_of)
    events = _typed_events(tables["need_events"])
    facts = need_facts(tables["needs"], events, datetime.combine(as_of, time.max))
    with warehouse.transaction() as w:
        w.replace_table("raw.intake_needs", tables["needs"])
        w.replace_table("raw.intake_need_events", tables["need_events"])
        w.replace_table("raw.intake_checkins", tables["checkins"])
        w.replace_table("core.needs", facts.with_columns(pl.lit(as_of).alias("as_of")))
    for key, frame in (("raw/intake_needs", tables["needs"]), ("raw/intake_need_events", tables["need_events"]),
                       ("raw/intake_checkins", tables["checkins"]), ("core/needs", facts)):
        yield dg.MaterializeResult(asset_key=dg.AssetKey(key.split("/")), metadata=frame_metadata(frame))


@dg.asset(
    key=["core", "intake_counts"],
    group_name="sources",
    kinds={"duckdb", "polars"},
    owners=OWNERS,
    partitions_def=rating_dates,
    deps=[dg.AssetKey(["raw", "intake_needs"]), dg.AssetKey(["raw", "intake_checkins"])],
    pool="warehouse",
)
def intake_counts(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """Residents' safety needs and officers' check-ins per compound (the intake service's
    sixth input; marts.intake_counts): this month's and all needs up to the rating date, this
    month's check-ins. Counted on the public page and in the report, never in the index."""
    as_of = as_of_of(context)
    needs = warehouse.read("raw.intake_needs")
    checkins = warehouse.read("raw.intake_checkins")
    counts = count_intake(needs if needs is not None else pl.DataFrame(schema=TABLE_SCHEMAS["needs"]),
                          checkins if checkins is not None else pl.DataFrame(schema=TABLE_SCHEMAS["checkins"]), as_of)
    with warehouse.transaction() as w:
        w.replace_partition("marts.intake_counts", counts.with_columns(pl.lit(as_of).alias("as_of")), "as_of", as_of)
    return dg.MaterializeResult(metadata=frame_metadata(counts))


def _loop_frames(warehouse: Warehouse) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(needs, typed events, typed check-ins) as the last intake snapshot holds them."""
    def table(name: str, schema_key: str) -> pl.DataFrame:
        frame = warehouse.read(name)
        return frame if frame is not None else pl.DataFrame(schema=TABLE_SCHEMAS[schema_key])

    needs = table("raw.intake_needs", "needs")
    events = _typed_events(table("raw.intake_need_events", "need_events"))
    checkins = table("raw.intake_checkins", "checkins").with_columns(local_datetime("at"))
    return needs, events, checkins


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["marts", "need_figures"], deps=[dg.AssetKey(["core", "needs"])], kinds={"duckdb", "polars"},
                     owners=OWNERS, description=(
            "Needs and check-ins of the rating date's month so far, per grid, community, street, district and "
            "the city: received, closed, closed on time, median hours to close, escalations, ratings and "
            "satisfied ratings, open and overdue at the end, check-ins. Never part of the safety index.")),
        dg.AssetSpec(["marts", "compound_need_figures"], deps=[dg.AssetKey(["core", "needs"])],
                     kinds={"duckdb", "polars"}, owners=OWNERS, description=(
            "The public compound page's figures of this month: needs received and closed, share closed on "
            "time, share of satisfied ratings, check-ins; counts under the suppression threshold withheld.")),
    ],
    check_specs=[dg.AssetCheckSpec("public_counts_suppressed", asset=["marts", "compound_need_figures"], blocking=True,
                                   description="No public compound figure shows a count under the suppression "
                                               "threshold, nor a share whose base is withheld.")],
    group_name="ratings",
    partitions_def=rating_dates,
    pool="warehouse",
)
def need_figures(context: dg.AssetExecutionContext, warehouse: Warehouse, policy: Policy):
    """Figures of the closed loop for the month of the rating date, up to that date."""
    as_of = as_of_of(context)
    cfg = policy.governance
    needs, events, checkins = _loop_frames(warehouse)
    registry = warehouse.read("core.compounds")
    facts = need_facts(needs, events, datetime.combine(as_of, time.max))
    figures = unit_figures(facts, events, checkins, registry, as_of.replace(day=1), as_of, cfg.satisfied)
    below = policy.rules.public.suppress_below
    public = compound_month_figures(facts, events, checkins, registry["compound_id"], as_of, cfg.satisfied, below)
    with warehouse.transaction() as w:
        w.replace_partition("marts.need_figures", figures.with_columns(pl.lit(as_of).alias("as_of")), "as_of", as_of)
        w.replace_partition("marts.compound_need_figures", public, "as_of", as_of)
    yield dg.MaterializeResult(asset_key=dg.AssetKey(["marts", "need_figures"]), metadata=frame_metadata(figures))
    yield dg.MaterializeResult(asset_key=dg.AssetKey(["marts", "compound_need_figures"]),
                               metadata=frame_metadata(public))
    leaks = small_public_counts(public, below)
    yield dg.AssetCheckResult(check_name="public_counts_suppressed", asset_key=dg.AssetKey(["marts", "compound_need_figures"]),
                              passed=leaks.is_empty(), metadata={"rows": leaks.height, **frame_metadata(leaks)})


def _last_ratings(warehouse: Warehouse, last_day: date) -> pl.DataFrame | None:
    """The ratings of the last rating date up to ``last_day`` (None: none yet)."""
    if not warehouse.has_table("marts.ratings"):
        return None
    frame = warehouse.query(
        "SELECT compound_id, stars, status, as_of FROM marts.ratings "
        "WHERE as_of = (SELECT max(as_of) FROM marts.ratings WHERE as_of <= ?)", [last_day])
    return frame if frame.height else None


@dg.asset(
    key=["marts", "governance_ranking"],
    group_name="outputs",
    kinds={"duckdb", "excel", "csv", "html"},
    owners=OWNERS,
    partitions_def=ranking_months,
    deps=[dg.AssetKey(["core", "needs"]), ratings],
    pool="warehouse",
)
def governance_ranking(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: RunFolders,
                       policy: Policy):
    """The monthly ranking (每月通报) of streets and communities across the city and of grids
    inside their street on the governance score (config/governance.yaml): the month's safety
    ratings, on-time closure and satisfaction of residents' needs, officers' check-ins; with
    last month's rank and the change. Written as a workbook, CSV files, an HTML page and a
    one-page summary for the committee in OUT_DIR/monthly/<month>/."""
    first = date.fromisoformat(context.partition_key)
    cfg = policy.governance
    needs, events, checkins = _loop_frames(warehouse)
    ratings_now = _last_ratings(warehouse, month_end(first))
    ratings_before = _last_ratings(warehouse, date.fromordinal(first.toordinal() - 1))
    ranked, figures = monthly_ranking(first, needs, events, checkins, warehouse.read("core.compounds"),
                                      ratings_now, ratings_before, cfg)
    rated_on = ratings_now["as_of"][0] if ratings_now is not None else None
    with warehouse.transaction() as w:
        w.replace_partition("marts.governance_ranking", ranked, "month", first)
    target = folders.out / "monthly" / first.strftime("%Y-%m")
    staging = folders.out / ".staging" / f"monthly-{first:%Y-%m}"
    if staging.exists():
        shutil.rmtree(staging)
    paths = write_month(staging, first, ranked, figures, rated_on=rated_on, data_until=_data_until(events, first),
                        cfg=cfg)
    _swap_in(staging, target)
    top = ranked.filter(pl.col("level") == "street").head(10).select("unit_id", "score", "rank", "rank_change")
    return dg.MaterializeResult(metadata={**frame_metadata(top), "dagster/row_count": ranked.height,
                                          "files": len(paths), "folder": str(target)})


def _data_until(events: pl.DataFrame, first: date) -> date | None:
    """The last day of the month the needs data reaches (the month may still be running)."""
    inside = events.filter(pl.col("at").dt.date().is_between(first, month_end(first)))["at"]
    return inside.max().date() if inside.len() else None


def _swap_in(staging: Path, target: Path) -> None:
    """Replace ``target`` by the complete ``staging`` folder in two renames: never a
    half-written month (a reader between the renames finds the month missing, not mixed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(f".{target.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    if old.exists():
        shutil.rmtree(old)
