"""Time the demo-city generator at a given size: `python -m bench.generate_city [compounds] [events]`.

Prints wall and CPU seconds per stage (from the generator's progress messages) and in total.
Defaults to the demo size (2,300 compounds, 60,000 records).
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from generator.city import generate_city


def main(argv: list[str]) -> None:
    n_compounds = int(argv[0]) if argv else 2300
    n_events = int(argv[1]) if len(argv) > 1 else 60000
    t0, c0 = time.perf_counter(), time.process_time()

    def progress(msg: str) -> None:
        print(f"  wall {time.perf_counter() - t0:7.1f}s  cpu {time.process_time() - c0:7.1f}s  {msg}")

    with tempfile.TemporaryDirectory() as tmp:
        summary = generate_city(Path(tmp), n_compounds=n_compounds, n_events=n_events, progress=progress)
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
    print(f"{n_compounds} compounds, {sum(summary['records'].values())} records, {size / 1e6:.0f} MB: "
          f"wall {time.perf_counter() - t0:.1f}s, cpu {time.process_time() - c0:.1f}s")


if __name__ == "__main__":
    main(sys.argv[1:])
