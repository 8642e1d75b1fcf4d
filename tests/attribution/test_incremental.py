"""Incremental attribution: the same result as attributing everything, with less work."""
import polars as pl

from attribution.attribute import attribute_events
from attribution.incremental import attribute_in_chunks, attribute_incremental, attribution_fingerprint, evidence_keys
from tests.attribution.conftest import make_events

IN_C1 = (118.100, 24.470)
IN_C2 = (118.120, 24.470)
FAR = (118.300, 24.600)


def _night_one():
    return make_events([
        {"record_id": "a", "lon": IN_C1[0], "lat": IN_C1[1]},
        {"record_id": "b", "address": "思明区莲前东路一百零五号2栋"},
        {"record_id": "c", "lon": FAR[0], "lat": FAR[1], "address": "不知道哪里"},      # unmatched → review
        {"record_id": "d", "compound_id": "C3", "lon": IN_C2[0], "lat": IN_C2[1]},   # disagreement → review
        {"record_id": "e", "lon": IN_C2[0], "lat": IN_C2[1]},
    ])


def _night_two():
    # a: unchanged; b: corrected address; c, d: unchanged (still in review); e: gone;
    # f: new; a decision now places e's neighbour g and withdraws nothing.
    return make_events([
        {"record_id": "a", "lon": IN_C1[0], "lat": IN_C1[1]},
        {"record_id": "b", "address": "金榜路1号"},
        {"record_id": "c", "lon": FAR[0], "lat": FAR[1], "address": "不知道哪里"},
        {"record_id": "d", "compound_id": "C3", "lon": IN_C2[0], "lat": IN_C2[1]},
        {"record_id": "f", "lon": IN_C2[0], "lat": IN_C2[1]},
        {"record_id": "g", "lon": FAR[0], "lat": FAR[1]},
    ])


def _decisions(rows):
    return pl.DataFrame(rows, schema={"source": pl.String, "record_id": pl.String, "compound_id": pl.String},
                        orient="row")


def test_equals_a_full_attribution(compounds, polygons):
    first = _night_one()
    before_decisions = _decisions([("police", "a", "C2")])
    prev, prev_review = attribute_events(first, compounds, polygons, decisions=before_decisions)
    second = _night_two()
    # The decision on a is withdrawn, one on g is added.
    decisions = _decisions([("police", "g", "C3")])
    att, review, fresh = attribute_incremental(
        second, compounds, polygons, previous=prev, previous_keys=evidence_keys(first),
        previous_review=prev_review, decisions=decisions, previous_decisions=before_decisions,
    )
    full, full_review = attribute_events(second, compounds, polygons, decisions=decisions)
    assert att.equals(full)
    assert review.equals(full_review)
    by_id = dict(zip(att["record_id"], att["method"]))
    assert by_id["a"] == "polygon" and by_id["g"] == "decision"  # withdrawn and new decisions took effect
    # a (decision changed), b (address changed), f and g (new) were placed again; c and d were kept.
    assert fresh == 4


def test_unchanged_night_reuses_everything(compounds, polygons):
    events = _night_one()
    prev, prev_review = attribute_events(events, compounds, polygons)
    att, review, fresh = attribute_incremental(
        events, compounds, polygons, previous=prev, previous_keys=evidence_keys(events), previous_review=prev_review,
    )
    assert fresh == 0
    assert att.equals(prev) and review.equals(prev_review)
    assert set(review["record_id"]) == {"c", "d"}


def test_without_previous_state_attributes_all(compounds, polygons):
    events = _night_one()
    att, review, fresh = attribute_incremental(events, compounds, polygons, previous=None, previous_keys=None,
                                               previous_review=None)
    full, full_review = attribute_events(events, compounds, polygons)
    assert fresh == events.height and att.equals(full) and review.equals(full_review)


def test_fingerprint_follows_the_registry(compounds, tmp_path):
    outlines = tmp_path / "compounds.geojson"
    outlines.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    base = attribution_fingerprint(compounds, outlines)
    assert base == attribution_fingerprint(compounds.reverse(), outlines)  # row order does not matter
    moved = compounds.with_columns(pl.when(pl.col("compound_id") == "C1").then(118.2).otherwise("lon").alias("lon"))
    assert attribution_fingerprint(moved, outlines) != base
    outlines.write_text('{"type": "FeatureCollection", "features": [] }', encoding="utf-8")
    assert attribution_fingerprint(compounds, outlines) != base


def test_chunks_give_the_same_result(compounds, polygons):
    events = pl.concat([_night_one(), _night_two().filter(pl.col("record_id").is_in(["f", "g"]))])
    decisions = _decisions([("police", "g", "C3")])
    whole, whole_review = attribute_events(events, compounds, polygons, decisions=decisions)
    parts, parts_review = attribute_in_chunks(events, compounds, polygons, decisions=decisions, chunk_rows=2)
    assert parts.equals(whole) and parts_review.equals(whole_review)
