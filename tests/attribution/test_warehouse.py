"""Attribution in the warehouse: slices placed and changes applied in DuckDB give the same
rows as attributing everything in Polars."""
import duckdb
import polars as pl
import pytest

from attribution.attribute import attribute_events
from attribution.quality import match_rates
from attribution.warehouse import attribute_warehouse, contract_problems
from tests.attribution.test_incremental import _decisions, _night_one, _night_two


@pytest.fixture
def conn():
    with duckdb.connect() as c:
        for schema in ("core", "ops", "marts"):
            c.execute(f"CREATE SCHEMA {schema}").fetchall()
        yield c


def _load_events(conn, events):
    conn.register("ev", events.to_arrow())
    conn.execute("CREATE OR REPLACE TABLE core.case_events AS SELECT * FROM ev").fetchall()
    conn.unregister("ev")


def _table(conn, name):
    return conn.sql(f"SELECT * FROM {name} ORDER BY event_id").pl()


def test_nightly_changes_equal_a_full_attribution(conn, compounds, polygons):
    before_decisions = _decisions([("police", "a", "C2")])
    # Reversed on disk: the order of core.case_events must not matter.
    _load_events(conn, _night_one().reverse())
    first = attribute_warehouse(conn, compounds, polygons, fingerprint="f1", decisions=before_decisions, chunk_rows=2)
    assert first.full and first.fresh == 5
    one, one_review = attribute_events(_night_one(), compounds, polygons, decisions=before_decisions)
    assert _table(conn, "core.attributed_events").equals(one)
    assert _table(conn, "core.review_queue").equals(one_review)

    _load_events(conn, _night_two())
    decisions = _decisions([("police", "g", "C3")])
    loads = []
    second = attribute_warehouse(conn, compounds, lambda: loads.append(1) or polygons, fingerprint="f1",
                                 decisions=decisions, chunk_rows=2)
    full, full_review = attribute_events(_night_two(), compounds, polygons, decisions=decisions)
    assert _table(conn, "core.attributed_events").equals(full)
    assert _table(conn, "core.review_queue").equals(full_review)
    assert conn.sql("SELECT * FROM marts.match_rates").pl().equals(match_rates(full))
    # a (decision withdrawn), b (address changed), f and g (new) placed again; e gone; c, d kept.
    assert (second.full, second.fresh, second.removed) == (False, 4, 1)
    # The outlines of the first run were kept in the warehouse: the file is not parsed again.
    assert loads == []
    # The same night again: only g, which the decisions still name, is placed again (a's
    # row hash was kept when its withdrawn decision placed it afresh).
    third = attribute_warehouse(conn, compounds, polygons, fingerprint="f1", decisions=decisions)
    assert (third.fresh, third.removed) == (1, 0)
    assert _table(conn, "core.attributed_events").equals(full)


def test_unchanged_night_places_nothing(conn, compounds, polygons):
    _load_events(conn, _night_one())
    attribute_warehouse(conn, compounds, polygons, fingerprint="f1")
    before = _table(conn, "core.attributed_events")
    again = attribute_warehouse(conn, compounds, lambda: pytest.fail("outlines loaded for nothing"), fingerprint="f1")
    assert (again.full, again.fresh, again.removed) == (False, 0, 0)
    assert _table(conn, "core.attributed_events").equals(before)


def test_a_new_fingerprint_places_everything(conn, compounds, polygons):
    _load_events(conn, _night_one())
    attribute_warehouse(conn, compounds, polygons, fingerprint="f1")
    moved = compounds.with_columns(pl.when(pl.col("compound_id") == "C1").then(118.3).otherwise("lon").alias("lon"))
    again = attribute_warehouse(conn, moved, polygons, fingerprint="f2")
    assert again.full and again.fresh == 5
    full, _ = attribute_events(_night_one(), moved, polygons)
    assert _table(conn, "core.attributed_events").equals(full)


def test_no_events_leaves_empty_tables(conn, compounds, polygons):
    _load_events(conn, _night_one().clear())
    run = attribute_warehouse(conn, compounds, polygons, fingerprint="f1")
    assert run.events == 0
    assert _table(conn, "core.attributed_events").is_empty()
    assert conn.execute("SELECT count(*) FROM marts.match_rates").fetchall() == [(0,)]


def test_contract_problems_see_duplicates_and_missing_rows(conn, compounds, polygons):
    _load_events(conn, _night_one())
    run = attribute_warehouse(conn, compounds, polygons, fingerprint="f1")
    assert contract_problems(conn, run) == {"duplicate_event_ids": 0, "missing_events": 0}
    conn.execute("INSERT INTO core.attributed_events SELECT * FROM core.attributed_events LIMIT 1").fetchall()
    assert contract_problems(conn, run) == {"duplicate_event_ids": 1, "missing_events": -1}
