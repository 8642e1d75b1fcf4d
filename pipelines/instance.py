"""The one persistent Dagster instance the CLI, the UI and the daemon share."""
from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRunStatus

SHIPPED_CONFIG = Path(__file__).with_name("dagster.yaml")
PID_TAG, HOST_TAG = "safestar/pid", "safestar/host"


def dagster_home(out_dir: Path) -> Path:
    """DAGSTER_HOME when the environment sets it, else OUT_DIR/dagster_home."""
    configured = os.environ.get("DAGSTER_HOME")
    return Path(configured) if configured else Path(out_dir) / "dagster_home"


def persistent_instance(out_dir: Path) -> dg.DagsterInstance:
    """The instance of DAGSTER_HOME (made with the shipped dagster.yaml when new)."""
    home = dagster_home(out_dir)
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(SHIPPED_CONFIG, home / "dagster.yaml")
    return dg.DagsterInstance.from_config(str(home))


def cli_run_tags() -> dict[str, str]:
    """Tags that let a later run tell that this process died (see `release_dead_runs`)."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname(), "safestar/started_by": "cli"}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def release_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """CLI runs of this host still marked started whose process is gone (killed): marked
    failed, and their warehouse slot freed, so the next run does not wait for it forever."""
    released = []
    records = instance.get_runs(filters=dg.RunsFilter(statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING],
                                                      tags={HOST_TAG: socket.gethostname()}))
    for run in records:
        pid = run.tags.get(PID_TAG)
        if pid is None or not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        instance.report_run_failed(run, "the process running it is gone (killed); released by the next CLI run")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(run.run_id)
    return released
