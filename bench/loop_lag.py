"""How late an asyncio event loop runs: the wait a request arriving at that moment would have
before its handler starts (time that neither a server's own request timing nor the client
sees separately)."""
from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path


class LoopLag:
    """Samples the loop's lateness every ``interval`` seconds: (epoch seconds, ms late)."""

    def __init__(self, interval: float = 0.005, save_to: Path | None = None):
        self.interval, self.save_to = interval, save_to
        self.samples: list[tuple[float, float]] = []

    async def watch(self) -> None:
        """Sample until cancelled; with ``save_to``, the samples are written there every
        second (a server may be ended by a signal before any clean-up runs)."""
        loop = asyncio.get_running_loop()
        saved = time.time()
        while True:
            t = loop.time()
            await asyncio.sleep(self.interval)
            self.samples.append((time.time(), (loop.time() - t - self.interval) * 1000))
            if self.save_to is not None and self.samples[-1][0] - saved > 1:
                self.save(self.save_to)
                saved = self.samples[-1][0]

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.samples))


def summary(samples: list[tuple[float, float]], start: float | None = None, stop: float | None = None) -> dict:
    """Percentiles of the lateness (ms) of the samples taken between ``start`` and ``stop``."""
    ms = sorted(lag for t, lag in samples if (start is None or t >= start) and (stop is None or t <= stop))
    if not ms:
        return {"n": 0}

    def pct(q: float) -> float:
        return round(ms[min(len(ms) - 1, int(q * len(ms)))], 1)

    return {"n": len(ms), "p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99), "max": round(ms[-1], 1),
            # share of the time the loop was more than 10 ms late
            "late_10ms_share": round(sum(m > 10 for m in ms) / len(ms), 3)}


def load(path: Path) -> list[tuple[float, float]]:
    try:
        return [tuple(s) for s in json.loads(Path(path).read_text())]
    except (OSError, ValueError):
        return []


def schedstat(pid: int) -> tuple[float, float]:
    """Seconds a process's main thread has spent on a CPU and runnable but waiting for one
    (Linux ``/proc/PID/schedstat``): how much of its time the machine, not the code, took."""
    on_cpu, waiting, _ = Path(f"/proc/{pid}/schedstat").read_text().split()
    return int(on_cpu) / 1e9, int(waiting) / 1e9
