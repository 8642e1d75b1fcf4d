"""The atomic switch under load: while nightly publications land one after another, a
running server answers every request from exactly one publication, without a restart."""
from __future__ import annotations

import threading
import time
from datetime import date, timedelta

import httpx
import polars as pl

from pipelines.publish import publish
from reports.site import render
from reports.site_store import Publication
from tests.intake.live import live_server
from tests.site import frames

PATHS = ["/c/XM-001.html", "/index.html", "/c/XM-002.html"]


def _stage(out, d: date, k: int) -> dict[str, str]:
    """Stage date ``d`` (XM-001 with k % 5 + 1 stars); the pages it must serve."""
    ratings = frames.ratings(d).with_columns(
        pl.when(pl.col("compound_id") == "XM-001").then(k % 5 + 1).otherwise(pl.col("stars")).cast(pl.Int8).alias("stars"))
    path = frames.publication(out / ".staging" / d.isoformat(), as_of=d, ratings=ratings)
    pub = Publication(path)
    expected = {p: render(pub, p).body for p in PATHS}
    pub.close()
    return expected


def test_no_response_mixes_two_publications(tmp_path):
    out = tmp_path / "out"
    first = date(2026, 11, 1)
    expected = {first.isoformat(): _stage(out, first, 0)}
    publish(out, first.isoformat())
    seen, errors, stop = [], [], threading.Event()

    def client(url):
        with httpx.Client(base_url=url, timeout=10) as c:
            i = 0
            while not stop.is_set():
                path = PATHS[i % len(PATHS)]
                i += 1
                r = c.get(path)
                if r.status_code != 200:
                    errors.append((path, r.status_code))
                    continue
                seen.append((path, r.text, r.headers["etag"]))

    with live_server(out, tmp_path / "intake.sqlite", tmp_path / "log.jsonl") as srv:
        threads = [threading.Thread(target=client, args=(srv.url,)) for _ in range(6)]
        for t in threads:
            t.start()
        for k in range(1, 6):
            time.sleep(0.4)
            d = first + timedelta(days=k)
            expected[d.isoformat()] = _stage(out, d, k)
            publish(out, d.isoformat())
        time.sleep(0.6)
        stop.set()
        for t in threads:
            t.join()
    assert not errors and len(seen) > 100
    dates_seen = set()
    etags: dict[str, set[str]] = {}
    for path, body, etag in seen:
        matches = [d for d, pages in expected.items() if pages[path] == body]
        assert len(matches) == 1, (path, body[:200])  # exactly one publication's page, byte for byte
        dates_seen.add(matches[0])
        etags.setdefault(matches[0], set()).add(etag)
    assert len(dates_seen) >= 3 and (first + timedelta(days=5)).isoformat() in dates_seen
    assert all(len(e) == 1 for e in etags.values()) and len(set().union(*etags.values())) == len(etags)
