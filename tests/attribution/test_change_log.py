"""Nightly attribution driven by the incidents' change log: after nights of corrections,
revocations, decisions and runs killed between the incidents step and attribution, the
placements equal attributing every incident from scratch."""
from __future__ import annotations

import random

import duckdb
import polars as pl
import pytest
import shapely

import attribution.warehouse as aw
from attribution.attribute import attribute_events
from attribution.warehouse import KEYS, attribute_warehouse, row_hash_sql
from geo.polygons import CompoundPolygons
from ingest.event_updates import CHANGES, LOG, LOG_STATE, update_case_events
from tests.ingest.conftest import canonical_csv, landing, taxonomy  # noqa: F401 - fixtures
from tests.ingest.test_event_updates import SOURCES, _ingest_night, _next_night, _prefix, _random_rows, _warehouse

N_COMPOUNDS = 30


def _registry() -> tuple[pl.DataFrame, CompoundPolygons]:
    """Compounds C001… where the generated records point (their ids, roads and coordinates),
    a third of them with an outline: every placement method gets some events."""
    rng = random.Random(11)
    ids = [f"C{i:03d}" for i in range(1, N_COMPOUNDS + 1)]
    lon = [118.0 + rng.random() * 0.3 for _ in ids]
    lat = [24.4 + rng.random() * 0.3 for _ in ids]
    compounds = pl.DataFrame({
        "compound_id": ids,
        "name": [f"第{i}花园" for i in range(1, N_COMPOUNDS + 1)],
        "aliases": [None] * N_COMPOUNDS,
        "district": ["思明区"] * N_COMPOUNDS,
        "district_code": ["350203"] * N_COMPOUNDS,
        "street": [None] * N_COMPOUNDS,
        "community": [None] * N_COMPOUNDS,
        "grid_code": [None] * N_COMPOUNDS,
        "address": [f"某路{i}号" for i in range(1, N_COMPOUNDS + 1)],
        "households": [100] * N_COMPOUNDS,
        "population": [None] * N_COMPOUNDS,
        "lon": lon,
        "lat": lat,
        "coord_sys": ["WGS84"] * N_COMPOUNDS,
    }, schema_overrides={"aliases": pl.String, "street": pl.String, "community": pl.String, "grid_code": pl.String,
                         "population": pl.Int64})
    outlined = range(0, N_COMPOUNDS, 3)
    polygons = CompoundPolygons.from_geometries(
        [ids[i] for i in outlined], [shapely.box(lon[i] - 0.02, lat[i] - 0.02, lon[i] + 0.02, lat[i] + 0.02) for i in outlined],
    )
    return compounds, polygons


def _decisions(rows) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"source": pl.String, "record_id": pl.String, "compound_id": pl.String},
                        orient="row")


@pytest.fixture
def nights(landing, taxonomy):  # noqa: F811 - the fixture imported above
    """A city's first night ingested and its incidents built; `night(name)` brings the next
    night's files and ingests them."""
    rng = random.Random(7)
    cases = [f"AJ{i:03d}" for i in range(120)]
    for source in SOURCES:
        ids = [f"{_prefix(source)}{i}" for i in range(200)]
        landing(source, {"a.csv": canonical_csv(*_random_rows(rng, source, ids, cases))})
    data = landing("police", {})
    conn = _warehouse()
    conn.execute("CREATE SCHEMA marts").fetchall()
    seen: set[str] = set()
    _ingest_night(conn, data, seen, taxonomy)

    def night(name: str) -> None:
        _next_night(landing, rng, cases, name)
        _ingest_night(conn, data, seen, taxonomy)

    yield conn, night
    conn.close()


def _attribute(conn, compounds, polygons, decisions=None, *, kill: bool = False):
    """The asset's step: one transaction; `kill` rolls it back, as a run killed before its commit."""
    conn.execute("BEGIN TRANSACTION").fetchall()
    run = attribute_warehouse(conn, compounds, polygons, fingerprint="f", decisions=decisions, chunk_rows=300)
    conn.execute("ROLLBACK" if kill else "COMMIT").fetchall()
    return run


def _assert_as_from_scratch(conn, compounds, polygons, decisions=None) -> None:
    events = conn.sql("SELECT * FROM core.case_events ORDER BY event_id").pl()
    full, full_review = attribute_events(events, compounds, polygons, decisions=decisions)
    assert conn.sql("SELECT * FROM core.attributed_events ORDER BY event_id").pl().equals(full)
    assert conn.sql("SELECT * FROM core.review_queue ORDER BY event_id").pl().equals(full_review)
    # The row hashes stay those of every incident: the fallback's basis is intact.
    keys = conn.sql(f"SELECT * FROM {KEYS} ORDER BY event_id").fetchall()
    assert keys == conn.sql(f"SELECT event_id, {row_hash_sql()} FROM core.case_events e ORDER BY event_id").fetchall()


