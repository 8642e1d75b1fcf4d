"""`python -m generator --out DIR [--seed N --compounds N --events N --months N --end YYYY-MM-DD]`."""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

from generator.city import generate_city


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m generator", description="Write the SafeStar demo city.")
    p.add_argument("--out", required=True, type=Path, help="data directory to write")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--compounds", type=int, default=2300)
    p.add_argument("--events", type=int, default=60000)
    p.add_argument("--months", type=int, default=13)
    p.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 20))
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    summary = generate_city(a.out, seed=a.seed, n_compounds=a.compounds, n_events=a.events, months=a.months,
                            end=a.end, progress=lambda m: print(f"[{time.perf_counter() - t0:6.1f}s] {m}",
                                                                file=sys.stderr))
    print(json.dumps({k: summary[k] for k in ("compounds", "records", "bad_rows", "revoked")}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
