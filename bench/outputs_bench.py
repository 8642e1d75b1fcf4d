"""Outputs benchmark: the map, rankings, analyst report and common problems at city scale,
before (the reports package at ``--before``, a git commit) and after (this tree), side by
side on the same inputs, with wall and CPU seconds and a byte comparison of what each wrote.

Inputs are read once from a COPY of a warehouse after a full and a nightly run (never the
live file: DuckDB locks it) and the city's compound outlines:

    cp /tmp/ss100snap/warehouse.duckdb /tmp/s2rep/wh.duckdb
    nice python -m bench.outputs_bench --warehouse /tmp/s2rep/wh.duckdb --data /tmp/ss100/data

"full" is the earlier of the warehouse's last two rating dates rendered into an empty
folder; "nightly" is the last date rendered with the full one's outputs as the previous
release (what ``pipelines.publish.previous_release`` hands the assets).
"""
from __future__ import annotations

import argparse
import filecmp
import importlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipelines.inputs import read_polygons
from pipelines.resources import Warehouse

ROOT = Path(__file__).resolve().parents[1]
BASE = "861506e45fb46e817e22b2edaa4a9745075f59d5"  # main before this branch
OUTLINES = ROOT / "generator" / "realdata" / "xiamen_districts.geojson"
PERIOD_MONTHS = 3


def load_before(commit: str) -> str:
    """Materialise ``reports/`` at ``commit`` as the package ``_before`` (imports and the
    template loader pointed at it); returns the package name."""
    root = Path(tempfile.mkdtemp(prefix="outputs_bench_")) / "_before"
    names = subprocess.run(["git", "ls-tree", "-r", "--name-only", commit, "reports/"], cwd=ROOT,
                           check=True, capture_output=True, text=True).stdout.split()
    for name in names:
        data = subprocess.run(["git", "show", f"{commit}:{name}"], cwd=ROOT, check=True, capture_output=True).stdout
        target = root / name[len("reports/"):]
        target.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".py"):
            text = data.decode("utf-8")
            text = re.sub(r"\bfrom reports(\.| import)", r"from _before\1", text)
            text = text.replace('PackageLoader("reports", "templates")', 'PackageLoader("_before", "templates")')
            data = text.encode("utf-8")
        target.write_bytes(data)
    for shared in ("config", "generator"):  # files the modules find relative to the package
        (root.parent / shared).symlink_to(ROOT / shared)
    sys.path.insert(0, str(root.parent))
    return "_before"


def _months_before(day: date, months: int) -> date:
    return pl.select(pl.lit(day).dt.offset_by(f"-{months}mo")).item()


def read_inputs(wh: Warehouse, data: Path, as_of: date) -> dict:
    """Every frame the four assets read for ``as_of``, read the way they read them."""
    on = lambda t: wh.read(t, where="as_of = ?", params=[as_of])
    previous_end = _months_before(as_of, PERIOD_MONTHS)
    since = _months_before(previous_end, PERIOD_MONTHS)
    return {
        "as_of": as_of,
        "compounds": wh.read("core.compounds"),
        "polygons": read_polygons(data),
        "ratings": on("marts.ratings"),
        "history": wh.read("marts.ratings", where="as_of <= ?", params=[as_of]).sort("as_of", "compound_id"),
        "public_stats": on("marts.public_stats"),
        "problems": on("marts.common_problems").drop("as_of"),
        "changes": on("marts.rating_changes"),
        "explanations": on("marts.explanations"),
        "quality": wh.read("marts.data_quality"),
        "match_rates": wh.read("marts.match_rates"),
        "review_size": wh.count("core.review_queue"),
        "intake": on("marts.intake_counts"),
        "events": wh.read(
            "core.attributed_events", columns=["compound_id", "category_group", "method", "occurred_at"],
            where="compound_id IS NOT NULL AND CAST(occurred_at AS DATE) > ? AND CAST(occurred_at AS DATE) <= ?",
            params=[since, as_of]),
        "previous_end": previous_end,
    }


def run_map(pkg: str, x: dict, out: Path, previous: Path | None) -> None:
    layer = importlib.import_module(f"{pkg}.map_layer")
    viewer = importlib.import_module(f"{pkg}.map_viewer")
    problems = importlib.import_module(f"{pkg}.common_problems")
    leading = problems.leading_group(x["public_stats"])
    features = layer.build_features(x["compounds"], x["polygons"], x["ratings"], leading)
    outlines = json.loads(OUTLINES.read_text(encoding="utf-8"))
    layer.write_map_layers(out / "map", features, x["problems"], outlines)
    if "compounds" in inspect.signature(viewer.write_map_viewer).parameters:
        viewer.write_map_viewer(out / "map", compounds=features)
    else:
        viewer.write_map_viewer(out / "map")


