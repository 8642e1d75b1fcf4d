"""What happened to residents' needs and officers' check-ins, per need and per unit.

`need_facts` reads a need's appended events (the intake service's workflow log) into one row
per need; `unit_figures` counts a period's needs, ratings and check-ins per grid, community,
street, district and the city; `compound_month_figures` gives the public page's figures per
compound with small counts suppressed. None of these reach the safety index.
"""
from __future__ import annotations

from datetime import date, datetime, time

import polars as pl
from pandera.typing.polars import DataFrame

from schemas.governance import CompoundNeedFigures, NeedFact, UnitFigures

# Workflow vocabulary as the intake service writes it (intake.workflow_rules).
CLOSE, RESOLVE, RATE, ESCALATE, OVERDUE = "close", "resolve", "rate", "escalate", "overdue"
CLOSED_STATES = ("closed", "rated")
REOPENED = "reopened"
# The area levels figures are given for, most local first.
FIGURE_LEVELS = ("grid", "community", "street", "district", "city")
CITY = "全市"

FACT_SCHEMA = {
    "need_id": pl.Int64, "compound_id": pl.String, "category": pl.String, "registered_at": pl.Datetime("us"),
    "deadline_at": pl.Datetime("us"), "state": pl.String, "resolved_at": pl.Datetime("us"),
    "closed_at": pl.Datetime("us"), "on_time": pl.Boolean, "hours_to_close": pl.Float64,
    "escalations": pl.Int64, "overdue": pl.Int64, "reopened": pl.Boolean, "rating": pl.String,
}
FIGURE_COLUMNS = ["received", "closed", "closed_on_time", "median_hours_to_close", "escalations",
                  "rated", "satisfied", "open_at_end", "overdue_open_at_end", "checkins"]


def local_datetime(column: str) -> pl.Expr:
    """An ISO timestamp with an offset (``2026-11-03T09:12:00+08:00``) as local wall time."""
    return (pl.col(column).str.to_datetime(time_zone="Asia/Shanghai", time_unit="us")
            .dt.replace_time_zone(None).alias(column))


def need_facts(needs: pl.DataFrame, events: pl.DataFrame, until: datetime) -> DataFrame[NeedFact]:
    """One row per need registered by ``until`` (local time): its state then, when it was
    registered, resolved and first closed, whether it met its deadline, how often it went up a
    level (asked for help or overdue), whether it was reopened and its latest rating.

    ``needs``: need_id, compound_id, category. ``events``: need_id, seq, at (local datetime),
    action, to_state, deadline (local datetime, the limit in force after the event), rating.
    A need meets its deadline when its first result came before the limit then in force and
    it never went overdue.
    """
    ev = events.filter(pl.col("at") <= until).sort("need_id", "seq")
    per = ev.group_by("need_id").agg(
        registered_at=pl.col("at").first(),
        deadline_at=pl.col("deadline").first(),
        state=pl.col("to_state").last(),
        resolved_at=pl.col("at").filter(pl.col("action") == RESOLVE).first(),
        # the limit in force when the first result was recorded: the one set by the event before it
        limit_at_result=pl.col("deadline").shift(1).filter(pl.col("action") == RESOLVE).first(),
        closed_at=pl.col("at").filter(pl.col("action") == CLOSE).first(),
        escalations=pl.col("action").is_in([ESCALATE, OVERDUE]).sum().cast(pl.Int64),
        overdue=(pl.col("action") == OVERDUE).sum().cast(pl.Int64),
        reopened=(pl.col("to_state") == REOPENED).any(),
        rating=pl.col("rating").filter(pl.col("action") == RATE).last(),
    )
    facts = needs.select("need_id", "compound_id", "category").join(per, on="need_id", how="inner")
    return facts.with_columns(
        on_time=pl.col("closed_at").is_not_null() & (pl.col("overdue") == 0)
        & (pl.col("resolved_at") <= pl.col("limit_at_result")).fill_null(False),
        hours_to_close=(pl.col("closed_at") - pl.col("registered_at")).dt.total_seconds() / 3600.0,
    ).select(list(FACT_SCHEMA)).cast(FACT_SCHEMA).sort("need_id")


def _window(start: date, end: date) -> tuple[datetime, datetime]:
    return datetime.combine(start, time.min), datetime.combine(end, time.max)


