"""Public-site benchmark: ``render_site`` on a real warehouse, this tree against a baseline.

Reads the inputs of two rating dates from a COPY of a warehouse (as the ``public_site``
asset reads them), then, for the baseline (a git revision, default ``main``) and for this
tree, each in its own process: a full render of the first date into an empty folder, then
a nightly render of the second date with ``previous=`` that full render. Prints wall and
CPU seconds (all threads), pages rendered and reused, and whether both trees wrote the
same bytes.

    python -m bench.site_bench --warehouse /tmp/ss100snap/warehouse.duckdb \\
        --first 2026-11-18 --second 2026-11-19 [--baseline main] [--work /tmp/site_bench]
"""
from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INPUTS = ["ratings", "compounds", "stats", "monthly", "history", "plaques", "checkins", "needs"]


def export_inputs(warehouse: Path, as_of: date, folder: Path) -> None:
    """The asset's reads of one rating date, saved as Parquet (so timing excludes DuckDB)."""
    import duckdb
    import polars as pl

    from plaques.sign import resolve_secret
    from plaques.verify import active_plaque_urls

    folder.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        def on(table: str, where: str = "as_of = ?") -> pl.DataFrame:
            return conn.sql(f"SELECT * FROM {table} WHERE {where}", params=[as_of]).pl()

        registry = on("marts.plaques").drop("as_of")
        intake = on("marts.intake_counts")
        frames = {
            "ratings": on("marts.ratings"),
            "compounds": conn.sql("SELECT * FROM core.compounds").pl(),
            "stats": on("marts.public_stats"),
            "monthly": on("marts.public_monthly"),
            "history": on("marts.ratings", "as_of <= ?").sort("as_of", "compound_id"),
            "plaques": active_plaque_urls(registry, base_url="https://safestar.example.cn",
                                          secret=resolve_secret({}, demo=True)),
            "checkins": intake.select("compound_id", pl.col("n_checkins_month").alias("n_month")),
            "needs": intake.select("compound_id", "n_needs_month"),
        }
    for name, frame in frames.items():
        frame.write_parquet(folder / f"{name}.parquet")


def measure(inputs: Path, first: date, second: date, out: Path) -> dict:
    """(Runs inside the tree under test.) Full render of ``first``, nightly of ``second``."""
    import polars as pl

    from reports.site import render_site

    def load(d: date) -> dict:
        return {n: pl.read_parquet(inputs / d.isoformat() / f"{n}.parquet") for n in INPUTS}

    figures = {}
    for label, d, previous in (("full", first, None), ("nightly", second, out / "full")):
        kw = load(d)
        site = out / label
        shutil.rmtree(site, ignore_errors=True)
        t, c = time.perf_counter(), time.process_time()
        written = render_site(site, as_of=d, replies=None, previous=previous, **kw)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        rendered = sum(1 for p in written if p.parent.name == "c")
        figures[label] = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "files": len(written),
                          "compound_pages_rendered": rendered, "compound_pages_reused": kw["ratings"].height - rendered}
    return figures


def page_changes(inputs: Path, first: date, second: date) -> dict:
    """(Runs in this tree.) How many compound pages show something different on ``second``
    than on ``first``, in total and per part of the page (the rating date aside)."""
    import polars as pl

    from reports.site import PAGE_SLOTS, _pattern_values, site_pages

    def values(d: date) -> pl.DataFrame:
        kw = {n: pl.read_parquet(inputs / d.isoformat() / f"{n}.parquet") for n in INPUTS}
        return _pattern_values(site_pages(as_of=d, **kw), d, "/api", True)

    slots = [s if s != "compound_id" else "compound_id_html" for s in PAGE_SLOTS]
    a, b = values(first), values(second)
    both = a.join(b, on="compound_id", how="inner", suffix="_2")
    differs = {s: both[s] != both[s + "_2"] for s in slots}
    out = {"compounds": both.height, "only_on_one_date": a.height + b.height - 2 * both.height}
    any_change = pl.Series([False] * both.height)
    for s in slots:
        any_change = any_change | differs[s]
    out["pages_changed"] = int(any_change.sum())
    from reports.site import AS_OF_PAGE_DATE
    own = pl.Series([False] * both.height)
    for s in slots:
        if s not in AS_OF_PAGE_DATE:
            own = own | differs[s]
    out["pages_rerendered"] = int(own.sum())  # the reuse test leaves the area averages out
    out["per_part"] = {s: int(d.sum()) for s, d in differs.items() if d.sum()}
    return out


