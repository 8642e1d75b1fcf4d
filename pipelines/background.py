"""Files a step hands to a second process, so the run goes on while they are written.

A rating run is one process working asset after asset, mostly on one core. A file that takes
seconds of pure Python and that no later step reads (the rankings workbook: 100,000 rows
through xlsxwriter) is written by a worker process meanwhile, on the other core.
`outputs/publication` waits for every handed-off file before it switches the release, so a
failure fails the run and nothing half-written is published; a process that ends without a
publication step still waits for its worker at exit (concurrent.futures joins it).
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor

_pool: ProcessPoolExecutor | None = None
_pending: list[tuple[str, Future]] = []


def hand_off(what: str, fn, /, *args, **kwargs) -> None:
    """Run ``fn(*args, **kwargs)`` in the worker process (started on first use); ``what``
    names the file in an error. ``fn`` and its arguments must pickle."""
    global _pool
    if _pool is None:
        # spawn, not fork: the run's process holds DuckDB's and Polars' threads
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    _pending.append((what, _pool.submit(fn, *args, **kwargs)))


def wait_all() -> None:
    """Wait for every handed-off file; raises one error naming each that failed."""
    failed = []
    while _pending:
        what, future = _pending.pop(0)
        try:
            future.result()
        except Exception as exc:  # noqa: BLE001 - every failure is named, then raised together
            failed.append(f"{what}: {exc}")
    if failed:
        raise RuntimeError("; ".join(failed) + " (run the date again)")
