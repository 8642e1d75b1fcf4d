"""Attributing only what changed since the last run, keeping every earlier placement.

A placement depends on the event's own evidence (source, record, linked records, address,
coordinates, the department's compound id), on the registry and outlines, and on the
analysts' decisions. With the registry, the outlines and the code unchanged (the caller
checks `attribution_fingerprint`), an event whose evidence is the same as last time gets
the same placement and the same review item, so only these are attributed again:

- new events, and events whose evidence changed (a corrected record, a court judgment
  now carrying the incident);
- every event a decision names, in this run's or the last run's decisions file (so a
  decision added, changed or withdrawn always takes effect).

The result equals `attribute_events` on all events, row for row and in the same order.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
from pandera.typing.polars import DataFrame

from attribution.attribute import _decisions_frame, attribute_events
from geo.address import AddressMatcher
from geo.polygons import CompoundPolygons
from schemas.events import AttributedEvent, CaseEvent, ReviewItem
from schemas.registry import Compound

# The evidence of an event: equal values here give an equal placement.
EVIDENCE = [CaseEvent.event_id, CaseEvent.source, CaseEvent.record_id, CaseEvent.linked_records,
            CaseEvent.address, CaseEvent.lon, CaseEvent.lat, CaseEvent.coord_sys, CaseEvent.compound_id]
PLACEMENT = [AttributedEvent.lon_wgs84, AttributedEvent.lat_wgs84, AttributedEvent.compound_id,
             AttributedEvent.method, AttributedEvent.confidence, AttributedEvent.needs_review]
_SEED = 0x5AFE57A2
CHUNK_ROWS = 1_000_000  # events attributed at a time: bounds the working memory of a large city
_CODE = [Path(__file__).resolve().parents[1] / d for d in ("attribution", "geo")]


def attribution_fingerprint(compounds: pl.DataFrame, polygons_file: Path | None, **params) -> str:
    """What every placement depends on besides the event and the decisions: the registry,
    the outlines file, the parameters and the placing code itself."""
    digest = hashlib.sha256()
    digest.update(compounds.sort(Compound.compound_id).write_csv().encode("utf-8"))
    if polygons_file is not None and Path(polygons_file).exists():
        digest.update(Path(polygons_file).read_bytes())
    # The evidence hashes are Polars (or DuckDB) row hashes: stable for one version only.
    digest.update(repr((sorted(params.items()), pl.__version__, duckdb.__version__)).encode("utf-8"))
    for folder in _CODE:
        for path in sorted(folder.glob("*.py")):
            digest.update(path.name.encode("utf-8"))
            digest.update(path.read_bytes())
    return digest.hexdigest()


def evidence_keys(events: DataFrame[CaseEvent]) -> pl.DataFrame:
    """`event_id`, `evidence` (a 64-bit hash of the event's evidence columns), one row per
    event: kept beside the placements, so the next run can tell which events changed."""
    return events.select(
        pl.col(CaseEvent.event_id),
        events.select(EVIDENCE).hash_rows(seed=_SEED).alias("evidence"),
    )


def attribute_in_chunks(
    events: DataFrame[CaseEvent],
    compounds: DataFrame[Compound],
    polygons: CompoundPolygons | None,
    *,
    decisions: pl.DataFrame | None = None,
    chunk_rows: int = CHUNK_ROWS,
    **params,
) -> tuple[DataFrame[AttributedEvent], DataFrame[ReviewItem]]:
    """`attribute_events` on slices of `chunk_rows` events: each event's placement depends
    only on its own evidence, so the result is the same, and the working memory (address
    candidates, geometry queries) is that of one slice, not of a city's whole history."""
    if events.height <= chunk_rows:
        return attribute_events(events, compounds, polygons, decisions=decisions, **params)
    matcher = AddressMatcher(compounds, threshold=params.get("fuzzy_threshold", 85.0))
    parts = [attribute_events(chunk, compounds, polygons, decisions=decisions, matcher=matcher, **params)
             for chunk in events.iter_slices(chunk_rows)]
    return (AttributedEvent.validate(pl.concat([a for a, _ in parts])),
            ReviewItem.validate(pl.concat([r for _, r in parts])))


def _decided_keys(*decision_frames: pl.DataFrame | None) -> pl.Series:
    """`source:record_id` of every record any of the decision files names."""
    keys = [
        _decisions_frame(d).select(pl.format("{}:{}", "source", "record_id").alias("key"))
        for d in decision_frames
    ]
    return pl.concat(keys).get_column("key").unique()


def attribute_incremental(
    events: DataFrame[CaseEvent],
    compounds: DataFrame[Compound],
    polygons: CompoundPolygons | Callable[[], CompoundPolygons | None] | None,
    *,
    previous: DataFrame[AttributedEvent] | None,
    previous_keys: pl.DataFrame | None,
    previous_review: DataFrame[ReviewItem] | None,
    decisions: pl.DataFrame | None = None,
    previous_decisions: pl.DataFrame | None = None,
    **params,
) -> tuple[DataFrame[AttributedEvent], DataFrame[ReviewItem], int]:
    """`attribute_events` for `events`, reusing `previous` placements (made with the same
    registry, outlines and code) wherever an event's evidence is unchanged (its
    `evidence_keys` row equals the one in `previous_keys`) and no decision names it.
    `polygons` may be a loader, called only when some event is placed afresh. Returns
    (attributed, review queue, number of events attributed afresh)."""
    if previous is None or previous.height == 0 or previous_keys is None:
        outlines = polygons() if callable(polygons) else polygons
        attributed, review = attribute_in_chunks(events, compounds, outlines, decisions=decisions, **params)
        return attributed, review, events.height
    ev = events.with_row_index("_row")
    decided = _decided_keys(decisions, previous_decisions)
    own = pl.format("{}:{}", pl.col(CaseEvent.source), pl.col(CaseEvent.record_id))
    touched = (
        ev.select("_row", pl.concat_list(own, pl.col(CaseEvent.linked_records).fill_null("").str.split("|")).alias("key"))
        .explode("key")
        .filter(pl.col("key").is_in(decided.implode()))
        .get_column("_row")
        .unique()
    )
    kept = (
        evidence_keys(events).with_row_index("_row")
        .filter(~pl.col("_row").is_in(touched.implode()))
        .join(previous_keys.select(CaseEvent.event_id, "evidence"), on=[CaseEvent.event_id, "evidence"], how="inner")
        .join(previous.select(CaseEvent.event_id, *PLACEMENT), on=CaseEvent.event_id, how="inner")
        .unique("_row", keep="first")
        .select("_row", *PLACEMENT)
    )
    fresh_events = ev.join(kept.select("_row"), on="_row", how="anti")
    # Outlines take seconds to load for a large city: only when something is to be placed.
    outlines = (polygons() if callable(polygons) else polygons) if fresh_events.height else None
    fresh, fresh_review = attribute_in_chunks(fresh_events.drop("_row"), compounds, outlines, decisions=decisions,
                                              **params)
    columns = list(AttributedEvent.to_schema().columns)
    reused = ev.select("_row", *[c for c in CaseEvent.to_schema().columns if c != CaseEvent.compound_id]).join(
        kept, on="_row", how="inner")
    attributed = (
        pl.concat([
            reused.select("_row", *columns),
            fresh.with_columns(fresh_events.get_column("_row")).select("_row", *columns),
        ], how="vertical_relaxed")
        .sort("_row")
        .drop("_row")
    )
    order = ev.select(pl.col(CaseEvent.event_id), "_row")
    old_items = (
        previous_review.join(reused.filter(pl.col(AttributedEvent.needs_review)).select(CaseEvent.event_id),
                             on=CaseEvent.event_id, how="semi")
        if previous_review is not None else fresh_review.clear()
    )
    review = (
        pl.concat([old_items.select(fresh_review.columns), fresh_review], how="vertical_relaxed")
        .join(order, on=CaseEvent.event_id, how="left")
        .sort("_row")
        .drop("_row")
    )
    return AttributedEvent.validate(attributed), ReviewItem.validate(review), fresh_events.height
