"""The plaque registry: which plaque each compound should have on its wall, and what to do.

``plan_plaques`` returns the registry after a rating date and the date's actions:

- a rated or downgraded compound without an active plaque gets a ``new`` one, unless it
  was vetoed in the same calendar year (then none until the next year);
- a veto, or a compound becoming ``not_rated`` or leaving the ratings, ``withdraw``\\ s
  its plaque at once;
- a downgrade (fewer stars than the plaque, by a rule not in force when the plaque was
  issued) ``replace``\\ s it at once;
- a star change from the index alone becomes a ``replace`` only once the new level has held
  on every rating date for the stability days, so an index wobbling across a threshold does
  not reprint plaques.

Re-running a date gives the same plan: changes recorded on or after ``as_of`` are undone
first. Serials read ``<district>-<compound>-<seq>`` (``350203-XM00123-01``): the district's
division code (else an abbreviation of its name, else a hash), the compound id (a hash when
it is not URL-safe) and a sequence number growing with every plaque of the compound.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date

import polars as pl
from pandera.typing.polars import DataFrame

from schemas.plaques import Plaque, PlaqueAction
from schemas.ratings import Rating
from schemas.registry import Compound
from scoring.rules import load_rules

# Pinyin initials of Xiamen's districts, for registries without division codes.
DISTRICT_ABBREVIATIONS = {
    "思明区": "SM", "湖里区": "HL", "海沧区": "HC", "集美区": "JM", "同安区": "TA", "翔安区": "XA",
}
_DIVISION_CODE = re.compile(r"\d{6}")
_SAFE_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]{0,39}")
RATED = ["rated", "downgraded"]

# Column -> Polars type, in the order of the data contracts.
REGISTRY_SCHEMA = {c: col.dtype.type for c, col in Plaque.to_schema().columns.items()}
ACTION_SCHEMA = {c: col.dtype.type for c, col in PlaqueAction.to_schema().columns.items()}


@dataclass(frozen=True)
class PlaquePlan:
    """The registry after a rating date, its actions, and index-only star changes still
    waiting out the stability period (``pending``, for analysts)."""

    registry: DataFrame[Plaque]
    actions: DataFrame[PlaqueAction]
    pending: pl.DataFrame
    batch_id: str
    as_of: date


def _hash_part(text: str, prefix: str, n: int) -> str:
    return prefix + hashlib.sha1(text.encode("utf-8")).hexdigest()[:n].upper()


def serial_for(district_code: str | None, district: str | None, compound_id: str, seq: int) -> str:
    if district_code and _DIVISION_CODE.fullmatch(district_code):
        part = district_code
    else:
        part = DISTRICT_ABBREVIATIONS.get(district) or _hash_part(district or "", "D", 4)
    compound = compound_id if _SAFE_PART.fullmatch(compound_id) else _hash_part(compound_id, "X", 10)
    return f"{part}-{compound}-{seq:02d}"


def _rolled_back(registry: pl.DataFrame | None, as_of: date) -> pl.DataFrame:
    """The registry as it stood before ``as_of``: later issues dropped, later changes undone."""
    if registry is None or registry.is_empty():
        return pl.DataFrame(schema=REGISTRY_SCHEMA)
    reg = registry.select([pl.col(c).cast(t) for c, t in REGISTRY_SCHEMA.items()]).filter(pl.col(Plaque.issued_on) < as_of)
    undo = (pl.col(Plaque.status) != "active") & (pl.col(Plaque.status_changed_on) >= as_of)
    return reg.with_columns(
        pl.when(undo).then(pl.lit("active")).otherwise(pl.col(Plaque.status)).alias(Plaque.status),
        pl.when(undo).then(pl.col(Plaque.issued_on)).otherwise(pl.col(Plaque.status_changed_on))
        .alias(Plaque.status_changed_on),
        pl.when(undo).then(pl.coalesce(Plaque.issue_reason, Plaque.reason)).otherwise(pl.col(Plaque.reason))
        .alias(Plaque.reason),
    )


def _held_since(history: pl.DataFrame) -> pl.DataFrame:
    """Per compound, the first rating date of the current unbroken run of its star level."""
    cid, d = Rating.compound_id, Rating.as_of
    level = pl.when(pl.col(Rating.status).is_in(RATED)).then(pl.col(Rating.stars).cast(pl.Int16)).otherwise(-1)
    runs = history.select(cid, d, level.alias("level")).sort(cid, d).with_columns(
        pl.col("level").rle_id().over(cid).alias("run"))
    return runs.group_by(cid).agg(pl.col(d).filter(pl.col("run") == pl.col("run").max()).min().alias("held_since"))


def _vetoed_this_year(history: pl.DataFrame, registry: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Compounds vetoed in ``as_of``'s calendar year (no plaque for them until next year)."""
    from_ratings = history.filter(
        (pl.col(Rating.status) == "vetoed") & (pl.col(Rating.as_of).dt.year() == as_of.year)
    ).select(Rating.compound_id)
    from_registry = registry.filter(
        (pl.col(Plaque.status) == "withdrawn")
        & pl.col(Plaque.reason).str.starts_with("veto")
        & (pl.col(Plaque.status_changed_on).dt.year() == as_of.year)
    ).select(Plaque.compound_id)
    return pl.concat([from_ratings, from_registry]).unique().with_columns(pl.lit(True).alias("vetoed_this_year"))


