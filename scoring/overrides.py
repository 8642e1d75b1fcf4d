"""Analyst overrides (exclude / move an incident) and appeals (申诉), applied on every run."""
from __future__ import annotations

from collections.abc import Iterable

import pandera.errors
import polars as pl
from pandera.typing.polars import DataFrame

from schemas.decisions import APPEAL_OUTCOMES, APPEAL_STATUSES, Appeal, OverrideLog
from schemas.events import AttributedEvent as AE

LOG_COLUMNS = list(OverrideLog.to_schema().columns)

# Chinese values analysts write in appeals.csv, mapped onto the codes of schemas.decisions.
APPEAL_STATUS_ALIASES = {"已提交": "filed", "已受理": "filed", "受理中": "filed", "审核中": "under_review",
                         "复核中": "under_review", "已办结": "decided", "已决定": "decided", "已撤回": "withdrawn"}
APPEAL_OUTCOME_ALIASES = {"支持": "upheld", "部分支持": "partially_upheld", "驳回": "dismissed", "不支持": "dismissed"}


# Phone numbers (also masked, 138****1234) and resident ID numbers must not reach the public
# page through a reply text.
PERSONAL_DATA = r"1[3-9]\d[\d*]{4}\d{4}|\d{17}[\dXx]"


class DecisionsError(ValueError):
    """A decisions table that cannot be used, naming the rows and fields at fault."""


def _text(df: pl.DataFrame, col: str) -> pl.Expr:
    if col not in df.columns:
        return pl.lit(None, dtype=pl.String).alias(col)
    return pl.col(col).cast(pl.String).str.strip_chars().replace("", None).alias(col)


def _as_datetime(df: pl.DataFrame, col: str) -> pl.Expr:
    """A date/time column as Datetime('us'), whatever it arrived as (text becomes null if unparseable)."""
    if col not in df.columns:
        return pl.lit(None, dtype=pl.Datetime("us")).alias(col)
    dt = df.schema[col]
    if dt == pl.Date or isinstance(dt, pl.Datetime):
        return pl.col(col).cast(pl.Datetime("us")).alias(col)
    txt = pl.col(col).cast(pl.String).str.strip_chars().str.replace_all("/", "-")
    return pl.coalesce(
        txt.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False),
        txt.str.to_datetime("%Y-%m-%d %H:%M", strict=False),
        txt.str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=False),
        txt.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")),
    ).cast(pl.Datetime("us")).alias(col)


def _normalise(overrides: pl.DataFrame) -> pl.DataFrame:
    """Overrides with a `key` (the event id, or source:record_id) and a `problem` if unusable."""
    o = overrides.select(
        _text(overrides, "event_id"), _text(overrides, "source"), _text(overrides, "record_id"),
        _text(overrides, "action").str.to_lowercase(), _text(overrides, "to_compound_id"),
        _text(overrides, "who"), _text(overrides, "why"),
        _as_datetime(overrides, "when"),
    ).with_row_index("_row")
    key = pl.coalesce("event_id", pl.format("{}:{}", "source", "record_id"))
    problem = (
        pl.when(key.is_null()).then(pl.lit("no event_id and no source+record_id"))
        .when(~pl.col("action").is_in(["exclude", "move"]) | pl.col("action").is_null())
        .then(pl.lit("action must be exclude or move"))
        .when((pl.col("action") == "move") & pl.col("to_compound_id").is_null())
        .then(pl.lit("move without to_compound_id"))
        .when(pl.col("who").is_null()).then(pl.lit("who is empty"))
        .when(pl.col("why").is_null()).then(pl.lit("why is empty"))
        .when(pl.col("when").is_null()).then(pl.lit("when is missing or not a date"))
    )
    return o.with_columns(key.alias("key"), problem.alias("problem"))