def _areas(compounds: pl.DataFrame) -> pl.DataFrame:
    """Each compound's unit at every figure level: (compound_id, level, unit_id, district, street,
    community, grid_code). Streets and communities are keyed with their parents (names repeat)."""
    base = compounds.select("compound_id", "district", "street", "community", "grid_code")
    keys = {
        "grid": pl.col("grid_code"),
        "community": pl.concat_str("district", "street", "community", separator="/"),
        "street": pl.concat_str("district", "street", separator="/"),
        "district": pl.col("district"),
        "city": pl.lit(CITY),
    }
    keep = {"grid": ("district", "street", "community", "grid_code"), "community": ("district", "street", "community"),
            "street": ("district", "street"), "district": ("district",), "city": ()}
    parts = []
    for level in FIGURE_LEVELS:
        cols = [pl.col(c) if c in keep[level] else pl.lit(None, pl.String).alias(c)
                for c in ("district", "street", "community", "grid_code")]
        parts.append(base.select("compound_id", pl.lit(level).alias("level"), keys[level].alias("unit_id"), *cols))
    return pl.concat(parts).filter(pl.col("unit_id").is_not_null())


def unit_figures(facts: DataFrame[NeedFact], events: pl.DataFrame, checkins: pl.DataFrame, compounds: pl.DataFrame,
                 start: date, end: date, satisfied: tuple[str, ...]) -> DataFrame[UnitFigures]:
    """Figures of the period ``start``..``end`` (local days, inclusive) per unit at every level.

    received: needs registered in the period; closed / closed_on_time / median_hours_to_close:
    needs first closed in the period; escalations: escalate and overdue events in the period;
    rated / satisfied: ratings given in the period (a reopened need's second rating counts
    too); open_at_end / overdue_open_at_end: needs registered by the end and not closed then
    (``facts`` as of the period's end); checkins: officers' check-ins in the period.
    """
    lo, hi = _window(start, end)
    in_period = pl.col("at").is_between(lo, hi)
    per_need = facts.select(
        "need_id", "compound_id",
        received=pl.col("registered_at").is_between(lo, hi),
        closed=pl.col("closed_at").is_between(lo, hi).fill_null(False),
        on_time=pl.col("closed_at").is_between(lo, hi).fill_null(False) & pl.col("on_time"),
        hours=pl.when(pl.col("closed_at").is_between(lo, hi)).then("hours_to_close"),
        open_at_end=~pl.col("state").is_in(CLOSED_STATES),
        overdue_open=~pl.col("state").is_in(CLOSED_STATES) & (pl.col("deadline_at") < hi) & (pl.col("overdue") > 0),
    ).join(
        events.filter(in_period).group_by("need_id").agg(
            escalations=pl.col("action").is_in([ESCALATE, OVERDUE]).sum(),
            rated=(pl.col("action") == RATE).sum(),
            satisfied=((pl.col("action") == RATE) & pl.col("rating").is_in(satisfied)).sum()),
        on="need_id", how="left").with_columns(pl.col("escalations", "rated", "satisfied").fill_null(0))
    checks = checkins.filter(pl.col("at").is_between(lo, hi)).group_by("compound_id").agg(checkins=pl.len())
    areas = _areas(compounds)
    needs_by_unit = per_need.join(areas, on="compound_id", how="inner").group_by("level", "unit_id").agg(
        received=pl.col("received").sum(), closed=pl.col("closed").sum(), closed_on_time=pl.col("on_time").sum(),
        median_hours_to_close=pl.col("hours").median(), escalations=pl.col("escalations").sum(),
        rated=pl.col("rated").sum(), satisfied=pl.col("satisfied").sum(),
        open_at_end=pl.col("open_at_end").sum(), overdue_open_at_end=pl.col("overdue_open").sum())
    checks_by_unit = checks.join(areas, on="compound_id", how="inner").group_by("level", "unit_id").agg(
        checkins=pl.col("checkins").sum())
    units = areas.group_by("level", "unit_id").agg(
        pl.col("district", "street", "community", "grid_code").first(), compounds=pl.len())
    out = (units.join(needs_by_unit, on=["level", "unit_id"], how="left")
           .join(checks_by_unit, on=["level", "unit_id"], how="left"))
    counts = [c for c in FIGURE_COLUMNS if c != "median_hours_to_close"]
    return (out.with_columns(pl.col(counts).fill_null(0).cast(pl.Int64),
                             pl.col("median_hours_to_close").round(1),
                             pl.lit(start).alias("period_start"), pl.lit(end).alias("period_end"))
            .with_columns(level_order=pl.col("level").replace_strict({lv: i for i, lv in enumerate(FIGURE_LEVELS)}))
            .sort("level_order", "unit_id").drop("level_order")
            .select("period_start", "period_end", "level", "unit_id", "district", "street", "community", "grid_code",
                    "compounds", *FIGURE_COLUMNS))


