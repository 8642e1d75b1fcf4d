"""Same inputs and rules → byte-identical outputs; re-running a date changes nothing else."""
from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from pipelines.cli import run_rating


def digest_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_two_runs_on_the_same_inputs_give_identical_bytes(small_city, tmp_path):
    other = tmp_path / "out"
    run_rating(small_city["data"], other, small_city["first"], demo=True, quiet=True)
    run_rating(small_city["data"], other, small_city["second"], demo=True, quiet=True)
    for as_of in (small_city["first"], small_city["second"]):
        a = digest_tree(small_city["out"] / as_of.isoformat())
        b = digest_tree(other / as_of.isoformat())
        assert a.keys() == b.keys()
        differing = sorted(k for k in a if a[k] != b[k])
        assert not differing, differing[:10]


def test_rerunning_a_date_changes_nothing_else(small_city, tmp_path):
    out = small_city["out"]
    first = small_city["first"].isoformat()

    def snapshot():
        with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as conn:
            return {
                table: conn.sql(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
                for table in ("marts.ratings", "marts.rating_changes", "marts.plaques", "marts.public_stats",
                              "marts.explanations", "marts.plaque_actions")
            }

    before_db, before_files = snapshot(), digest_tree(out / first)
    run_rating(small_city["data"], out, small_city["first"], demo=True, quiet=True)
    after_db = snapshot()
    assert [t for t in before_db if before_db[t] != after_db[t]] == []
    assert digest_tree(out / first) == before_files
