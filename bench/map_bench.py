"""Map benchmark: 100,000 synthetic compounds through the map layer and the viewer.

Times the Python side (features with and without the geometry cache, GeoJSON layers,
viewer data) and, in headless Chromium, the page's load-to-first-draw, a full redraw, a
filter change and zoom/pan redraws.

    python -m bench.map_bench [--n 100000] [--polygons 0.0] [--out /tmp/map_bench] [--no-browser]
"""
from __future__ import annotations

import argparse
import inspect
import shutil
import statistics
import time
from datetime import date
from pathlib import Path


import reports.analyst  # noqa: F401 - the template environment's imports: paid once by a run, not by the map
from reports.common_problems import common_problems, leading_group
from reports.map_layer import GeometryCache, build_features, write_map_layers
from reports.map_viewer import write_map_viewer
from tests.reports import fakecity

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _timed(label: str, fn, figures: dict):
    t = time.perf_counter()
    out = fn()
    figures[label] = time.perf_counter() - t
    return out


def build(n: int, polygon_share: float, out: Path) -> dict:
    figures: dict = {}
    as_of = date(2026, 11, 1)
    comp = _timed("generate city (s)", lambda: fakecity.compounds(n), figures)
    every = max(1, round(1 / polygon_share)) if polygon_share > 0 else None
    polys = fakecity.polygons(comp, every=every, half=0.0003) if every else None
    ratings = fakecity.ratings(comp, as_of)
    stats = fakecity.public_stats(comp, as_of, seed=2)
    prev = fakecity.public_stats(comp, as_of, seed=1)
    probs = _timed("common_problems (s)", lambda: common_problems(stats, prev, comp), figures)
    lead = leading_group(stats)
    _timed("build_features, no cache (s)", lambda: build_features(comp, polys, ratings, lead), figures)
    shutil.rmtree(out / "cache", ignore_errors=True)
    cache = GeometryCache(out / "cache", "outlines")
    _timed("build_features, cache miss (s)", lambda: build_features(comp, polys, ratings, lead, cache=cache), figures)
    feats = _timed("build_features, cache hit (s)",
                   lambda: build_features(comp, polys, ratings, lead, cache=cache), figures)
    _timed("write_map_layers (s)",
           lambda: write_map_layers(out, feats, probs, fakecity.outlines()), figures)
    in_memory = "compounds" in inspect.signature(write_map_viewer).parameters
    _timed("write_map_viewer (s)",
           lambda: write_map_viewer(out, compounds=feats) if in_memory else write_map_viewer(out), figures)
    figures["nightly map step: hit + layers + viewer (s)"] = sum(
        figures[k] for k in ("build_features, cache hit (s)", "write_map_layers (s)", "write_map_viewer (s)"))
    figures["map_data.js (MB)"] = (out / "map_data.js").stat().st_size / 1e6
    figures["compounds.geojson (MB)"] = (out / "compounds.geojson").stat().st_size / 1e6
    return figures


def browse(out: Path, n: int) -> dict:
    from playwright.sync_api import sync_playwright

    figures: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        t = time.perf_counter()
        page.goto((out / "index.html").as_uri())
        page.wait_for_function("window.safestarMap && window.safestarMap.ready", timeout=120_000)
        figures["load to first draw (s)"] = time.perf_counter() - t
        drawn = page.evaluate("safestarMap.drawnCount()")
        assert drawn == n, f"drew {drawn} of {n}"
        figures["first draw (ms)"] = page.evaluate("safestarMap.lastDrawMs()")
        redraws = [page.evaluate("safestarMap.redraw()") for _ in range(10)]
        figures["full redraw, median of 10 (ms)"] = statistics.median(redraws)
        t = time.perf_counter()
        page.evaluate("safestarMap.setFilter({stars:[1,2]})")
        figures["filter change incl. redraw (ms)"] = (time.perf_counter() - t) * 1000
        page.evaluate("safestarMap.setFilter({stars:[0,1,2,3,4,5]})")
        zooms = []
        for z in (12, 13, 14, 15, 16):
            page.evaluate(f"safestarMap.map.setZoom({z}, {{animate:false}}) && 0")
            zooms.append(page.evaluate("safestarMap.lastDrawMs()"))
        figures["redraw after zoom 12..16 (ms)"] = [round(v, 1) for v in zooms]
        pans = []
        for dx in (300, -600, 300):
            page.evaluate(f"safestarMap.map.panBy([{dx}, 150], {{animate:false}}) && 0")
            pans.append(page.evaluate("safestarMap.lastDrawMs()"))
        figures["redraw after pan (ms)"] = [round(v, 1) for v in pans]
        page.screenshot(path=str(out / "bench.png"))
        browser.close()
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--polygons", type=float, default=0.0, help="share of compounds with a polygon")
    ap.add_argument("--out", type=Path, default=Path("/tmp/map_bench"))
    ap.add_argument("--no-browser", action="store_true", help="time the Python side only")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    figures = build(a.n, a.polygons, a.out)
    if not a.no_browser:
        figures.update(browse(a.out, a.n))
    print(f"map bench: {a.n:,} compounds, polygon share {a.polygons}")
    for k, v in figures.items():
        print(f"  {k:38s} {v:.3f}" if isinstance(v, float) else f"  {k:38s} {v}")


if __name__ == "__main__":
    main()
