"""The veto monitor and the landing-zone sensors, end to end on a small city."""
from __future__ import annotations

import json
from datetime import date

import dagster as dg
import polars as pl
import pytest

from generator.city import generate_city
from pipelines.cli import run_rating
from pipelines.definitions import build_definitions
from pipelines.resources import default_resources
from pipelines.sensors import veto_monitor_sensor


@pytest.fixture(scope="module")
def rated_once(tmp_path_factory):
    root = tmp_path_factory.mktemp("monitor")
    data, out = root / "data", root / "out"
    generate_city(data, seed=5, n_compounds=250, n_events=5000)
    city = json.loads((data / "city.json").read_text(encoding="utf-8"))
    run_rating(data, out, date.fromisoformat(city["first_as_of"]), demo=True, quiet=True)
    planted = json.loads((data / "truth" / "planted.json").read_text(encoding="utf-8"))
    return data, out, date.fromisoformat(city["second_as_of"]), planted


def _run_monitor(data, out, day: date) -> pl.DataFrame:
    job = build_definitions(default_resources(data, out, demo=True)).resolve_job_def("veto_monitor")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            instance=instance,
            run_config={"ops": {"marts__urgent_alerts": {"config": {"as_of": day.isoformat()}}}},
        )
    assert result.success
    import duckdb
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as conn:
        return conn.sql("SELECT * FROM marts.urgent_alerts WHERE detected_on = ?", params=[day]).pl()


def test_monitor_alerts_and_orders_plaques_for_late_veto_and_downgrade(rated_once):
    data, out, second, planted = rated_once
    alerts = _run_monitor(data, out, second)
    by_id = {r["compound_id"]: r for r in alerts.iter_rows(named=True)}
    assert by_id[planted["late_veto"]]["status_after"] == "vetoed"
    assert by_id[planted["late_downgrade"]]["status_after"] == "downgraded"
    assert by_id[planted["late_downgrade"]]["stars_after"] < by_id[planted["late_downgrade"]]["stars_before"]
    manifests = list((out / "urgent" / "plaques").glob("B*U/manifest.csv"))
    assert len(manifests) == 1
    manifest = pl.read_csv(manifests[0])
    actions = dict(zip(manifest["compound_id"], manifest["action"]))
    assert actions[planted["late_veto"]] == "withdraw"
    assert actions[planted["late_downgrade"]] == "replace"
    assert set(actions) <= set(by_id)


def test_monitor_honours_an_override_excluding_the_veto_incident(rated_once):
    """An analyst who excluded the incident (wrongly placed, say) is not overruled between
    nightly runs: the monitor rates with the same overrides as the nightly run."""
    data, out, second, planted = rated_once
    alerts = _run_monitor(data, out, second)
    veto = alerts.filter(pl.col("compound_id") == planted["late_veto"])
    assert veto.height == 1 and veto["status_after"][0] == "vetoed"
    decisions = data / "decisions"
    decisions.mkdir(exist_ok=True)
    rows = [{"event_id": e, "action": "exclude", "who": "analyst", "why": "not in this compound",
             "when": second.isoformat()} for e in veto["event_ids"][0].split("|")]
    pl.DataFrame(rows).write_csv(decisions / "overrides.csv")
    try:
        after = _run_monitor(data, out, second)
    finally:
        (decisions / "overrides.csv").unlink()
    assert planted["late_veto"] not in after["compound_id"].to_list()
    assert planted["late_downgrade"] in after["compound_id"].to_list()


def test_the_landing_zone_sensor_fires_on_new_files_only(tmp_path, monkeypatch):
    sensor = veto_monitor_sensor
    (tmp_path / "sources" / "police").mkdir(parents=True)
    monkeypatch.setenv("SAFESTAR_DATA_DIR", str(tmp_path))
    first = sensor(dg.build_sensor_context())
    assert not first.run_requests
    (tmp_path / "sources" / "police" / "a.csv").write_text("record_id\n1\n", encoding="utf-8")
    second = sensor(dg.build_sensor_context(cursor=first.cursor))
    assert len(second.run_requests) == 1
    third = sensor(dg.build_sensor_context(cursor=second.cursor))
    assert not third.run_requests
    (tmp_path / "sources" / "police" / "b.csv").write_text("record_id\n2\n", encoding="utf-8")
    fourth = sensor(dg.build_sensor_context(cursor=third.cursor))
    assert len(fourth.run_requests) == 1
    assert fourth.run_requests[0].run_key != second.run_requests[0].run_key
