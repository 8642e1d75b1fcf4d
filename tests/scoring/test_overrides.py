from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from scoring.engine import score
from scoring.overrides import DecisionsError, apply_overrides, load_appeals, split_appeals
from scoring.rules import load_rules
from tests.scoring.factories import compounds, events

RULES = load_rules()
AS_OF = date(2026, 6, 30)


def city():
    comp = compounds([{"compound_id": c, "population": 500} for c in "ABC"])
    ev = events([
        {"event_id": "police:1", "compound_id": "A", "category_code": "burglary", "occurred_at": date(2026, 5, 1)},
        {"event_id": "police:2", "compound_id": "A", "category_code": "theft", "occurred_at": date(2026, 5, 2),
         "linked_records": "police:2|procuratorate:P9|court:K7"},
        {"event_id": "police:3", "compound_id": "B", "category_code": "homicide", "occurred_at": date(2026, 2, 1)},
    ])
    return comp, ev


def ov(rows):
    base = {"event_id": None, "source": None, "record_id": None, "action": "exclude", "to_compound_id": None,
            "who": "analyst1", "when": "2026-06-01 10:00", "why": "wrong building"}
    return pl.DataFrame([{**base, **r} for r in rows], schema={k: pl.String for k in base})


def test_overrides_change_exactly_the_compounds_they_name():
    comp, ev = city()
    before = score(comp, ev, RULES, AS_OF)
    o = ov([{"event_id": "police:3", "action": "move", "to_compound_id": "C", "why": "geocoded to the wrong gate"}])
    after = score(comp, ev, RULES, AS_OF, overrides=o)
    changed = before.ratings.join(after.ratings, on="compound_id", suffix="_2").filter(
        (pl.col("stars") != pl.col("stars_2")) | (pl.col("safety_index") != pl.col("safety_index_2")))
    assert changed["compound_id"].to_list() == ["B", "C"]
    r = after.ratings.select("compound_id", "status", "rules").rows()
    assert r[1] == ("B", "rated", None) and r[2] == ("C", "vetoed", "veto:homicide")
    x = after.explanations.filter(pl.col("kind") == "override").select("compound_id", "key")
    assert_frame_equal(x, pl.DataFrame({"compound_id": ["B", "C"], "key": ["move_out", "move_in"]}))
    assert "analyst1" in after.explanations.filter(pl.col("kind") == "override")["detail"][0]
    # unaffected compound A: byte-identical rating row
    assert_frame_equal(before.ratings.filter(pl.col("compound_id") == "A"), after.ratings.filter(pl.col("compound_id") == "A"))


def test_exclude_by_linked_record_and_full_log():
    comp, ev = city()
    o = ov([
        {"source": "court", "record_id": "K7"},                                   # a linked record of police:2
        {"event_id": "police:1", "when": "2026-05-01"},                            # superseded by the later one
        {"event_id": "police:1", "action": "move", "to_compound_id": "B", "when": "2026-06-02"},
        {"event_id": "police:404"},                                                # not found
        {"event_id": "police:3", "action": "move", "to_compound_id": "NOPE"},      # unknown compound
        {"event_id": "police:3", "action": "delete"},                              # invalid
        {"event_id": "police:3", "who": ""},                                       # invalid
    ])
    out, log = apply_overrides(ev, o, known_compounds=["A", "B", "C"])
    assert log["status"].to_list() == ["applied", "superseded", "applied", "not_found", "unknown_compound",
                                       "invalid", "invalid"]
    assert log["event_id"][0] == "police:2" and log["from_compound_id"][0] == "A"
    assert all(r is not None for r in log.filter(pl.col("status") != "applied")["reason"])
    got = out.select("event_id", "compound_id", "method").sort("event_id").rows()
    assert got == [("police:1", "B", "decision"), ("police:2", "A", "excluded"), ("police:3", "B", "explicit")]
    res = score(comp, ev, RULES, AS_OF, overrides=o)
    assert res.ratings.select("stars", "status").row(0) == (5, "rated")  # A keeps no counted incident
    a = res.explanations.filter(pl.col("compound_id") == "A")
    assert a.filter(pl.col("kind") == "category").height == 0
    assert sorted(a.filter(pl.col("kind") == "override")["key"]) == ["exclude", "move_out"]
    assert res.overrides_log["status"].to_list() == log["status"].to_list()
    assert res.events.filter(pl.col("method") == "excluded")["event_id"].to_list() == ["police:2"]


def test_appeals_validated_with_chinese_values_and_rejects_named():
    df = pl.DataFrame({
        "compound_id": ["A", "B", "", "C"],
        "filed_at": ["2026-05-01", "2026-05-03", "2026-05-04", "not a date"],
        "status": ["已办结", "under_review", "filed", "filed"],
        "outcome": ["驳回", None, None, None],
        "reply_text": ["物业已整改，加装门禁。", None, None, None],
    })
    good, bad = split_appeals(df)
    assert good.select("compound_id", "status", "outcome").rows() == [("A", "decided", "dismissed"),
                                                                       ("B", "under_review", None)]
    assert good.schema["filed_at"] == pl.Date
    assert bad["row"].to_list() == [3, 4]
    with pytest.raises(DecisionsError, match="row 3: compound_id is empty; row 4: filed_at"):
        load_appeals(df)
    assert load_appeals(df.head(2)).height == 2
    leaky = df.head(1).with_columns(pl.lit("请联系物业 138****1234").alias("reply_text"))
    with pytest.raises(DecisionsError, match="phone or ID"):
        load_appeals(leaky)
    with pytest.raises(DecisionsError, match="missing column"):
        load_appeals(df.drop("status"))