def test_nights_with_missed_runs_equal_a_full_attribution(nights, taxonomy):  # noqa: F811
    conn, night = nights
    compounds, polygons = _registry()
    update_case_events(conn, taxonomy)
    first = _attribute(conn, compounds, polygons)
    assert first.full
    methods = set(conn.sql("SELECT DISTINCT method FROM core.attributed_events").pl()["method"])
    assert {"explicit", "polygon", "address"} <= methods

    # Night 2: the incidents step commits, then the run is killed before attribution commits.
    night("n2")
    update_case_events(conn, taxonomy)
    night_two = set(conn.sql(f"SELECT event_id FROM {CHANGES}").pl()["event_id"])
    _attribute(conn, compounds, polygons, kill=True)
    # Night 3: the incidents step runs again (its change list replaces night 2's), then attribution.
    night("n3")
    update_case_events(conn, taxonomy)
    night_three = set(conn.sql(f"SELECT event_id FROM {CHANGES}").pl()["event_id"])
    assert night_two - night_three  # night 2 changed incidents that night 3's list does not name
    run = _attribute(conn, compounds, polygons)
    assert run.logged and not run.full
    assert 0 < run.fresh < run.events and run.removed > 0
    _assert_as_from_scratch(conn, compounds, polygons)

    # Night 4: a decision, and two incidents runs in a row without an attribution between them.
    night("n4")
    update_case_events(conn, taxonomy)
    night("n5")
    update_case_events(conn, taxonomy)
    decisions = _decisions([(s, r, "C001") for s, r in conn.sql(
        "SELECT source, record_id FROM core.case_events ORDER BY event_id LIMIT 3").fetchall()])
    run = _attribute(conn, compounds, polygons, decisions)
    assert run.logged
    _assert_as_from_scratch(conn, compounds, polygons, decisions)
    # Night 6: the decision withdrawn; nothing else new — the decided events are placed again.
    update_case_events(conn, taxonomy)
    run = _attribute(conn, compounds, polygons)
    assert run.logged and run.fresh == 3
    _assert_as_from_scratch(conn, compounds, polygons)


def test_a_reader_of_only_the_last_change_list_would_miss_changes(nights, taxonomy, monkeypatch):  # noqa: F811
    """The test above has teeth: attribution that reads only the last run's
    `ops.case_event_changes` misses what a killed night changed."""
    conn, night = nights
    compounds, polygons = _registry()
    update_case_events(conn, taxonomy)
    _attribute(conn, compounds, polygons)
    night("n2")
    update_case_events(conn, taxonomy)
    night("n3")
    update_case_events(conn, taxonomy)
    monkeypatch.setattr(aw, "changes_since", lambda c, seen: f"SELECT event_id FROM {CHANGES}")
    _attribute(conn, compounds, polygons)
    with pytest.raises(AssertionError):
        _assert_as_from_scratch(conn, compounds, polygons)


def test_what_the_log_cannot_prove_is_diffed_in_full(nights, taxonomy, monkeypatch):  # noqa: F811
    conn, night = nights
    compounds, polygons = _registry()
    update_case_events(conn, taxonomy)
    _attribute(conn, compounds, polygons)
    # A full incidents build since the last attribution: another lineage.
    night("n2")
    conn.execute("UPDATE ops.case_events_state SET fingerprint = 'an older taxonomy'").fetchall()
    assert update_case_events(conn, taxonomy).mode == "full"
    run = _attribute(conn, compounds, polygons)
    assert not run.logged and run.fresh > 0
    _assert_as_from_scratch(conn, compounds, polygons)
    # More runs missed than the log keeps.
    monkeypatch.setattr("ingest.event_updates.KEEP_GENERATIONS", 1)
    night("n3")
    update_case_events(conn, taxonomy)
    update_case_events(conn, taxonomy)  # a second run (nothing new): night 3's list is dropped
    run = _attribute(conn, compounds, polygons)
    assert not run.logged and run.fresh > 0
    _assert_as_from_scratch(conn, compounds, polygons)
    # The log tables gone: a new lineage, diffed in full once, then the log again.
    monkeypatch.undo()
    conn.execute(f"DROP TABLE {LOG_STATE}").fetchall()
    conn.execute(f"DROP TABLE {LOG}").fetchall()
    night("n4")
    update_case_events(conn, taxonomy)
    run = _attribute(conn, compounds, polygons)
    assert not run.logged and run.fresh > 0
    _assert_as_from_scratch(conn, compounds, polygons)
    update_case_events(conn, taxonomy)
    assert _attribute(conn, compounds, polygons).logged
    _assert_as_from_scratch(conn, compounds, polygons)
