"""Shared helpers for benchmarks: wall time and peak memory of a child process."""
from __future__ import annotations

import resource
import subprocess
import sys
import time


def run_measured(argv: list[str], **kwargs) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run a command in a child process; returns (seconds, peak RSS in MiB of the largest child, result)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"benchmark step failed: {' '.join(argv)}")
    return seconds, max(after, before) / 1024, proc


def python(*args: str) -> list[str]:
    return [sys.executable, *args]
