"""The one persistent Dagster instance the CLI, the UI and the daemon share."""
from __future__ import annotations

import fcntl
import functools
import os
import shutil
import socket
import threading
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster import StringSource
from dagster._core.storage.dagster_run import DagsterRunStatus
from dagster._core.storage.event_log import SqliteEventLogStorage

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
    return open_instance(home)


def open_instance(home: Path) -> dg.DagsterInstance:
    """The instance whose dagster.yaml is in ``home``; the shipped one reads DAGSTER_HOME, as
    the UI and the daemon always have it, so it is set to ``home`` while the instance is made."""
    before = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(Path(home).resolve())
    try:
        return dg.DagsterInstance.from_config(str(home))
    finally:
        if before is None:
            del os.environ["DAGSTER_HOME"]
        else:
            os.environ["DAGSTER_HOME"] = before


def _under_pool_lock(method):
    """``method`` of the storage, run holding the storage's pool lock."""
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._pool_lock():
            return method(self, *args, **kwargs)
    return locked


class PoolSafeEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log where the default instance keeps it (DAGSTER_HOME/storage),
    with the pools' slots changed by one process at a time. Dagster claims a slot with
    SELECT ... FOR UPDATE, which SQLite ignores, so two runs started together could both take
    the warehouse pool's one slot and overlap on the DuckDB file (seen: two `compounds` steps
    at once). Every claim, free and limit change here holds one file lock."""

    _held = threading.local()

    @classmethod
    def config_type(cls):
        return {"dagster_home": StringSource}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(base_dir=str(Path(config_value["dagster_home"]) / "storage"), inst_data=inst_data)

    @contextmanager
    def _pool_lock(self):
        if getattr(self._held, "depth", 0):  # already held by this thread: flock on a second fd would wait on itself
            yield
            return
        with open(Path(self._base_dir) / "pools.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
            self._held.depth = 1
            try:
                yield
            finally:
                self._held.depth = 0

    claim_concurrency_slot = _under_pool_lock(SqliteEventLogStorage.claim_concurrency_slot)
    initialize_concurrency_limit_to_default = _under_pool_lock(SqliteEventLogStorage.initialize_concurrency_limit_to_default)
    set_concurrency_slots = _under_pool_lock(SqliteEventLogStorage.set_concurrency_slots)
    free_concurrency_slot_for_step = _under_pool_lock(SqliteEventLogStorage.free_concurrency_slot_for_step)
    free_concurrency_slots_for_run = _under_pool_lock(SqliteEventLogStorage.free_concurrency_slots_for_run)


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
