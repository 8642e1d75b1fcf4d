"""Attribution: precedence, confidence, disagreement, decisions, review queue."""
import polars as pl
import pytest

from attribution.attribute import attribute_events
from geo.coords import wgs84_to_bd09, wgs84_to_gcj02
from schemas.events import AttributedEvent, ReviewItem
from tests.attribution.conftest import make_events

IN_C1 = (118.100, 24.470)
IN_C2 = (118.120, 24.470)
NEAR_C3 = (118.1403, 24.4702)   # ~35 m from C3's centroid, outside every outline
FAR = (118.300, 24.600)


def run(events, compounds, polygons, **kw):
    return attribute_events(events, compounds, polygons, **kw)


def by_record(frame):
    return {r["record_id"]: r for r in frame.iter_rows(named=True)}


def test_each_method_in_isolation(compounds, polygons):
    ev = make_events([
        {"record_id": "explicit", "compound_id": "C3"},
        {"record_id": "polygon", "lon": IN_C2[0], "lat": IN_C2[1]},
        {"record_id": "address", "address": "思明区莲前东路一百零五号2栋"},
        {"record_id": "nearest", "lon": NEAR_C3[0], "lat": NEAR_C3[1]},
        {"record_id": "unmatched", "lon": FAR[0], "lat": FAR[1], "address": "不知道哪里"},
    ])
    att, review = run(ev, compounds, polygons)
    rows = by_record(att)
    assert {k: (v["compound_id"], v["method"]) for k, v in rows.items()} == {
        "explicit": ("C3", "explicit"), "polygon": ("C2", "polygon"), "address": ("C3", "address"),
        "nearest": ("C3", "nearest"), "unmatched": (None, "unmatched"),
    }
    conf = {k: v["confidence"] for k, v in rows.items()}
    assert conf["explicit"] > conf["polygon"] > conf["address"] > conf["nearest"] > conf["unmatched"] == 0.0
    assert review["record_id"].to_list() == ["unmatched"] and review["reason"].to_list() == ["unmatched"]


def test_precedence_order(compounds, polygons):
    # Each row adds a stronger kind of evidence pointing elsewhere; the strongest must win.
    ev = make_events([
        {"record_id": "a>n", "lon": NEAR_C3[0], "lat": NEAR_C3[1], "address": "金榜苑"},
        {"record_id": "p>a", "lon": IN_C1[0], "lat": IN_C1[1], "address": "金榜苑"},
        {"record_id": "e>p", "lon": IN_C1[0], "lat": IN_C1[1], "compound_id": "C2"},
        {"record_id": "d>e", "compound_id": "C2", "lon": IN_C1[0], "lat": IN_C1[1]},
    ])
    decisions = pl.DataFrame({"source": ["police"], "record_id": ["d>e"], "compound_id": ["C3"]})
    att, _ = run(ev, compounds, polygons, decisions=decisions)
    rows = by_record(att)
    assert (rows["a>n"]["compound_id"], rows["a>n"]["method"]) == ("C2", "address")
    assert (rows["p>a"]["compound_id"], rows["p>a"]["method"]) == ("C1", "polygon")
    assert (rows["e>p"]["compound_id"], rows["e>p"]["method"]) == ("C2", "explicit")
    assert (rows["d>e"]["compound_id"], rows["d>e"]["method"]) == ("C3", "decision")


def test_unknown_explicit_id_is_ignored(compounds, polygons):
    att, _ = run(make_events([{"compound_id": "NOPE", "lon": IN_C1[0], "lat": IN_C1[1]}]), compounds, polygons)
    assert (att["compound_id"][0], att["method"][0]) == ("C1", "polygon")


def test_disagreement_flagged_and_queued(compounds, polygons):
    ev = make_events([
        {"record_id": "disagree", "lon": IN_C1[0], "lat": IN_C1[1], "address": "金榜路1号"},
        {"record_id": "agree", "lon": IN_C1[0], "lat": IN_C1[1], "address": "湖滨北路12号"},
    ])
    att, review = run(ev, compounds, polygons)
    rows = by_record(att)
    assert rows["disagree"]["needs_review"] and not rows["agree"]["needs_review"]
    assert rows["disagree"]["compound_id"] == "C1"  # precedence still decides
    assert rows["disagree"]["confidence"] < rows["agree"]["confidence"]
    assert rows["agree"]["confidence"] > 0.9  # corroborated by the address
    item = review.row(0, named=True)
    assert (item["record_id"], item["reason"], item["chosen_compound_id"]) == ("disagree", "disagreement", "C1")
    assert "C1:100:polygon" in item["candidates"] and "C2:95:address" in item["candidates"]


def test_unmatched_review_item_lists_candidates(compounds, polygons):
    # ~200 m from C3's centroid: beyond the radius, but a candidate for the reviewer.
    ev = make_events([{"lon": 118.142, "lat": 24.470, "address": "瑞景"}])
    att, review = run(ev, compounds, polygons)
    assert att["method"].to_list() == ["unmatched"] and att["needs_review"].to_list() == [True]
    assert review["candidates"][0].startswith("C3:") and review["candidates"][0].endswith(":nearest")


def test_radius_is_honoured(compounds, polygons):
    ev = make_events([{"lon": 118.142, "lat": 24.470}])
    assert run(ev, compounds, polygons)[0]["method"][0] == "unmatched"
    assert run(ev, compounds, polygons, radius_m=300)[0]["compound_id"][0] == "C3"