def run_rankings(pkg: str, x: dict, out: Path, previous: Path | None) -> None:
    rankings = importlib.import_module(f"{pkg}.rankings")
    rankings.write_rankings(out / "rankings", rankings.build_rankings(x["ratings"], x["compounds"]))


def run_analyst(pkg: str, x: dict, out: Path, previous: Path | None) -> None:
    analyst = importlib.import_module(f"{pkg}.analyst")
    extra = {}
    params = inspect.signature(analyst.render_report).parameters
    if "previous" in params:
        extra["previous"] = previous / "report" if previous is not None else None
    if "history" in params:
        extra["history"] = x["history"]
    else:  # the trend's rows as the asset reads them from the warehouse
        with duckdb.connect() as conn:
            conn.register("history", x["history"].to_arrow())
            extra["trend"] = conn.sql(analyst.trend_counts_sql("history"), params=[x["as_of"]]).pl()
    analyst.render_report(
        out / "report", as_of=x["as_of"], ratings=x["ratings"], changes=x["changes"],
        explanations=x["explanations"], quality=x["quality"], match_rates=x["match_rates"],
        review_size=x["review_size"], problems=x["problems"], intake=x["intake"], **extra)


def run_problems(pkg: str, x: dict, out: Path, previous: Path | None) -> None:
    problems = importlib.import_module(f"{pkg}.common_problems")
    found = problems.common_problems(
        problems.period_stats(x["events"], x["as_of"], PERIOD_MONTHS),
        problems.period_stats(x["events"], x["previous_end"], PERIOD_MONTHS),
        x["compounds"])
    out.mkdir(parents=True, exist_ok=True)
    found.write_parquet(out / "common_problems.parquet")


# output → (runner, the folder or file it writes under the run's folder)
OUTPUTS = {"map": (run_map, "map"), "rankings": (run_rankings, "rankings"), "analyst_report": (run_analyst, "report"),
           "common_problems": (run_problems, "common_problems.parquet")}


def timed(fn, *args) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def differing(a: Path, b: Path) -> list[str]:
    """Files that differ (or exist on one side only) between two output folders."""
    if a.is_file() or b.is_file():
        return [] if a.is_file() and b.is_file() and filecmp.cmp(a, b, shallow=False) else [a.name]
    left = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    right = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    diff = sorted(str(p) for p in left ^ right)
    diff += sorted(str(p) for p in left & right if not filecmp.cmp(a / p, b / p, shallow=False))
    return diff


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warehouse", type=Path, required=True, help="a COPY of the warehouse file")
    ap.add_argument("--data", type=Path, required=True, help="the city's data folder (compounds.geojson)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/outputs_bench"))
    ap.add_argument("--before", default=BASE, help="git commit of the 'before' reports package")
    ap.add_argument("--only", default=",".join(OUTPUTS), help="comma-separated outputs")
    ap.add_argument("--skip-before", action="store_true", help="time this tree only")
    a = ap.parse_args()
    wh = Warehouse(path=str(a.warehouse))
    dates = [d for (d,) in wh.read("marts.ratings", columns=["as_of"]).unique().sort("as_of").rows()]
    full_date, nightly_date = dates[-2], dates[-1]
    t = time.perf_counter()
    inputs = {"full": read_inputs(wh, a.data, full_date)}
    inputs["nightly"] = read_inputs(wh, a.data, nightly_date) | {"polygons": inputs["full"]["polygons"]}
    print(f"inputs read in {time.perf_counter() - t:.1f}s: full {full_date}, nightly {nightly_date}, "
          f"{inputs['nightly']['compounds'].height:,} compounds, {inputs['nightly']['changes'].height:,} changes, "
          f"{inputs['nightly']['explanations'].height:,} explanation rows", flush=True)
    sides = ([("before", load_before(a.before))] if not a.skip_before else []) + [("after", "reports")]
    if a.out.exists():
        shutil.rmtree(a.out)
    rows = []
    for name in a.only.split(","):
        fn, written = OUTPUTS[name]
        figures = {}
        for side, pkg in sides:
            full_out, night_out = a.out / side / "full", a.out / side / "nightly"
            figures[(side, "full")] = timed(fn, pkg, inputs["full"], full_out, None)
            figures[(side, "nightly")] = timed(fn, pkg, inputs["nightly"], night_out, full_out)
        for run in ("full", "nightly"):
            same = ""
            if not a.skip_before:
                diff = differing(a.out / "before" / run / written, a.out / "after" / run / written)
                same = "identical" if not diff else f"{len(diff)} files differ, e.g. {diff[:3]}"
            cells = "  ".join(f"{side} {figures[(side, run)][0]:6.2f}s wall {figures[(side, run)][1]:6.2f}s cpu"
                              for side, _ in sides)
            rows.append(f"{name:16s} {run:8s} {cells}  {same}")
            print(rows[-1], flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f}; outputs under {a.out}")


if __name__ == "__main__":
    main()