def apply_overrides(events: DataFrame[AE], overrides: pl.DataFrame, *,
                    known_compounds: Iterable[str] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Apply analyst overrides to attributed events; return (events, applied_log).

    `exclude` sets the incident's method to `excluded` (it keeps its compound, so the
    compound's explanation can say what was excluded); `move` places it in
    `to_compound_id` with method `decision`, confidence 1. An incident named by several
    overrides takes the latest (`when`); the others are logged `superseded`. Every
    override row appears in the log with its status: applied, superseded, not_found,
    invalid or unknown_compound (a move to an id outside `known_compounds`, not applied).
    """
    o = _normalise(overrides)
    valid = o.filter(pl.col("problem").is_null())
    keys = valid["key"].unique().to_list()
    # An override may name any record of the incident (source:record_id in linked_records).
    direct = events.lazy().filter(pl.col(AE.event_id).is_in(keys)).select(
        pl.col(AE.event_id).alias("key"), AE.event_id, AE.compound_id).collect()
    missing = sorted(set(keys) - set(direct["key"].to_list()))
    if missing:
        linked = (
            events.lazy().filter(pl.col(AE.linked_records).str.contains_any(missing))
            .select(AE.event_id, AE.compound_id, pl.col(AE.linked_records).str.split("|").alias("key"))
            .explode("key").filter(pl.col("key").is_in(missing)).collect()
            .select("key", AE.event_id, AE.compound_id)
        )
        direct = pl.concat([direct, linked])
    direct = direct.unique("key", keep="first").rename({AE.compound_id: "from_compound_id"})
    cand = (
        valid.drop(AE.event_id).join(direct, on="key", how="left")
        .sort("when", "action", "to_compound_id", "_row", descending=True, nulls_last=True)
        .with_columns(pl.int_range(pl.len()).over(AE.event_id).alias("_rank"))
    )
    known = set(known_compounds) if known_compounds is not None else None
    unknown_target = (pl.col("action") == "move") & (
        ~pl.col("to_compound_id").is_in(sorted(known)) if known is not None else pl.lit(False))
    status = (
        pl.when(pl.col(AE.event_id).is_null()).then(pl.lit("not_found"))
        .when(pl.col("_rank") > 0).then(pl.lit("superseded"))
        .when(unknown_target).then(pl.lit("unknown_compound"))
        .otherwise(pl.lit("applied"))
    )
    cand = cand.with_columns(status.alias("status")).with_columns(
        pl.when(pl.col("status") == "not_found").then(pl.format("no incident {} in the attributed events", "key"))
        .when(pl.col("status") == "superseded").then(pl.lit("a later override names the same incident"))
        .when(pl.col("status") == "unknown_compound").then(pl.format("{} is not in the registry", "to_compound_id"))
        .alias("reason"),
        pl.coalesce(AE.event_id, "key").alias(AE.event_id),
    )
    bad = o.filter(pl.col("problem").is_not_null()).with_columns(
        pl.lit(None, dtype=pl.String).alias("from_compound_id"),
        pl.lit("invalid").alias("status"), pl.col("problem").alias("reason"),
        pl.col("key").alias(AE.event_id),
    )
    log = pl.concat([cand.select("_row", *LOG_COLUMNS), bad.select("_row", *LOG_COLUMNS)]).sort("_row").drop("_row")

    applied = cand.filter(pl.col("status") == "applied").select(
        pl.col(AE.event_id), pl.col("action").alias("_action"), pl.col("to_compound_id").alias("_to"))
    if applied.height == 0:
        return events, log
    out = (
        events.lazy().join(applied.lazy(), on=AE.event_id, how="left")
        .with_columns(
            pl.when(pl.col("_action") == "move").then(pl.col("_to")).otherwise(pl.col(AE.compound_id)).alias(AE.compound_id),
            pl.when(pl.col("_action") == "exclude").then(pl.lit("excluded"))
            .when(pl.col("_action") == "move").then(pl.lit("decision"))
            .otherwise(pl.col(AE.method)).alias(AE.method),
            pl.when(pl.col("_action") == "move").then(pl.lit(1.0)).otherwise(pl.col(AE.confidence)).alias(AE.confidence),
            pl.when(pl.col("_action").is_not_null()).then(pl.lit(False)).otherwise(pl.col(AE.needs_review)).alias(AE.needs_review),
        )
        .drop("_action", "_to")
        .collect()
    )
    return out, log


def override_rows(log: pl.DataFrame) -> pl.DataFrame:
    """Explanation rows (kind `override`) for the compounds an applied override touched."""
    a = log.filter(pl.col("status") == "applied")
    by = pl.format("（{} 于 {} 调整：{}）", "who", pl.col("when").dt.strftime("%Y-%m-%d"), "why")
    out_rows = a.filter(pl.col("from_compound_id").is_not_null()).select(
        pl.col("from_compound_id").alias("compound_id"), pl.lit("override").alias("kind"),
        pl.when(pl.col("action") == "exclude").then(pl.lit("exclude")).otherwise(pl.lit("move_out")).alias("key"),
        pl.lit(None, dtype=pl.Float64).alias("value"),
        pl.when(pl.col("action") == "exclude")
        .then(pl.format("事件 {} 已排除{}", "event_id", by))
        .otherwise(pl.format("事件 {} 已移至 {}{}", "event_id", "to_compound_id", by)).alias("detail"),
    )
    in_rows = a.filter(pl.col("action") == "move").select(
        pl.col("to_compound_id").alias("compound_id"), pl.lit("override").alias("kind"),
        pl.lit("move_in").alias("key"), pl.lit(None, dtype=pl.Float64).alias("value"),
        pl.format("事件 {} 已从 {} 移入{}", "event_id",
                  pl.col("from_compound_id").fill_null("（未归属）"), by).alias("detail"),
    )
    return pl.concat([out_rows, in_rows])


def split_appeals(df: pl.DataFrame) -> tuple[DataFrame[Appeal], pl.DataFrame]:
    """Appeals that pass the Appeal model, and the rejected rows with a `reason` each.

    Chinese status/outcome values (已受理, 驳回, ...) are mapped onto the model's codes. A
    reply text (public) that looks like it holds a phone or ID number is rejected.
    """
    need = ["compound_id", "filed_at", "status"]
    absent = [c for c in need if c not in df.columns]
    if absent:
        raise DecisionsError(f"appeals: missing column(s) {', '.join(absent)}; fix: add them to appeals.csv")
    a = df.select(
        _text(df, "compound_id"),
        (pl.col("filed_at").cast(pl.String).str.to_date(strict=False) if df.schema["filed_at"] != pl.Date
         else pl.col("filed_at")).alias("filed_at"),
        _text(df, "status").replace(APPEAL_STATUS_ALIASES),
        _text(df, "outcome").replace(APPEAL_OUTCOME_ALIASES),
        _text(df, "reply_text"),
    ).with_row_index("row", offset=1)
    reason = (
        pl.when(pl.col("compound_id").is_null()).then(pl.lit("compound_id is empty"))
        .when(pl.col("filed_at").is_null()).then(pl.lit("filed_at is missing or not a date"))
        .when(~pl.col("status").is_in(APPEAL_STATUSES) | pl.col("status").is_null())
        .then(pl.format("status {} is not one of " + "/".join(APPEAL_STATUSES), pl.col("status").fill_null("(empty)")))
        .when(pl.col("outcome").is_not_null() & ~pl.col("outcome").is_in(APPEAL_OUTCOMES))
        .then(pl.format("outcome {} is not one of " + "/".join(APPEAL_OUTCOMES), "outcome"))
        .when((pl.col("status") == "decided") & pl.col("outcome").is_null()).then(pl.lit("decided without an outcome"))
        .when(pl.col("reply_text").str.contains(PERSONAL_DATA).fill_null(False))
        .then(pl.lit("reply_text looks like it holds a phone or ID number (it is published)"))
    )
    a = a.with_columns(reason.alias("reason"))
    good = a.filter(pl.col("reason").is_null()).drop("row", "reason")
    try:
        good = Appeal.validate(good)
    except pandera.errors.SchemaError as e:  # pragma: no cover - the checks above mirror the model
        raise DecisionsError(f"appeals: {e}") from e
    return good, a.filter(pl.col("reason").is_not_null())


def load_appeals(df: pl.DataFrame) -> DataFrame[Appeal]:
    """Validated appeals; raises DecisionsError naming every bad row (line = data row, 1-based)."""
    good, bad = split_appeals(df)
    if bad.height:
        lines = "; ".join(f"row {r}: {why}" for r, why in bad.select("row", "reason").iter_rows())
        raise DecisionsError(f"appeals: {bad.height} unusable row(s): {lines}; fix: correct them in appeals.csv")
    return good