def test_decisions_applied_including_not_in_any_compound(compounds, polygons):
    ev = make_events([
        {"record_id": "1", "lon": FAR[0], "lat": FAR[1]},
        {"record_id": "2", "lon": IN_C1[0], "lat": IN_C1[1]},
        {"record_id": "3", "lon": FAR[0], "lat": FAR[1]},
        {"record_id": "1", "source": "court", "lon": FAR[0], "lat": FAR[1]},
    ])
    decisions = pl.DataFrame({
        "source": ["police", "police", "police"],
        "record_id": ["1", "2", "3"],
        "compound_id": ["C2", "NONE", None],
    })
    att, review = run(ev, compounds, polygons, decisions=decisions)
    got = [(r["event_id"], r["compound_id"], r["method"], r["needs_review"]) for r in att.iter_rows(named=True)]
    assert got == [
        ("police:1", "C2", "decision", False),
        ("police:2", None, "excluded", False),
        ("police:3", None, "excluded", False),
        ("court:1", None, "unmatched", True),  # a decision is per source and record
    ]
    assert review["event_id"].to_list() == ["court:1"]


def test_coordinates_in_gcj02_and_bd09_are_converted(compounds, polygons):
    g = wgs84_to_gcj02(*IN_C2)
    b = wgs84_to_bd09(*IN_C1)
    ev = make_events([
        {"lon": float(g[0]), "lat": float(g[1]), "coord_sys": "GCJ02"},
        {"lon": float(b[0]), "lat": float(b[1]), "coord_sys": "BD09"},
        # the same GCJ point read as WGS-84 lands hundreds of metres away, outside C2
        {"lon": float(g[0]), "lat": float(g[1]), "coord_sys": "WGS84"},
    ])
    att, _ = run(ev, compounds, polygons)
    assert att["compound_id"].to_list()[:2] == ["C2", "C1"]
    assert att["compound_id"][2] != "C2"
    assert att["lon_wgs84"][0] == pytest.approx(IN_C2[0], abs=1e-7)


def test_registry_centroids_in_gcj02_are_converted(compounds):
    g = wgs84_to_gcj02(118.140, 24.470)
    reg = compounds.with_columns(
        pl.when(pl.col("compound_id") == "C3").then(float(g[0])).otherwise(pl.col("lon")).alias("lon"),
        pl.when(pl.col("compound_id") == "C3").then(float(g[1])).otherwise(pl.col("lat")).alias("lat"),
        pl.when(pl.col("compound_id") == "C3").then(pl.lit("GCJ02")).otherwise(pl.col("coord_sys")).alias("coord_sys"),
    )
    att, _ = run(make_events([{"lon": NEAR_C3[0], "lat": NEAR_C3[1]}]), reg, None)
    assert (att["compound_id"][0], att["method"][0]) == ("C3", "nearest")


def test_without_polygons_and_with_no_evidence_at_all(compounds):
    att, review = run(make_events([{}]), compounds, None)
    assert att["method"].to_list() == ["unmatched"]
    assert review["candidates"].to_list() == [None]


def test_outputs_follow_the_contract(compounds, polygons):
    ev = make_events([{"lon": IN_C1[0], "lat": IN_C1[1]}, {"address": "金榜苑"}, {}])
    att, review = run(ev, compounds, polygons)
    AttributedEvent.validate(att)
    ReviewItem.validate(review)
    assert att.height == 3 and att["event_id"].to_list() == ev["event_id"].to_list()
    assert att.columns == list(AttributedEvent.to_schema().columns)


def test_decision_on_a_linked_record_follows_the_incident(compounds, polygons):
    ev = make_events([{"source": "court", "record_id": "J1", "lon": FAR[0], "lat": FAR[1]}])
    ev = ev.with_columns(pl.lit("police:P9|court:J1").alias("linked_records"))
    decisions = pl.DataFrame({"source": ["police"], "record_id": ["P9"], "compound_id": ["C2"]})
    att, review = run(ev, compounds, polygons, decisions=decisions)
    assert (att["compound_id"][0], att["method"][0]) == ("C2", "decision")
    assert review.height == 0


def test_decision_naming_an_unknown_compound_is_not_applied(compounds, polygons):
    ev = make_events([{"record_id": "1", "lon": IN_C1[0], "lat": IN_C1[1]}])
    decisions = pl.DataFrame({"source": ["police"], "record_id": ["1"], "compound_id": ["NOPE"]})
    att, _ = run(ev, compounds, polygons, decisions=decisions)
    assert (att["compound_id"][0], att["method"][0]) == ("C1", "polygon")


def test_later_decision_for_the_same_record_wins(compounds, polygons):
    ev = make_events([{"record_id": "1", "lon": FAR[0], "lat": FAR[1]}])
    decisions = pl.DataFrame({"source": ["police", "police"], "record_id": ["1", "1"], "compound_id": ["C1", "C3"]})
    att, _ = run(ev, compounds, polygons, decisions=decisions)
    assert att["compound_id"].to_list() == ["C3"]


def test_no_events_gives_empty_frames(compounds, polygons):
    att, review = run(make_events([{}]).clear(), compounds, polygons)
    assert att.height == 0 and review.height == 0
    assert att.columns == list(AttributedEvent.to_schema().columns)


def test_point_just_outside_an_outline_goes_to_the_nearest_centroid(compounds, polygons):
    # C1's outline ends ~101 m east of its centroid; these points are 121 m, 148 m and
    # 170 m from it, all outside every outline.
    ev = make_events([{"lon": 118.1012, "lat": 24.4700}, {"lon": 118.1003, "lat": 24.4713}, {"lon": 118.1000, "lat": 24.47153}])
    att, _ = run(ev, compounds, polygons, radius_m=150)
    assert att["method"].to_list() == ["nearest", "nearest", "unmatched"]
    assert att["compound_id"].to_list() == ["C1", "C1", None]
