from datetime import date

import polars as pl
from polars.testing import assert_frame_equal

from scoring.history import rating_changes

D1, D2 = date(2026, 5, 31), date(2026, 6, 30)


def ratings(as_of, rows):
    return pl.DataFrame(
        [{"compound_id": c, "name": c, "district": "d", "street": "s", "safety_index": i, "stars": s,
          "status": st, "rules": r, "ruleset_version": "v", "as_of": as_of} for c, i, s, st, r in rows],
        schema_overrides={"stars": pl.Int8, "safety_index": pl.Float64, "rules": pl.String})


def test_every_kind_of_change():
    prev = ratings(D1, [
        ("up", 80.0, 4, "rated", None), ("down", 95.0, 5, "rated", None), ("veto", 95.0, 5, "rated", None),
        ("rest", 60.0, 0, "vetoed", "veto:robbery"), ("nr", 90.0, 5, "rated", None),
        ("same", 91.0, 5, "rated", None), ("was_nr", None, 0, "not_rated", None),
    ])
    cur = ratings(D2, [
        ("up", 91.0, 5, "rated", None), ("down", 95.0, 4, "downgraded", "downgrade:burglary"),
        ("veto", 70.0, 0, "vetoed", "veto:homicide"), ("rest", 88.0, 4, "rated", None),
        ("nr", None, 0, "not_rated", None), ("same", 91.0, 5, "rated", None),
        ("was_nr", 93.0, 5, "rated", None), ("fresh", 99.0, 5, "rated", None),
    ])
    ch = rating_changes(prev, cur)
    expected = pl.DataFrame({
        "compound_id": ["up", "down", "veto", "rest", "nr", "same", "was_nr", "fresh"],
        "change": ["up", "down", "vetoed", "restored", "not_rated", "unchanged", "new", "new"],
        "stars_before": [4, 5, 5, 0, 5, 5, 0, None],
        "stars_after": [5, 4, 0, 4, 0, 5, 5, 5],
    }, schema_overrides={"stars_before": pl.Int8, "stars_after": pl.Int8})
    assert_frame_equal(ch.select(expected.columns), expected)
    reason = dict(zip(ch["compound_id"], ch["reason"], strict=True))
    assert "rules fired: downgrade:burglary" in reason["down"]
    assert "rules fired: veto:homicide" in reason["veto"] and "rules lapsed: veto:robbery" in reason["rest"]
    assert reason["up"] == "index 80.0 → 91.0" and reason["same"] is None
    assert ch["previous_as_of"].to_list() == [D1] * 7 + [None]


def test_first_run_and_history_with_several_dates():
    cur = ratings(D2, [("a", 91.0, 5, "rated", None)])
    assert rating_changes(None, cur)["change"].to_list() == ["new"]
    older = ratings(date(2026, 4, 30), [("a", 50.0, 2, "rated", None)])
    last = ratings(D1, [("a", 85.0, 4, "rated", None)])
    rerun = ratings(D2, [("a", 10.0, 1, "rated", None)])  # a row of the same date is not "previous"
    ch = rating_changes(pl.concat([last, older, rerun]), cur)
    assert ch.select("previous_as_of", "change", "stars_before").row(0) == (D1, "up", 4)