def same_files(a: Path, b: Path) -> tuple[int, int, list[str]]:
    """Files compared, files differing (or missing on one side); ``_fingerprints.json`` aside."""
    names = {str(p.relative_to(a)) for p in a.rglob("*") if p.is_file()} | \
            {str(p.relative_to(b)) for p in b.rglob("*") if p.is_file()}
    names.discard("_fingerprints.json")
    differ = sorted(n for n in names if not ((a / n).is_file() and (b / n).is_file()
                                            and filecmp.cmp(a / n, b / n, shallow=False)))
    return len(names), len(differ), differ[:5]


def _run_tree(tree: Path, inputs: Path, first: date, second: date, out: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", "--inputs", str(inputs),
           "--first", first.isoformat(), "--second", second.isoformat(), "--out", str(out)]
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"render failed in {tree}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warehouse", type=Path)
    ap.add_argument("--first", type=date.fromisoformat, required=True)
    ap.add_argument("--second", type=date.fromisoformat, required=True)
    ap.add_argument("--baseline", default="merge-base", help="git revision to compare with "
                    "(default: where this branch left main; '' to skip)")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "site_bench")
    ap.add_argument("--changes", action="store_true", help="only count the pages that change between the dates")
    ap.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.measure:
        sys.path.insert(0, os.getcwd())
        print(json.dumps(measure(a.inputs, a.first, a.second, a.out)))
        return

    work = a.work
    work.mkdir(parents=True, exist_ok=True)
    inputs = work / "inputs"
    if not (inputs / a.second.isoformat() / "needs.parquet").exists():
        if a.warehouse is None:
            raise SystemExit("--warehouse is needed to export the inputs the first time")
        copy = work / "warehouse.duckdb"
        shutil.copyfile(a.warehouse, copy)  # never open the original: DuckDB locks it
        for d in (a.first, a.second):
            export_inputs(copy, d, inputs / d.isoformat())
        copy.unlink()

    print("pages that change from", a.first, "to", a.second, json.dumps(page_changes(inputs, a.first, a.second)), flush=True)
    if a.changes:
        return
    trees = {}
    if a.baseline:
        base = work / "baseline_tree"
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir()
        rev = a.baseline
        if rev == "merge-base":
            rev = subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=ROOT, capture_output=True, text=True,
                                 check=True).stdout.strip()
        archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        trees[f"baseline {rev[:10]}"] = base
    trees["this tree"] = ROOT

    results = {}
    for label, tree in trees.items():
        out = work / ("out_" + ("baseline" if label.startswith("baseline") else "this"))
        results[label] = _run_tree(tree, inputs, a.first, a.second, out)
        print(label, json.dumps(results[label], ensure_ascii=False), flush=True)
    print(f"\nrender_site at {a.first} (full, empty folder) and {a.second} (nightly, previous= the full render)")
    print(f"{'':22}{'wall s':>9}{'CPU s':>9}{'pages rendered':>16}{'reused':>9}")
    for label, r in results.items():
        for kind in ("full", "nightly"):
            f = r[kind]
            print(f"{label + ' ' + kind:22}{f['wall_s']:>9}{f['cpu_s']:>9}{f['compound_pages_rendered']:>16}"
                  f"{f['compound_pages_reused']:>9}")
    if a.baseline:
        for kind in ("full", "nightly"):
            n, bad, some = same_files(work / "out_baseline" / kind, work / "out_this" / kind)
            print(f"{kind}: {n} files compared, {bad} differ" + (f" (e.g. {', '.join(some)})" if bad else ""))


if __name__ == "__main__":
    main()
