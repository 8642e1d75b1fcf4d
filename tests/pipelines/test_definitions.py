"""The Definitions load, with the asset graph grouped by layer, and so does workspace.yaml."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


import dagster as dg

from pipelines.definitions import defs

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["sources", "canonical_events", "attribution", "ratings", "outputs"]


def test_definitions_load_with_every_layer():
    definitions = defs()
    graph = definitions.resolve_asset_graph()
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == set(LAYERS)
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"raw/case_records", "core/case_events", "core/attributed_events", "marts/ratings",
            "outputs/publication"} <= keys
    assert definitions.resolve_job_def("nightly_rating") is not None
    assert definitions.resolve_schedule_def("nightly_rating_schedule") is not None
    checks = {c.name for c in graph.asset_check_keys}
    assert {"rows_add_up", "matches_contract", "match_rate", "every_compound_rated_once",
            "stars_follow_the_rules", "no_personal_data_in_public_tables", "sources_complete"} <= checks


def test_workspace_file_loads(tmp_path):
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster)] if dagster.exists() else [shutil.which("dagster") or "dagster"]
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    proc = subprocess.run(
        [*command, "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_a_run_process_tunes_the_collector_and_exits_quietly():
    """Loading the definitions (as every run and step process does) freezes the imports out
    of the collector's scans and raises its thresholds; the process still exits without
    extension modules reporting leaked objects."""
    code = ("import gc, sys; import pipelines.definitions as d; "
            "assert gc.get_threshold() == d.GC_THRESHOLDS, gc.get_threshold(); "
            "assert gc.get_freeze_count() > 10_000, gc.get_freeze_count(); "
            "import duckdb; duckdb.connect().execute('select 1').fetchall(); print('ok')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"
    assert "leaked" not in proc.stderr, proc.stderr[-2000:]


def test_one_sensor_owns_the_ingestion_of_new_files():
    """Found: two sensors fired on one new file and both wrote raw/case_records."""
    definitions = defs()
    ingesting = []
    for sensor in definitions.sensors:
        for target in sensor.targets:
            job = definitions.resolve_job_def(target.job_name)
            if dg.AssetKey(["raw", "case_records"]) in job.asset_layer.executable_asset_keys:
                ingesting.append(sensor.name)
    assert ingesting == ["veto_monitor_sensor"]


def test_demo_mode_only_when_asked_for(monkeypatch):
    """Found: under Dagster a missing SAFESTAR_DEMO meant demo mode (the public demo secret)."""
    from pipelines.resources import env_resources

    monkeypatch.delenv("SAFESTAR_DEMO", raising=False)
    assert env_resources()["folders"].demo is False
    for value, demo in [("0", False), ("", False), ("no", False), ("1", True), ("true", True)]:
        monkeypatch.setenv("SAFESTAR_DEMO", value)
        assert env_resources()["folders"].demo is demo, value
