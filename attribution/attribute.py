"""Placing case events in compounds, with the evidence for each placement.

Every event gathers all the evidence available — an analyst's decision, the department's
own compound id, the outline its point falls in, the compound its address names, the
nearest centroid — and the strongest kind decides, in this order:

    decision > explicit > polygon > address > nearest > unmatched

Confidence (0–1) says how much the placement can be trusted:

| method | confidence |
| --- | --- |
| decision, excluded | 1.0 (an analyst said so) |
| explicit | 0.95 |
| polygon | 0.90 |
| address | 0.85 × score/100 (exact name/alias 0.85, road + number 0.81, fuzzy ≥ threshold) |
| nearest | 0.30 + 0.40 × (1 − distance/radius) |
| unmatched | 0.0 |

A second, independent family of evidence (department / coordinates / address) naming the
same compound adds 0.05 (capped at 1).
When the department, the outline and the address name different compounds (the careful
analyst's "these disagree"), the placement follows precedence but its confidence is
halved and it goes to the review queue as `disagreement`; events placed nowhere go there
as `unmatched`, with the candidates found.
"""
from __future__ import annotations

import logging

import numpy as np
import polars as pl
from pandera.typing.polars import DataFrame

from geo.address import AddressMatcher
from geo.coords import to_wgs84
from geo.nearest import nearest_centroid
from geo.polygons import CompoundPolygons
from schemas.events import AttributedEvent, CaseEvent, ReviewItem
from schemas.registry import Compound

log = logging.getLogger(__name__)

# Decision values meaning "this record is in no compound".
NOT_IN_ANY = {"", "NONE", "NULL", "无", "不属于任何小区", "-"}
CONFIDENCE = {"decision": 1.0, "excluded": 1.0, "explicit": 0.95, "polygon": 0.90, "address": 0.85}
CORROBORATION_BONUS = 0.05
DISAGREEMENT_FACTOR = 0.5
# Centroids this many radii away still show up as candidates for the reviewer.
CANDIDATE_RADIUS_FACTOR = 3.0