def _rule_ids(column: str) -> pl.Expr:
    """The ``|``-joined rule ids of a column as a list (empty for none)."""
    return pl.col(column).fill_null("").str.split("|").list.eval(pl.element().filter(pl.element() != ""))


def _decisions(reg: pl.DataFrame, history: pl.DataFrame, compounds: pl.DataFrame, as_of: date,
               stability_days: int) -> pl.DataFrame:
    """One row per compound that has a plaque or a rating today, with the action it needs."""
    cid = Rating.compound_id
    current = history.filter(pl.col(Rating.as_of) == as_of).select(
        cid, pl.col(Rating.stars).cast(pl.Int8), pl.col(Rating.status),
        pl.col(Rating.rules).fill_null(""), pl.col(Rating.district),
    )
    active = reg.filter(pl.col(Plaque.status) == "active").select(
        cid, pl.col(Plaque.serial).alias("plaque_serial"), pl.col(Plaque.stars).alias("plaque_stars"),
        pl.col(Plaque.issued_on),
    )
    # The rules in force when the plaque was issued: a downgrade acts at once only when a
    # rule fired since (an index drop under an old downgrade waits like any index change).
    at_issue = history.select(
        cid, pl.col(Rating.as_of).alias(Plaque.issued_on), pl.col(Rating.rules).fill_null("").alias("issue_rules"))
    active = active.join(at_issue, on=[cid, Plaque.issued_on], how="left")
    seq = pl.col(Plaque.serial).str.extract(r"-(\d+)$", 1).cast(pl.Int32, strict=False)
    seqs = reg.group_by(cid).agg(seq.max().fill_null(0).alias("last_seq"))
    if Compound.district_code not in compounds.columns:  # the code is optional in the registry
        compounds = compounds.with_columns(pl.lit(None, dtype=pl.String).alias(Compound.district_code))
    codes = compounds.select(cid, pl.col(Compound.district_code), pl.col(Compound.district).alias("reg_district"))
    df = (
        current.join(active, on=cid, how="full", coalesce=True)
        .join(_held_since(history), on=cid, how="left")
        .join(_vetoed_this_year(history, reg, as_of), on=cid, how="left")
        .join(seqs, on=cid, how="left")
        .join(codes, on=cid, how="left")
        .with_columns(
            pl.col("vetoed_this_year").fill_null(False),
            pl.col("last_seq").fill_null(0),
            pl.coalesce("reg_district", Rating.district).alias("district_name"),
        )
    )
    has = pl.col("plaque_serial").is_not_null()
    status, stars, ps = pl.col(Rating.status), pl.col(Rating.stars), pl.col("plaque_stars")
    held_days = (pl.lit(as_of) - pl.col("held_since")).dt.total_days()
    arrow = pl.format("{}→{} stars", ps, stars)
    new_rule = _rule_ids(Rating.rules).list.set_difference(_rule_ids("issue_rules")).list.len() > 0
    downgrade_now = has & (status == "downgraded") & (stars < ps) & new_rule
    rules = [  # (when, action, reason): the first that holds decides
        (has & status.is_null(), "withdraw", pl.lit("no longer in the ratings")),
        (has & (status == "vetoed"), "withdraw", pl.format("veto: {}", pl.col(Rating.rules))),
        (has & (status == "not_rated"), "withdraw", pl.lit("not_rated: no population or households")),
        (downgrade_now, "replace", pl.format("downgrade: {} ({})", pl.col(Rating.rules), arrow)),
        (has & (stars != ps) & (held_days >= stability_days), "replace",
         pl.format("index: {}, held since {} ({} days)", arrow, pl.col("held_since"), held_days)),
        (~has & status.is_in(RATED) & ~pl.col("vetoed_this_year"), "new", pl.format("new plaque: {} stars", stars)),
    ]
    action = pl.coalesce([pl.when(when).then(pl.lit(act)) for when, act, _ in rules])
    reason = pl.coalesce([pl.when(when).then(why) for when, _, why in rules])
    waiting = has & status.is_in(RATED) & (stars != ps) & action.is_null()
    return df.with_columns(
        action.alias("action"), reason.alias("reason"), waiting.fill_null(False).alias("waiting"),
        held_days.alias("held_days"),
    )


