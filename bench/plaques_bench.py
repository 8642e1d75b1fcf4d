"""Plaques at city scale: the nightly plan (registry and print orders, no files), then a
printer's pull of the first batch — every plaque's PDF, artwork and QR codes, the lists, the
proofs and the archive — and the pull of the second date's small batch.

Run: ``python -m bench.plaques_bench [n_compounds] [--workers N] [--no-pull] [--work DIR] [--keep]``.
Prints wall and CPU seconds per stage (CPU counts this process and its worker processes) and
the peak memory. The issue's targets: a 1,000-plaque pull under 60 s (``python -m
bench.plaques_bench 1000 --workers 2``); the first issuance of 100,000 plaques measured
(``python -m bench.plaques_bench 100000 --workers 2``: about 5 GB of files in ``--work``).
"""
from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

DISTRICTS = [("思明区", "350203"), ("湖里区", "350206"), ("海沧区", "350205"), ("集美区", "350211"),
             ("同安区", "350212"), ("翔安区", "350213")]
BASE_URL = "https://safestar.example.cn"
D1, D2 = date(2026, 3, 2), date(2026, 3, 3)
ROOT = Path(__file__).resolve().parents[1]


def generated_compounds(n: int, rng):
    import polars as pl
    d = rng.integers(0, len(DISTRICTS), n)
    return pl.DataFrame({
        "compound_id": [f"XM{k:05d}" for k in range(n)],
        "name": [f"鹭岛{['花园', '新村', '公寓', '雅苑'][k % 4]}{k}号" for k in range(n)],
        "aliases": [None] * n, "district": [DISTRICTS[i][0] for i in d], "district_code": [DISTRICTS[i][1] for i in d],
        "street": ["某某街道"] * n, "community": [None] * n, "grid_code": [None] * n,
        "address": [f"某某路{k}号" for k in range(n)], "households": [300] * n, "population": [900] * n,
        "lon": [118.1] * n, "lat": [24.5] * n, "coord_sys": ["WGS84"] * n,
    }, schema_overrides={"aliases": pl.String, "community": pl.String, "grid_code": pl.String})


def city(n: int, seed: int = 7):
    """(compounds, ratings of D1 and D2): everyone rated on D1; on D2 a veto, a downgrade and
    index-only changes for ~0.5 % of compounds (the night's changes)."""
    import numpy as np
    import polars as pl
    rng = np.random.default_rng(seed)
    compounds = generated_compounds(n, rng)
    stars1 = rng.integers(1, 6, n)
    stars1[1] = 5
    stars2 = stars1.copy()
    moved = rng.random(n) < 0.005
    stars2[moved] = np.clip(stars2[moved] + rng.choice([-1, 1], int(moved.sum())), 1, 5)
    stars2[0], stars2[1] = 0, 4  # a planted veto and a planted downgrade
    status2 = ["vetoed", "downgraded"] + ["rated"] * (n - 2)
    rules2 = ["veto:homicide", "downgrade:burglary"] + [None] * (n - 2)

    def ratings(stars, status, as_of, rules=None):
        return pl.DataFrame({
            "compound_id": compounds["compound_id"], "name": compounds["name"], "district": compounds["district"],
            "street": compounds["street"], "safety_index": [80.0] * n, "stars": stars.astype(np.int8),
            "status": status, "rules": pl.Series(rules or [None] * n, dtype=pl.String),
            "ruleset_version": ["bench"] * n, "as_of": [as_of] * n,
        })
    hist = pl.concat([ratings(stars1, ["rated"] * n, D1), ratings(stars2, status2, D2, rules2)])
    return compounds, hist


def _cpu() -> float:
    own = time.process_time()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own + kids.ru_utime + kids.ru_stime


def timed(label: str, fn, results: dict):
    t, c = time.perf_counter(), _cpu()
    out = fn()
    # CPU seconds too: wall time on a shared machine says more about the neighbours.
    results[label] = (time.perf_counter() - t, _cpu() - c)
    print(f"{label:<40} {results[label][0]:8.2f} s wall {results[label][1]:8.2f} s cpu", flush=True)
    return out


def run(n: int, *, workers: int, work: Path, pull: bool = True) -> dict:
    from pipelines.resources import Warehouse
    from plaques.keys import DEMO_SECRET, Keyring, PlaqueSettings, SigningKey, ensure_recorded
    from plaques.orders import print_orders
    from plaques.pull import pull_batch
    from plaques.registry import plan_plaques

    compounds, history = city(n)
    out = work / "out"
    out.mkdir(parents=True)
    settings = PlaqueSettings(demo=True, base_url=BASE_URL, keyring=Keyring(SigningKey.of(DEMO_SECRET)))
    wh = Warehouse(path=str(out / "warehouse.duckdb"))
    with wh.transaction() as w:
        w.replace_table("core.compounds", compounds)
    results: dict = {}

    def night(registry, as_of):
        import polars as pl

        plan = plan_plaques(registry, history, compounds, as_of=as_of)
        ensure_recorded(out, settings.keyring, as_of)
        orders = print_orders(plan.actions, batch_id=plan.batch_id, settings=settings, as_of=as_of)
        with wh.transaction() as w:
            w.replace_partition("marts.plaques", plan.registry.with_columns(
                pl.lit(as_of).alias("as_of"), pl.lit(True).alias("demo")), "as_of", as_of)
            w.replace_partition("marts.plaque_actions", orders, "as_of", as_of)
        return plan

    first = timed(f"night 1: plan + orders ({n})", lambda: night(None, D1), results)
    timed("night 2: plan + orders", lambda: night(first.registry, D2), results)
    if not pull:
        return results
    pulled = timed(f"pull first batch ({first.actions.height} plaques)",
                   lambda: pull_batch(out, batch=first.batch_id, to=work / "print", workers=workers), results)
    timed("pull second batch", lambda: pull_batch(out, batch="latest", to=work / "print", workers=workers), results)
    size = sum(p.stat().st_size for p in pulled.folders[0].rglob("*") if p.is_file())
    print(f"first batch: {pulled.files_made} files, {size / 1e6:.1f} MB with the archive", flush=True)
    # Only this process: a spawned worker's own figure starts from this process's size at the fork.
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None, help="folder for the warehouse and the pulls")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--no-pull", dest="pull", action="store_false", help="time the nightly decisions only")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="plaques_bench_"))
    try:
        run(args.n, workers=args.workers, work=work, pull=args.pull)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
