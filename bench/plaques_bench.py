"""Plaque pipeline at city scale: plan, first print batch (QR SVG+PNG, artwork, proof, zip),
a second date's batch, a pull.

Run: ``python -m bench.plaques_bench [n_compounds] [--workers N] [--compounds CSV] [--decode]
[--no-pull] [--compare REV]``. Prints wall and CPU seconds per stage; CPU counts this process
and its worker processes (``--workers``: render processes for the first batch, as the
pipeline's ``os.cpu_count()``). ``--compounds`` takes the first n compounds of a registry CSV
(e.g. ``/tmp/ss100/data/compounds.csv``) instead of generated ones; ratings are generated.
``--compare REV`` runs the same stages on the plaque code of git revision ``REV`` (exported to
a temporary folder) and prints both side by side: ``python -m bench.plaques_bench 100000
--workers 2 --compounds /tmp/ss100/data/compounds.csv --compare main``.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
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


def city(n: int, seed: int = 7, compounds_csv: str | None = None):
    """(compounds, ratings of D1 and D2): everyone rated on D1; on D2 a veto, a downgrade and
    index-only changes for ~0.5 % of compounds (the night's changes)."""
    import numpy as np
    import polars as pl
    rng = np.random.default_rng(seed)
    if compounds_csv:
        compounds = pl.read_csv(compounds_csv, infer_schema=False, n_rows=n).with_columns(
            pl.col("households", "population").cast(pl.Int64), pl.col("lon", "lat").cast(pl.Float64))
        n = compounds.height
    else:
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


def run(n: int, *, workers: int, compounds_csv: str | None, decode: bool, pull: bool) -> dict:
    from plaques.batch import write_batch
    from plaques.pull import pull_batch
    from plaques.registry import plan_plaques
    from plaques.sign import DEMO_SECRET

    compounds, hist = city(n, compounds_csv=compounds_csv)
    n = compounds.height
    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        out = Path(tmp) / "out"
        p1 = timed(f"plan_plaques, first date ({n})", lambda: plan_plaques(None, hist, compounds, as_of=D1), results)
        b1 = timed(f"write_batch, {p1.actions.height} plaques, {workers} proc", lambda: write_batch(
            p1, compounds, out / D1.isoformat() / "plaques", as_of=D1, base_url=BASE_URL, secret=DEMO_SECRET,
            workers=workers), results)
        p2 = timed("plan_plaques, second date", lambda: plan_plaques(p1.registry, hist, compounds, as_of=D2), results)
        print(f"  second date actions: {p2.actions['action'].value_counts().sort('action').rows()}")
        timed("write_batch, second date", lambda: write_batch(
            p2, compounds, out / D2.isoformat() / "plaques", as_of=D2, base_url=BASE_URL, secret=DEMO_SECRET), results)
        if pull:
            timed("pull_batch (all)", lambda: pull_batch(out, batch="all", to=Path(tmp) / "printer"), results)
        if decode:
            sys.path.insert(0, str(ROOT))
            from tests.plaques.qr_decode import decode_batch
            failures = timed("decode every QR PNG (zxing-cpp)", lambda: decode_batch(b1), results)
            print(f"  QR codes not decoding to their URL: {len(failures)} of {p1.actions.height}")
        size = sum(f.stat().st_size for f in b1.rglob("*") if f.is_file())
        print(f"  first batch: {size / 1e6:.1f} MB, zip {(b1 / (b1.name + '.zip')).stat().st_size / 1e6:.1f} MB",
              flush=True)
    return results


def export_tree(rev: str, into: Path, bench: Path | None = None) -> Path:
    """The project at git revision ``rev`` in ``into``, with this tree's copy of ``bench``
    (default: this bench) for a before/after comparison: the same stages, the other
    revision's code."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    for module in {Path(__file__), Path(bench or __file__)}:  # the bench and these helpers it imports
        shutil.copy2(module, into / "bench" / module.name)
    return into


def run_both(rev: str, bench: Path, argv: list[str] | None) -> dict[str, dict]:
    """Run ``bench`` (a module of bench/) with the same arguments, ``--compare REV`` aside, on
    revision ``rev``'s code and on this tree, each in a child process; returns each run's
    results (the child writes them with ``--json``), by label, the revision first."""
    child = list(argv if argv is not None else sys.argv[1:])
    at = child.index("--compare")
    child = child[:at] + child[at + 2:]
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "tree").mkdir()
        old = export_tree(rev, Path(tmp) / "tree", bench)
        for label, tree in ((rev, old), ("this tree", ROOT)):
            print(f"--- {label}", flush=True)
            res = Path(tmp) / f"{len(runs)}.json"
            subprocess.run([sys.executable, "-m", f"bench.{Path(bench).stem}", *child, "--json", str(res)],
                           check=True, cwd=tree, env=dict(os.environ, PYTHONPATH=str(tree)))
            runs[label] = json.loads(res.read_text())
    return runs


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", nargs="?", type=int, default=2300)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--parallel", action="store_true", help="same as --workers 2")
    ap.add_argument("--compounds", help="a compounds.csv to take the first n compounds from")
    ap.add_argument("--decode", action="store_true", help="also decode every QR PNG with zxing-cpp")
    ap.add_argument("--no-pull", action="store_true", help="skip the pull stage")
    ap.add_argument("--compare", metavar="REV", help="also run the plaque code of git revision REV")
    ap.add_argument("--json", help=argparse.SUPPRESS)  # a child run's results file
    args = ap.parse_args(argv)
    workers = 2 if args.parallel else args.workers
    if not args.compare:
        results = run(args.n, workers=workers, compounds_csv=args.compounds, decode=args.decode,
                      pull=not args.no_pull)
        if args.json:
            Path(args.json).write_text(json.dumps(results))
        return
    runs = run_both(args.compare, Path(__file__), argv)
    (before, a), (after, b) = runs.items()
    print(f"\n{'stage':<40} {before[:18]:>20} {after:>20}   (wall / cpu seconds)")
    for (stage, x), y in zip(a.items(), b.values()):
        print(f"{stage:<40} {x[0]:8.2f} / {x[1]:8.2f}  {y[0]:8.2f} / {y[1]:8.2f}")


if __name__ == "__main__":
    main()
