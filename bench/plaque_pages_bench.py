"""Verification pages at city scale: ``render_verification_pages`` for a full render and for
a nightly one (hard links from the previous site), by writer-thread count, and optionally
against the page layout of another git revision side by side.

Run: ``python -m bench.plaque_pages_bench [n] [--threads 1 4] [--repeat 3] [--compare REV]``,
e.g. ``nice -n 10 python -m bench.plaque_pages_bench 100000 --compare HEAD~4`` (the folder
layout ``p/<serial>/<signature>/index.html`` before this branch). Prints wall, CPU and kernel
(system) seconds per stage; the nightly figure is the best of ``--repeat`` runs (the machine
is shared). The city is ``bench.plaques_bench.city`` (one plaque per compound, ~0.5 % of
pages changing on the second date).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from bench.plaques_bench import D1, D2, city, run_both


def _clock() -> tuple[float, float, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), r.ru_utime + r.ru_stime, r.ru_stime


def _timed(fn) -> tuple[tuple[float, float, float], object]:
    a = _clock()
    out = fn()
    b = _clock()
    return tuple(y - x for x, y in zip(a, b)), out


def run(n: int, threads: list[int], repeat: int) -> dict[str, list[float]]:
    from plaques import pages
    from plaques.registry import plan_plaques
    from plaques.sign import DEMO_SECRET

    compounds, hist = city(n)
    p1 = plan_plaques(None, hist, compounds, as_of=D1)
    p2 = plan_plaques(p1.registry, hist, compounds, as_of=D2)
    first = hist.filter(hist["as_of"] == D1)
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        for t in threads:
            pages.THREADS = t
            site1, site2 = Path(tmp) / "site1", Path(tmp) / "site2"
            full, _ = _timed(lambda: pages.render_verification_pages(
                site1, p1.registry, first, base_url="https://safestar.example.cn", secret=DEMO_SECRET))
            best = None
            for _ in range(repeat):
                shutil.rmtree(site2, ignore_errors=True)
                os.sync()  # the last run's dirty pages are not this one's cost
                night, written = _timed(lambda: pages.render_verification_pages(
                    site2, p2.registry, hist, base_url="https://safestar.example.cn", secret=DEMO_SECRET,
                    previous=site1))
                best = night if best is None or night[0] < best[0] else best
            folders = sum(1 for _, dirs, _ in os.walk(site2) for _ in dirs)
            for label, fig in ((f"full, {t} thread(s)", full), (f"nightly, {t} thread(s)", best)):
                results[label] = list(fig)
                print(f"{label:<24} {fig[0]:7.2f} s wall {fig[1]:7.2f} s cpu {fig[2]:7.2f} s sys", flush=True)
            print(f"  nightly: {len(written)} pages rendered, {folders} folders in the site", flush=True)
            shutil.rmtree(site1)
            shutil.rmtree(site2)
    return results


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", nargs="?", type=int, default=20000)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--compare", metavar="REV", help="also run the plaque code of git revision REV")
    ap.add_argument("--json", help=argparse.SUPPRESS)  # a child run's results file
    args = ap.parse_args(argv)
    if not args.compare:
        results = run(args.n, args.threads, args.repeat)
        if args.json:
            Path(args.json).write_text(json.dumps(results))
        return
    runs = run_both(args.compare, Path(__file__), argv)
    (before, a), (after, b) = runs.items()
    print(f"\n{'stage':<24} {before[:26]:>26} {after:>26}   (wall / cpu / sys seconds)")
    for stage in a:
        x, y = a[stage], b.get(stage, [float("nan")] * 3)
        print(f"{stage:<24} {x[0]:8.2f}/{x[1]:7.2f}/{x[2]:7.2f}  {y[0]:8.2f}/{y[1]:7.2f}/{y[2]:7.2f}")


if __name__ == "__main__":
    main()
