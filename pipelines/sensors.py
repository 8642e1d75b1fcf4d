"""The one sensor on the landing zone: new files start the veto monitor, which owns their
ingestion between nightly runs (ingest, attribute, re-rate the compounds a new veto or
downgrade record affects). One sensor per landing zone, so one new file starts one run;
the warehouse pool (pipelines/dagster.yaml) keeps that run from overlapping a nightly run."""

import hashlib
import json
import os
from pathlib import Path

import dagster as dg

from pipelines.jobs import veto_monitor

SOURCES_DIR_ENV = "SAFESTAR_DATA_DIR"


def landing_zone_fingerprints(data_dir: Path) -> dict[str, str]:
    """path → size:mtime of every file in the landing zone (cheap; ingestion hashes content)."""
    found = {}
    root = data_dir / "sources"
    if root.exists():
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.name != "mapping.yaml":
                stat = path.stat()
                found[str(path.relative_to(data_dir))] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return found


def _on_new_files(context: dg.SensorEvaluationContext, run_config: dict | None = None) -> dg.SensorResult:
    """One run request when files appeared or changed since the cursor (a JSON fingerprint map)."""
    data_dir = Path(os.environ.get(SOURCES_DIR_ENV, "demo/data"))
    seen = json.loads(context.cursor) if context.cursor else {}
    now = landing_zone_fingerprints(data_dir)
    changed = sorted(k for k, v in now.items() if seen.get(k) != v)
    if not changed:
        return dg.SensorResult(skip_reason="no new files", cursor=json.dumps(now, sort_keys=True))
    run_key = hashlib.sha256("\n".join(f"{k}={now[k]}" for k in changed).encode()).hexdigest()[:16]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=run_key, run_config=run_config or {},
                                    tags={"safestar/new_files": str(len(changed))})],
        cursor=json.dumps(now, sort_keys=True),
    )


@dg.sensor(job=veto_monitor, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
def veto_monitor_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Every minute: new or changed files under DATA_DIR/sources/ → ingest them, attribute,
    and re-rate the compounds that a new veto or downgrade record affects, with the alert
    and the plaque order."""
    return _on_new_files(context)
