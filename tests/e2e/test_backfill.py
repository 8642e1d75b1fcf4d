"""History is built by rating past dates in order; each date keeps its own rows."""
from __future__ import annotations

import duckdb

from generator.city import generate_city
from pipelines.cli import main


def test_backfill_builds_history_with_changes(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    generate_city(data, seed=23, n_compounds=80, n_events=1500)
    code = main(["backfill", "--data", str(data), "--out", str(out), "--from", "2026-09-20", "--to", "2026-11-19",
                 "--every", "30", "--demo"])
    assert code == 0
    dates = ["2026-09-20", "2026-10-20", "2026-11-19"]
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as conn:
        per_date = conn.sql("SELECT strftime(as_of, '%Y-%m-%d'), count(*) FROM marts.ratings GROUP BY 1 ORDER BY 1").fetchall()
        previous = conn.sql("SELECT DISTINCT strftime(as_of, '%Y-%m-%d'), strftime(previous_as_of, '%Y-%m-%d') "
                            "FROM marts.rating_changes ORDER BY 1").fetchall()
        runs = conn.sql("SELECT count(DISTINCT as_of) FROM ops.rating_runs").fetchall()[0][0]
    assert per_date == [(d, 80) for d in dates]
    assert previous == [(dates[0], None), (dates[1], dates[0]), (dates[2], dates[1])]
    assert runs == 3
    for d in dates:
        assert (out / d / "ratings.csv").exists()
    assert (out / "latest").resolve() == (out / dates[-1]).resolve()


def test_backfill_refuses_a_reversed_range(tmp_path, capsys):
    assert main(["backfill", "--data", str(tmp_path), "--out", str(tmp_path), "--from", "2026-11-19",
                 "--to", "2026-11-01"]) == 2
    assert "before" in capsys.readouterr().err