def plan_history_sql(*, plaques: str | None = "marts.plaques") -> str:
    """DuckDB query (parameters: ``plan_history_params(as_of)``) of only the ratings
    ``plan_plaques`` needs to plan as from every rating up to the date (a year of nightly
    dates at 100,000 compounds is 36M ratings): per compound the first rating of every run of
    one star level (what ``_held_since`` needs), the date's own, its first veto of the year,
    and those of the dates a plaque of it was issued (``plaques``, the registry table)."""
    rated = ", ".join(f"'{s}'" for s in RATED)
    issued = f" UNION SELECT compound_id, issued_on FROM {plaques}" if plaques else ""
    # The window runs over three narrow columns; the kept ratings are then read whole.
    return f"""
        WITH levels AS (
            SELECT compound_id, as_of, CASE WHEN status IN ({rated}) THEN stars::SMALLINT ELSE -1 END AS level
            FROM marts.ratings WHERE as_of <= ?
        ), keep AS (
            -- as `_held_since`: a level unlike the one before (or the first) starts a run
            SELECT compound_id, as_of FROM levels
            QUALIFY coalesce(level <> lag(level) OVER (PARTITION BY compound_id ORDER BY as_of), true)
            UNION SELECT compound_id, min(as_of) FROM marts.ratings
                  WHERE status = 'vetoed' AND year(as_of) = ? AND as_of <= ? GROUP BY compound_id{issued}
        )
        SELECT * FROM marts.ratings
        WHERE as_of = ? OR (as_of <= ? AND (compound_id, as_of) IN (SELECT compound_id, as_of FROM keep))
        ORDER BY as_of, compound_id
    """


def plan_history_params(as_of: date) -> list:
    return [as_of, as_of.year, as_of, as_of, as_of]


