"""One persistent Dagster instance: CLI runs recorded where the UI looks, the shipped
dagster.yaml (telemetry off, warehouse pool of one), and runs that never overlap on the warehouse."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.events import DagsterEventType

from generator.city import generate_city
from pipelines.cli import run_rating
from pipelines.definitions import defs
from pipelines.instance import SHIPPED_CONFIG, open_instance, persistent_instance
from pipelines.resources import WAREHOUSE_POOL

ROOT = Path(__file__).resolve().parents[2]


def test_every_asset_and_check_that_opens_the_warehouse_is_in_its_pool():
    definitions = defs()
    nodes = [*definitions.assets, *definitions.asset_checks]
    users = [n for n in nodes if "warehouse" in n.required_resource_keys]
    assert len(users) >= 15
    assert {n.node_def.name: n.node_def.pool for n in users} == {n.node_def.name: WAREHOUSE_POOL for n in users}


def test_the_shipped_instance_config_turns_telemetry_off_and_limits_the_pool_to_one(tmp_path, monkeypatch):
    config = yaml.safe_load(SHIPPED_CONFIG.read_text(encoding="utf-8"))
    assert config["telemetry"]["enabled"] is False
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with persistent_instance(tmp_path / "out") as instance:
        assert (tmp_path / "out" / "dagster_home" / "dagster.yaml").read_text() == SHIPPED_CONFIG.read_text()
        assert instance.get_settings("telemetry") == {"enabled": False}
        assert instance.event_log_storage.supports_global_concurrency_limits
        instance.event_log_storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
        assert instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).slot_count == 1


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    data = tmp_path_factory.mktemp("instance") / "data"
    generate_city(data, seed=13, n_compounds=50, n_events=700)
    return data, date.fromisoformat(json.loads((data / "city.json").read_text(encoding="utf-8"))["first_as_of"])


def test_a_cli_run_is_recorded_in_the_instance_the_ui_reads(city, tmp_path, monkeypatch):
    """Found: `safestar run` used a throwaway instance; the UI showed nothing materialised."""
    data, as_of = city
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    out = tmp_path / "out"
    run_rating(data, out, as_of, demo=True, quiet=True)
    # What `dagster dev` with DAGSTER_HOME=OUT_DIR/dagster_home (or `safestar ui`) reads:
    with open_instance(out / "dagster_home") as instance:
        runs = instance.get_runs()
        assert len(runs) == 1 and runs[0].job_name == "nightly_rating" and runs[0].is_success
        assert runs[0].tags["dagster/partition"] == as_of.isoformat()
        ratings = dg.AssetKey(["marts", "ratings"])
        assert instance.get_materialized_partitions(ratings) == {as_of.isoformat()}
        assert instance.get_latest_materialization_event(dg.AssetKey(["outputs", "publication"])) is not None
        checks = instance.get_records_for_run(runs[0].run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
        passed = {r.event_log_entry.dagster_event.event_specific_data.check_name for r in checks
                  if r.event_log_entry.dagster_event.event_specific_data.passed}
        assert {"sources_complete", "every_compound_rated_once", "stars_follow_the_rules"} <= passed
        declared = {k.to_user_string().replace("/", ".") for k in defs().resolve_asset_graph().get_all_asset_keys()}
    # Every warehouse table the run wrote is an asset, so the lineage shows what steps read.
    import duckdb
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as conn:
        tables = {f"{s}.{t}" for s, t in conn.sql("SELECT table_schema, table_name FROM information_schema.tables").fetchall()}
    written_elsewhere = {"marts.intake_counts": "core.intake_counts", "marts.plaque_actions": "marts.plaques"}
    assert {written_elsewhere.get(t, t) for t in tables} <= declared, sorted(
        t for t in tables if written_elsewhere.get(t, t) not in declared)
    assert len(tables) >= 30


RUNNER = textwrap.dedent("""
    import sys
    from pipelines.definitions import build_definitions
    from pipelines.instance import open_instance
    from pipelines.resources import default_resources
    data, out, home = sys.argv[1:4]
    job = build_definitions(default_resources(data, out)).resolve_job_def("ingestion")
    with open_instance(home) as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    print(result.run_id)
    sys.exit(0 if result.success else 1)
""")


def test_two_runs_started_together_never_overlap_on_the_warehouse(city, tmp_path):
    """Two processes start the ingestion job on one warehouse at once (as the landing-zone
    sensor, the veto monitor or a CLI run can): every step in the warehouse pool of one run
    starts only after the other run's step has finished."""
    data, _ = city
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(SHIPPED_CONFIG.read_text())
    with open_instance(home):
        pass  # the storage exists before the runs, as the UI or daemon would have made it
    out = tmp_path / "out"
    procs = [subprocess.Popen([sys.executable, "-c", RUNNER, str(data), str(out), str(home)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [
        [line for line in e.splitlines() if "Error" in line or "STEP_FAILURE" in line][:20] or e[-3000:] for _, e in results]
    run_ids = [o.strip().splitlines()[-1] for o, _ in results]
    with open_instance(home) as instance:
        spans = []
        for run_id in run_ids:
            starts, ends = {}, {}
            for entry in instance.all_logs(run_id, of_type={DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}):
                (starts if entry.dagster_event_type == DagsterEventType.STEP_START else ends)[entry.step_key] = entry.timestamp
            assert set(starts) == set(ends) and len(starts) >= 4
            spans += [(starts[k], ends[k], run_id, k) for k in starts]
    spans.sort()
    for (s1, e1, r1, k1), (s2, e2, r2, k2) in zip(spans, spans[1:]):
        assert s2 >= e1, f"{k2} of run {r2[:8]} started before {k1} of run {r1[:8]} ended"
    assert len({r for *_, r, _ in spans}) == 2


def test_a_killed_cli_run_does_not_hold_the_warehouse_slot_forever(tmp_path, monkeypatch):
    """kill -9 leaves a CLI run 'started' with its pool slot claimed; the next CLI run marks it
    failed and frees the slot, or that run would wait for the slot forever."""
    import socket

    from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus

    from pipelines.instance import HOST_TAG, PID_TAG, release_dead_runs

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no longer runs
    with persistent_instance(tmp_path / "out") as instance:
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
        for run_id, pid in (("dead-run", gone.pid), ("live-run", 1)):
            instance.add_run(DagsterRun(job_name="nightly_rating", run_id=run_id, status=DagsterRunStatus.STARTED,
                                        tags={PID_TAG: str(pid), HOST_TAG: socket.gethostname()}))
        assert storage.claim_concurrency_slot(WAREHOUSE_POOL, "dead-run", "marts__ratings").is_claimed
        assert release_dead_runs(instance) == ["dead-run"]
        assert instance.get_run_by_id("dead-run").status == DagsterRunStatus.FAILURE
        assert instance.get_run_by_id("live-run").status == DagsterRunStatus.STARTED
        assert storage.get_concurrency_info(WAREHOUSE_POOL).active_slot_count == 0


HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    conn = duckdb.connect(sys.argv[1])
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
    conn.close()
""")


def test_a_step_waits_for_another_process_holding_the_warehouse(tmp_path):
    """An analyst's DuckDB shell holding the file makes the step wait, not fail; past the
    wait it fails with DuckDB's lock error."""
    from pipelines.resources import Warehouse

    path = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), "2"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(Exception, match="lock"):
        with Warehouse(path=str(path), lock_wait_seconds=0.1).connect():
            pass
    with Warehouse(path=str(path), lock_wait_seconds=30).connect() as conn:
        assert conn.sql("SELECT 1").fetchall() == [(1,)]
    assert holder.wait(timeout=30) == 0
