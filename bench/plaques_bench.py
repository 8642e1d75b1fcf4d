"""Plaque pipeline at demo-city scale: plan, batch (QR SVG+PNG, artwork, proof, zip),
verification pages and a pull, for ~2,300 compounds on two rating dates.

Run: ``python -m bench.plaques_bench [n_compounds] [--decode] [--parallel]``; prints
seconds per stage (``--decode`` also decodes every QR PNG with zxing-cpp; ``--parallel``
renders with two worker processes).
"""
from __future__ import annotations

import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from plaques.batch import write_batch
from plaques.pages import render_verification_pages
from plaques.pull import pull_batch
from plaques.registry import plan_plaques
from plaques.sign import DEMO_SECRET

DISTRICTS = [("思明区", "350203"), ("湖里区", "350206"), ("海沧区", "350205"), ("集美区", "350211"),
             ("同安区", "350212"), ("翔安区", "350213")]
BASE_URL = "https://safestar.example.cn"


def city(n: int, seed: int = 7) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    d = rng.integers(0, len(DISTRICTS), n)
    ids = [f"XM{k:05d}" for k in range(n)]
    compounds = pl.DataFrame({
        "compound_id": ids, "name": [f"鹭岛{['花园', '新村', '公寓', '雅苑'][k % 4]}{k}号" for k in range(n)],
        "aliases": [None] * n, "district": [DISTRICTS[i][0] for i in d], "district_code": [DISTRICTS[i][1] for i in d],
        "street": ["某某街道"] * n, "community": [None] * n, "grid_code": [None] * n,
        "address": [f"某某路{k}号" for k in range(n)], "households": [300] * n, "population": [900] * n,
        "lon": [118.1] * n, "lat": [24.5] * n, "coord_sys": ["WGS84"] * n,
    })
    stars1 = rng.integers(1, 6, n)
    stars1[1] = 5
    stars2 = stars1.copy()
    stars2[0], stars2[1] = 0, 4  # a planted veto and a planted downgrade
    status2 = ["vetoed", "downgraded"] + ["rated"] * (n - 2)
    rules2 = ["veto:homicide", "downgrade:burglary"] + [None] * (n - 2)

    def ratings(stars, status, as_of, rules=None):
        return pl.DataFrame({
            "compound_id": ids, "name": compounds["name"], "district": compounds["district"],
            "street": compounds["street"], "safety_index": [80.0] * n, "stars": stars.astype(np.int8),
            "status": status, "rules": pl.Series(rules or [None] * n, dtype=pl.String), "ruleset_version": ["bench"] * n, "as_of": [as_of] * n,
        })
    hist = pl.concat([ratings(stars1, ["rated"] * n, date(2026, 3, 2)), ratings(stars2, status2, date(2026, 3, 3), rules2)])
    return compounds, hist


def timed(label: str, fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    # CPU seconds too: wall time on a shared machine says more about the neighbours.
    print(f"{label:<38} {time.perf_counter() - t:7.2f} s wall {time.process_time() - c:7.2f} s cpu")
    return out


def main(n: int = 2300, decode: bool = False, workers: int = 1) -> None:
    compounds, hist = city(n)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        d1, d2 = date(2026, 3, 2), date(2026, 3, 3)
        p1 = timed(f"plan_plaques, first date ({n})", lambda: plan_plaques(None, hist, compounds, as_of=d1))
        b1 = timed(f"write_batch, {p1.actions.height} new plaques", lambda: write_batch(
            p1, compounds, out / d1.isoformat() / "plaques", as_of=d1, base_url=BASE_URL, secret=DEMO_SECRET, workers=workers))
        p2 = timed("plan_plaques, second date", lambda: plan_plaques(p1.registry, hist, compounds, as_of=d2))
        print(f"  second date actions: {p2.actions['action'].value_counts().sort('action').rows()}")
        timed("write_batch, second date", lambda: write_batch(
            p2, compounds, out / d2.isoformat() / "plaques", as_of=d2, base_url=BASE_URL, secret=DEMO_SECRET))
        pages = timed("render_verification_pages", lambda: render_verification_pages(
            Path(tmp) / "site", p2.registry, hist, base_url=BASE_URL, secret=DEMO_SECRET))
        timed("pull_batch (all)", lambda: pull_batch(out, batch="all", to=Path(tmp) / "printer"))
        if decode:
            from tests.plaques.qr_decode import decode_batch
            failures = timed("decode every QR PNG (zxing-cpp)", lambda: decode_batch(b1))
            print(f"  QR codes not decoding to their URL: {len(failures)} of {p1.actions.height}")
        size = sum(f.stat().st_size for f in b1.rglob("*") if f.is_file())
        print(f"  first batch: {size / 1e6:.1f} MB, zip {(b1 / (b1.name + '.zip')).stat().st_size / 1e6:.1f} MB; "
              f"{len(pages)} verification pages")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 2300, decode="--decode" in sys.argv,
         workers=2 if "--parallel" in sys.argv else 1)