def compound_month_figures(facts: DataFrame[NeedFact], events: pl.DataFrame, checkins: pl.DataFrame,
                           compound_ids: pl.Series, as_of: date, satisfied: tuple[str, ...],
                           suppress_below: int) -> DataFrame[CompoundNeedFigures]:
    """The public page's figures of each compound for the month of ``as_of`` up to that day:
    needs received and closed, the share closed on time, the share of ratings satisfied, and
    check-ins. A count under ``suppress_below`` is withheld (null, with ``*_suppressed``), and
    so is a share unless both its parts (on time and late, satisfied and not) are 0 or at
    least ``suppress_below``: share times base must give no small count either."""
    start = as_of.replace(day=1)
    fig = unit_figures(facts, events, checkins, pl.DataFrame({"compound_id": compound_ids}).with_columns(
        district=pl.lit("-"), street=pl.lit("-"), community=pl.lit("-"), grid_code="compound_id"),
        start, as_of, satisfied).filter(pl.col("level") == "grid")
    raw = fig.select(compound_id="unit_id", received="received", closed="closed", on_time="closed_on_time",
                     rated="rated", satisfied="satisfied", checkins="checkins")

    def fine(n: pl.Expr) -> pl.Expr:  # None at all is shown as 0: "no need this month" tells nothing about anyone.
        return (n >= suppress_below) | (n == 0)

    shown = {c: fine(pl.col(c)) for c in ("received", "closed", "rated", "checkins")}
    share_shown = {part: (pl.col(base) > 0) & fine(pl.col(part)) & fine(pl.col(base) - pl.col(part))
                   for part, base in (("on_time", "closed"), ("satisfied", "rated"))}
    return raw.select(
        "compound_id", pl.lit(as_of).alias("as_of"),
        needs_received=pl.when(shown["received"]).then("received"),
        needs_closed=pl.when(shown["closed"]).then("closed"),
        on_time_share=pl.when(share_shown["on_time"]).then((pl.col("on_time") / pl.col("closed")).round(2)),
        satisfaction_share=pl.when(share_shown["satisfied"]).then((pl.col("satisfied") / pl.col("rated")).round(2)),
        checkins=pl.when(shown["checkins"]).then("checkins"),
        needs_received_suppressed=~shown["received"],
        needs_closed_suppressed=~shown["closed"],
        satisfaction_suppressed=(pl.col("rated") > 0) & ~share_shown["satisfied"],
        checkins_suppressed=~shown["checkins"],
    ).sort("compound_id")


COUNT_SCHEMA = {"compound_id": pl.String, "n_needs_month": pl.Int64, "n_needs_total": pl.Int64,
                "n_checkins_month": pl.Int64}


def intake_counts(needs: pl.DataFrame, checkins: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Needs and check-ins per compound from the intake snapshot's text timestamps (local
    time): needs of the month of ``as_of`` up to that day and of all time up to it,
    check-ins of the month; compounds with any of them, sorted."""
    month, day = as_of.replace(day=1).isoformat(), as_of.isoformat()
    local = pl.col("at").str.slice(0, 10)
    per_need = needs.select("compound_id", local_day=pl.col("created_at").str.slice(0, 10)).filter(
        pl.col("local_day") <= day).group_by("compound_id").agg(
        n_needs_month=(pl.col("local_day") >= month).sum().cast(pl.Int64), n_needs_total=pl.len().cast(pl.Int64))
    per_checkin = checkins.filter(local.is_between(pl.lit(month), pl.lit(day))).group_by("compound_id").agg(
        n_checkins_month=pl.len().cast(pl.Int64))
    return (per_need.join(per_checkin, on="compound_id", how="full", coalesce=True)
            .with_columns(pl.col("n_needs_month", "n_needs_total", "n_checkins_month").fill_null(0))
            .select(list(COUNT_SCHEMA)).cast(COUNT_SCHEMA).sort("compound_id"))


PUBLIC_COUNTS = ("needs_received", "needs_closed", "checkins")


def small_public_counts(public: pl.DataFrame, suppress_below: int) -> pl.DataFrame:
    """Rows of the public compound figures that show a count between 1 and the threshold, or
    give one away: an on-time share beside a withheld count, or whose on-time or late part
    (share times the needs closed, within the share's rounding) is small for certain; a
    satisfaction share marked withheld."""
    def small(n: pl.Expr, hi: pl.Expr | None = None) -> pl.Expr:
        return (n >= 1) & ((n if hi is None else hi) <= suppress_below - 1)

    closed, share = pl.col("needs_closed"), pl.col("on_time_share")
    lo, hi = ((share - 0.005) * closed).ceil(), ((share + 0.005) * closed).floor()
    derived = ((share.is_not_null() & closed.is_null()) | small(lo, hi) | small(closed - hi, closed - lo)
               | (pl.col("satisfaction_share").is_not_null() & pl.col("satisfaction_suppressed")))
    return public.filter(pl.any_horizontal(*[small(pl.col(c)) for c in PUBLIC_COUNTS]) | derived.fill_null(False))