def plan_plaques(registry: pl.DataFrame | None, ratings_history: DataFrame[Rating],
                 compounds: DataFrame[Compound], *, as_of: date, stability_days: int | None = None) -> PlaquePlan:
    """The registry after ``as_of`` and the plaque actions the ratings of ``as_of`` call for
    (``stability_days`` by default from the rules)."""
    stability_days = load_rules().plaque_stability_days if stability_days is None else stability_days
    history = ratings_history.filter(pl.col(Rating.as_of) <= as_of)
    if history.filter(pl.col(Rating.as_of) == as_of).is_empty():
        raise ValueError(f"no ratings for {as_of.isoformat()}: rate that date before planning its plaques")
    batch = f"B{as_of:%Y%m%d}"
    reg = _rolled_back(registry, as_of)
    dec = _decisions(reg, history, compounds, as_of, stability_days)

    issuing = dec.filter(pl.col("action").is_in(["new", "replace"]))
    serials = [serial_for(*row, seq + 1) for *row, seq in
               issuing.select(Compound.district_code, "district_name", Rating.compound_id, "last_seq").iter_rows()]
    issuing = issuing.with_columns(pl.Series(Plaque.serial, serials, dtype=pl.String))
    withdrawing = dec.filter(pl.col("action") == "withdraw")
    actions = pl.concat([
        issuing.select(
            Plaque.serial, Rating.compound_id, "action", pl.col(Rating.stars).cast(pl.Int8),
            pl.when(pl.col("action") == "replace").then(pl.col("plaque_serial")).alias("previous_serial"),
            "reason",
        ),
        withdrawing.select(
            pl.col("plaque_serial").alias(Plaque.serial), Rating.compound_id, "action",
            pl.col("plaque_stars").cast(pl.Int8).alias(Rating.stars),
            pl.lit(None, dtype=pl.String).alias("previous_serial"), "reason",
        ),
    ]).select([pl.col(c).cast(t) for c, t in ACTION_SCHEMA.items()]).sort(Rating.compound_id, "action", Plaque.serial)

    retired = dec.filter(pl.col("action").is_in(["replace", "withdraw"])).select(
        pl.col("plaque_serial").alias(Plaque.serial), "reason",
        pl.when(pl.col("action") == "replace").then(pl.lit("superseded")).otherwise(pl.lit("withdrawn"))
        .alias("new_status"))
    updated = reg.join(retired, on=Plaque.serial, how="left").with_columns(
        pl.coalesce("new_status", Plaque.status).alias(Plaque.status),
        pl.when(pl.col("new_status").is_not_null()).then(pl.lit(as_of))
        .otherwise(pl.col(Plaque.status_changed_on)).alias(Plaque.status_changed_on),
        pl.coalesce("reason_right", Plaque.reason).alias(Plaque.reason),
    ).select(list(REGISTRY_SCHEMA))
    issued = issuing.select(
        Plaque.serial, Rating.compound_id, pl.col(Rating.stars).cast(pl.Int8),
        pl.lit(as_of.year, dtype=pl.Int32).alias(Plaque.rating_year), pl.lit(as_of).alias(Plaque.issued_on),
        pl.lit("active").alias(Plaque.status), pl.lit(as_of).alias(Plaque.status_changed_on),
        "reason", pl.lit(batch).alias(Plaque.batch_id), pl.col("reason").alias(Plaque.issue_reason),
    ).select([pl.col(c).cast(t) for c, t in REGISTRY_SCHEMA.items()])
    new_registry = pl.concat([updated, issued]).sort(Plaque.compound_id, Plaque.issued_on, Plaque.serial)

    pending = dec.filter(pl.col("waiting")).select(
        Rating.compound_id, pl.col("plaque_serial").alias(Plaque.serial), "plaque_stars",
        pl.col(Rating.stars).alias("rated_stars"), "held_since", "held_days",
        (pl.lit(stability_days) - pl.col("held_days")).alias("days_to_go"),
    ).sort(Rating.compound_id)
    return PlaquePlan(
        registry=Plaque.validate(new_registry), actions=PlaqueAction.validate(actions),
        pending=pending, batch_id=batch, as_of=as_of,
    )
