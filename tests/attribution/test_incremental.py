"""Two nights of events for the incremental attribution tests (tests/attribution/test_warehouse.py),
and what makes every placement stale: the attribution fingerprint."""
import polars as pl

from attribution.warehouse import attribution_fingerprint
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


def test_fingerprint_follows_the_registry(compounds, tmp_path):
    outlines = tmp_path / "compounds.geojson"
    outlines.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    base = attribution_fingerprint(compounds, outlines)
    assert base == attribution_fingerprint(compounds.reverse(), outlines)  # row order does not matter
    moved = compounds.with_columns(pl.when(pl.col("compound_id") == "C1").then(118.2).otherwise("lon").alias("lon"))
    assert attribution_fingerprint(moved, outlines) != base
    outlines.write_text('{"type": "FeatureCollection", "features": [] }', encoding="utf-8")
    assert attribution_fingerprint(compounds, outlines) != base
