"""kill -9 at random moments of a run leaves the last good publication readable and the
warehouse consistent, and the next run completes."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import date

import duckdb
import polars as pl
import pytest

from generator.city import generate_city
from pipelines.cli import run_rating

N_COMPOUNDS = 200


@pytest.fixture(scope="module")
def published_once(tmp_path_factory):
    root = tmp_path_factory.mktemp("kill")
    data, out = root / "data", root / "out"
    generate_city(data, seed=3, n_compounds=N_COMPOUNDS, n_events=4000)
    city = json.loads((data / "city.json").read_text(encoding="utf-8"))
    first, second = date.fromisoformat(city["first_as_of"]), date.fromisoformat(city["second_as_of"])
    t0 = time.perf_counter()
    run_rating(data, out, first, demo=True, quiet=True)
    return data, out, first, second, time.perf_counter() - t0


def _run(data, out, as_of) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "run", "--data", str(data), "--as-of", as_of.isoformat(),
         "--out", str(out), "--demo"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def _assert_consistent(out, first):
    ratings = pl.read_csv(out / first.isoformat() / "ratings.csv")
    assert ratings.height == N_COMPOUNDS
    from reports.site import render
    from reports.site_store import FILE_NAME, Publication
    pub = Publication(out / first.isoformat() / FILE_NAME)  # the last good publication still serves
    assert pub.as_of == first and render(pub, "/index.html").status == 200
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as conn:
        per_date = conn.sql("SELECT as_of, count(*) FROM marts.ratings GROUP BY as_of").fetchall()
        assert all(n == N_COMPOUNDS for _, n in per_date), per_date
        events = conn.sql("SELECT count(*) FROM core.attributed_events").fetchall()[0][0]
        incidents = conn.sql("SELECT count(*) FROM core.case_events").fetchall()[0][0]
        assert events == incidents


def test_kill_minus_nine_at_random_points(published_once):
    data, out, first, second, run_seconds = published_once
    rng = random.Random(20261123)
    for _ in range(4):
        proc = _run(data, out, second)
        time.sleep(rng.uniform(0.5, max(1.0, run_seconds * 1.5)))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        _assert_consistent(out, first)
    run_rating(data, out, second, demo=True, quiet=True)
    _assert_consistent(out, first)
    final = pl.read_csv(out / second.isoformat() / "ratings.csv")
    assert final.height == N_COMPOUNDS
    assert os.path.realpath(out / "latest") == os.path.realpath(out / second.isoformat())
    leftovers = [p for p in (out / ".staging").iterdir()] if (out / ".staging").exists() else []
    assert leftovers == []