def _registry_centroids(compounds: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lon, lat = to_wgs84(
        compounds.get_column(Compound.lon).cast(pl.Float64).fill_null(np.nan).to_numpy(),
        compounds.get_column(Compound.lat).cast(pl.Float64).fill_null(np.nan).to_numpy(),
        compounds.get_column(Compound.coord_sys).fill_null("WGS84").to_numpy(),
    )
    return lon, lat, compounds.get_column(Compound.compound_id).cast(pl.String).to_numpy()


def _decisions_frame(decisions: pl.DataFrame | None) -> pl.DataFrame:
    schema = {"source": pl.String, "record_id": pl.String, "decision_id": pl.String, "decision_excluded": pl.Boolean}
    if decisions is None or decisions.height == 0:
        return pl.DataFrame(schema=schema)
    d = decisions.select(
        pl.col("source").cast(pl.String).str.strip_chars(),
        pl.col("record_id").cast(pl.String).str.strip_chars(),
        pl.col("compound_id").cast(pl.String).str.strip_chars().alias("decision_id"),
    )
    excluded = pl.col("decision_id").is_null() | pl.col("decision_id").str.to_uppercase().is_in(list(NOT_IN_ANY))
    # The last decision in the file wins: analysts append corrections.
    return d.with_columns(
        pl.when(excluded).then(None).otherwise(pl.col("decision_id")).alias("decision_id"),
        excluded.alias("decision_excluded"),
    ).unique(["source", "record_id"], keep="last", maintain_order=True)


def _event_decisions(ev: pl.DataFrame, decisions: pl.DataFrame | None, known: pl.Series) -> pl.DataFrame:
    """Per event row: the analyst's decision about its own record or, failing that, about
    any record linked into the incident (a decision on the police record still holds once
    the court's judgment carries the incident)."""
    d = _decisions_frame(decisions)
    unknown = d.filter(pl.col("decision_id").is_not_null() & ~pl.col("decision_id").is_in(known.implode()))
    if unknown.height:
        # Not applied: a decision must name a registered compound (or none at all).
        log.warning("%d review decisions name compounds absent from the registry; not applied: %s",
                    unknown.height, unknown.head(5).rows())
        d = d.join(unknown.select("source", "record_id"), on=["source", "record_id"], how="anti")
    d = d.select(pl.format("{}:{}", "source", "record_id").alias("key"), "decision_id", "decision_excluded")
    if d.height == 0:
        return pl.DataFrame(schema={"_row": pl.Int64, "decision_id": pl.String, "decision_excluded": pl.Boolean})
    own = pl.format("{}:{}", pl.col(CaseEvent.source), pl.col(CaseEvent.record_id))
    links = (
        ev.select(
            pl.int_range(pl.len()).alias("_row"),
            pl.concat_list(own, pl.col(CaseEvent.linked_records).fill_null("").str.split("|")).alias("key"),
        )
        .explode("key")
        .with_columns(pl.int_range(pl.len()).over("_row").alias("_rank"))  # own record first
    )
    return (
        links.join(d, on="key", how="inner")
        .sort("_row", "_rank")
        .unique("_row", keep="first")
        .select("_row", "decision_id", "decision_excluded")
    )


def attribute_events(
    events: DataFrame[CaseEvent],
    compounds: DataFrame[Compound],
    polygons: CompoundPolygons | None,
    *,
    decisions: pl.DataFrame | None = None,
    radius_m: float = 100.0,
    fuzzy_threshold: float = 85.0,
    matcher: AddressMatcher | None = None,
) -> tuple[DataFrame[AttributedEvent], DataFrame[ReviewItem]]:
    """Attribute every event to a compound (or to none) and list the ones to review.
    `matcher` is an `AddressMatcher` of `compounds` built earlier (callers attributing in
    chunks build it once)."""
    ev = events
    n = ev.height
    known = compounds.get_column(Compound.compound_id).cast(pl.String)

    lon_w, lat_w = to_wgs84(
        ev.get_column(CaseEvent.lon).cast(pl.Float64).fill_null(np.nan).to_numpy(),
        ev.get_column(CaseEvent.lat).cast(pl.Float64).fill_null(np.nan).to_numpy(),
        ev.get_column(CaseEvent.coord_sys).fill_null("WGS84").to_numpy(),
    )
    has_xy = np.isfinite(lon_w) & np.isfinite(lat_w)

    # --- evidence ---------------------------------------------------------------------
    if polygons is not None and len(polygons):
        hit = polygons.locate_index(lon_w, lat_w)
        found = pl.Series(polygons.ids.astype(str), dtype=pl.String).gather(np.maximum(hit, 0))
        poly_id = pl.select(pl.when(pl.lit(pl.Series(hit >= 0))).then(pl.lit(found))).to_series()
    else:
        poly_id = pl.Series(values=[None] * n, dtype=pl.String)
    matcher = matcher or AddressMatcher(compounds, threshold=fuzzy_threshold)
    addr = matcher.match(ev.get_column(CaseEvent.address))

    explicit = ev.get_column(CaseEvent.compound_id).cast(pl.String).str.strip_chars()
    unknown_hint = explicit.is_not_null() & (explicit != "") & ~explicit.is_in(known.implode())
    if unknown_hint.any():
        log.warning("%d events name a compound_id absent from the registry; ignored as evidence", int(unknown_hint.sum()))
    ev_explicit = pl.select(pl.when(explicit.is_in(known.implode())).then(explicit)).to_series()

    # The nearest centroid counts only where no outline holds the point, and as a
    # candidate for the reviewer where the outline disagrees with other evidence: the
    # search (the costliest geometry step) runs for those points only.
    ev_address = addr.get_column("compound_id")
    differs = lambda other: (other.is_not_null() & (other != poly_id)).fill_null(False)
    wanted = has_xy & (poly_id.is_null() | differs(ev_explicit) | differs(ev_address)).to_numpy()
    c_lon, c_lat, c_ids = _registry_centroids(compounds)
    near_id = np.full(n, None, dtype=object)
    near_d = np.full(n, np.nan)
    rows = np.flatnonzero(wanted)
    near_id[rows], near_d[rows] = nearest_centroid(lon_w[rows], lat_w[rows], c_lon, c_lat, c_ids,
                                                   radius_m * CANDIDATE_RADIUS_FACTOR)

    frame = pl.DataFrame(
        {
            "_row": np.arange(n),
            "source": ev.get_column(CaseEvent.source).cast(pl.String),
            "record_id": ev.get_column(CaseEvent.record_id).cast(pl.String),
            "lon_wgs84": np.where(has_xy, lon_w, np.nan),
            "lat_wgs84": np.where(has_xy, lat_w, np.nan),
            "ev_explicit": ev_explicit,
            "ev_polygon": poly_id,
            "ev_address": ev_address,
            "addr_score": addr.get_column("score"),
            "addr_detail": addr.get_column("method_detail"),
            "addr_candidates": addr.get_column("candidates"),
            "near_any": pl.Series(near_id.tolist(), dtype=pl.String),
            "near_d": near_d,
        }
    ).with_columns(
        pl.col("lon_wgs84").fill_nan(None),
        pl.col("lat_wgs84").fill_nan(None),
        pl.when(pl.col("near_d") <= radius_m).then(pl.col("near_any")).alias("ev_nearest"),
    )
    frame = frame.join(_event_decisions(ev, decisions, known), on="_row", how="left", maintain_order="left")

    # --- choice by precedence --------------------------------------------------------
    method = (
        pl.when(pl.col("decision_excluded").fill_null(False)).then(pl.lit("excluded"))
        .when(pl.col("decision_id").is_not_null()).then(pl.lit("decision"))
        .when(pl.col("ev_explicit").is_not_null()).then(pl.lit("explicit"))
        .when(pl.col("ev_polygon").is_not_null()).then(pl.lit("polygon"))
        .when(pl.col("ev_address").is_not_null()).then(pl.lit("address"))
        .when(pl.col("ev_nearest").is_not_null()).then(pl.lit("nearest"))
        .otherwise(pl.lit("unmatched"))
    )
    frame = frame.with_columns(method.alias("method"))
    chosen = (
        pl.when(pl.col("method") == "decision").then(pl.col("decision_id"))
        .when(pl.col("method") == "explicit").then(pl.col("ev_explicit"))
        .when(pl.col("method") == "polygon").then(pl.col("ev_polygon"))
        .when(pl.col("method") == "address").then(pl.col("ev_address"))
        .when(pl.col("method") == "nearest").then(pl.col("ev_nearest"))
    )
    base_conf = (
        pl.when(pl.col("method").is_in(["decision", "excluded"])).then(1.0)
        .when(pl.col("method") == "explicit").then(CONFIDENCE["explicit"])
        .when(pl.col("method") == "polygon").then(CONFIDENCE["polygon"])
        .when(pl.col("method") == "address").then(CONFIDENCE["address"] * pl.col("addr_score") / 100.0)
        .when(pl.col("method") == "nearest").then(0.30 + 0.40 * (1.0 - pl.col("near_d") / radius_m))
        .otherwise(0.0)
    )
    # Strong, independent evidence: the department, the outline, an accepted address.
    strong = ["ev_explicit", "ev_polygon", "ev_address"]
    frame = frame.with_columns(
        chosen.alias("compound_id"),
        base_conf.alias("_base"),
        _distinct_count(strong).alias("_n_strong"),
    ).with_columns(
        (
            ~pl.col("method").is_in(["decision", "excluded"]) & (pl.col("_n_strong") > 1)
        ).alias("_disagree"),
        # Independent families of evidence naming the chosen compound: the department,
        # the coordinates (outline, else nearest centroid) and the address.
        pl.sum_horizontal(
            [(e == pl.col("compound_id")).fill_null(False).cast(pl.Int32) for e in _families()]
        ).alias("_agree"),
    ).with_columns(
        pl.when(pl.col("_disagree")).then(pl.col("_base") * DISAGREEMENT_FACTOR)
        .when(pl.col("_agree") > 1).then(pl.min_horizontal(pl.col("_base") + CORROBORATION_BONUS, pl.lit(1.0)))
        .otherwise(pl.col("_base"))
        .clip(0.0, 1.0)
        .alias("confidence"),
        (pl.col("_disagree") | (pl.col("method") == "unmatched")).alias("needs_review"),
    )

    attributed = _attributed_frame(ev, frame)
    review = _review_frame(ev, frame, radius_m)
    return attributed, review


def _distinct_count(columns: list[str]) -> pl.Expr:
    """How many distinct non-null values the columns hold, row by row (no lists built)."""
    count = pl.lit(0, dtype=pl.UInt32)
    for i, c in enumerate(columns):
        new = pl.col(c).is_not_null()
        for earlier in columns[:i]:
            new = new & pl.col(c).ne_missing(pl.col(earlier))
        count = count + new.cast(pl.UInt32)
    return count


def _families() -> list[pl.Expr]:
    return [pl.col("ev_explicit"), pl.coalesce("ev_polygon", "ev_nearest"), pl.col("ev_address")]


def _attributed_frame(ev: pl.DataFrame, frame: pl.DataFrame) -> DataFrame[AttributedEvent]:
    base = ev.drop(CaseEvent.compound_id)
    out = base.with_columns(
        frame.get_column("lon_wgs84"),
        frame.get_column("lat_wgs84"),
        frame.get_column("compound_id"),
        frame.get_column("method"),
        frame.get_column("confidence").cast(pl.Float64),
        frame.get_column("needs_review"),
    )
    cols = list(AttributedEvent.to_schema().columns)
    return AttributedEvent.validate(out.select(cols))


def _candidate_string(radius_m: float) -> pl.Expr:
    """`id:score:method|…`: every compound any kind of evidence pointed at, best first."""
    near_score = (100.0 * (1.0 - pl.col("near_d") / (radius_m * CANDIDATE_RADIUS_FACTOR))).round(0).cast(pl.Int64)
    parts = [
        pl.when(pl.col("ev_explicit").is_not_null()).then(pl.format("{}:100:explicit", pl.col("ev_explicit"))),
        pl.when(pl.col("ev_polygon").is_not_null()).then(pl.format("{}:100:polygon", pl.col("ev_polygon"))),
        pl.when(pl.col("addr_candidates").is_not_null()).then(
            pl.col("addr_candidates").str.split("|").list.eval(pl.element() + pl.lit(":address")).list.join("|")
        ),
        pl.when(pl.col("near_any").is_not_null()).then(
            pl.format("{}:{}:nearest", pl.col("near_any"), near_score)
        ),
    ]
    joined = pl.concat_list(parts).list.drop_nulls().list.join("|")
    return pl.when(joined == "").then(None).otherwise(joined)


def _review_frame(ev: pl.DataFrame, frame: pl.DataFrame, radius_m: float) -> DataFrame[ReviewItem]:
    items = (
        frame.with_columns(
            pl.Series("event_id", ev.get_column(CaseEvent.event_id).cast(pl.String)),
            pl.Series("address", ev.get_column(CaseEvent.address).cast(pl.String)),
        )
        .filter(pl.col("needs_review"))
        .with_columns(_candidate_string(radius_m).alias("candidates"))
        .select(
            "event_id",
            "source",
            "record_id",
            pl.when(pl.col("method") == "unmatched").then(pl.lit("unmatched")).otherwise(pl.lit("disagreement")).alias("reason"),
            "address",
            "lon_wgs84",
            "lat_wgs84",
            pl.col("compound_id").alias("chosen_compound_id"),
            "candidates",
        )
    )
    return ReviewItem.validate(items)
