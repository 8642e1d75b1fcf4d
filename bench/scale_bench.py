"""Scale benchmark: a full run and a nightly incremental run on a large generated city.

    python -m bench.scale_bench --compounds 100000 --events 10000000   # the issue's goal size
    python -m bench.scale_bench --compounds 10000 --events 1000000     # a quicker look

Reports wall time, peak memory and the time per asset (from the CLI's progress lines).
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

from bench.common import python, run_measured

STEP = re.compile(r"\]\s+(\S+) done in ([0-9.]+)s")


def per_asset(stderr: str) -> dict[str, float]:
    return {m.group(1): float(m.group(2)) for m in STEP.finditer(stderr)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--compounds", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--work", default="/tmp/safestar_scale")
    parser.add_argument("--keep", action="store_true", help="reuse an existing generated city")
    args = parser.parse_args()
    work = Path(args.work)
    data, out = work / "data", work / "out"
    if not (args.keep and (data / "city.json").exists()):
        shutil.rmtree(work, ignore_errors=True)
        secs, mem, _ = run_measured(python("-m", "pipelines.cli", "generate", "--out", str(data),
                                           "--compounds", str(args.compounds), "--events", str(args.events)))
        print(f"generate: {secs:.1f}s, peak {mem:.0f} MiB")
    shutil.rmtree(out, ignore_errors=True)
    city = json.loads((data / "city.json").read_text())
    first = date.fromisoformat(city["first_as_of"])
    env_demo = ["--demo"]
    secs, mem, proc = run_measured(python("-m", "pipelines.cli", "run", "--data", str(data), "--as-of",
                                          first.isoformat(), "--out", str(out), *env_demo))
    print(f"full run ({args.compounds} compounds, {args.events} records): {secs:.1f}s, peak {mem:.0f} MiB")
    for asset, took in sorted(per_asset(proc.stderr).items(), key=lambda kv: -kv[1]):
        print(f"  {asset:32s} {took:7.1f}s")
    second = first + timedelta(days=1)
    secs, mem, proc = run_measured(python("-m", "pipelines.cli", "run", "--data", str(data), "--as-of",
                                          second.isoformat(), "--out", str(out), *env_demo))
    print(f"nightly incremental run (next date, one day of new records): {secs:.1f}s, peak {mem:.0f} MiB")
    for asset, took in sorted(per_asset(proc.stderr).items(), key=lambda kv: -kv[1]):
        print(f"  {asset:32s} {took:7.1f}s")


if __name__ == "__main__":
    main()
