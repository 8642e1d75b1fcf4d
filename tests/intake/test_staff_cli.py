"""``safestar staff``: loading staff.csv and the registry's grids, one-time tokens, and
one-line errors for a staff file or registry that cannot be used."""
from __future__ import annotations

import sqlite3

import polars as pl
import pytest

from intake.staff_auth import check_token
from intake.store import connect
from intake.workflow_config import load_needs_config
from pipelines.cli import main
from tests.intake.workflow_city import REGISTRY, STAFF


def _data(tmp_path, staff: pl.DataFrame = STAFF):
    data = tmp_path / "data"
    data.mkdir()
    registry = REGISTRY.with_columns(
        pl.format("小区{}", pl.col("compound_id")).alias("name"), pl.lit(300).alias("households"),
        pl.lit(900).alias("population"), pl.lit(118.1).alias("lon"), pl.lit(24.5).alias("lat"))
    registry.write_csv(data / "compounds.csv")
    staff.write_csv(data / "staff.csv")
    return data


def test_load_and_add_print_a_token_once_that_signs_in(tmp_path, capsys):
    data, db = _data(tmp_path), tmp_path / "intake.sqlite"
    assert main(["staff", "load", "--data", str(data), "--db", str(db)]) == 0
    assert "loaded 9 staff and 4 compounds" in capsys.readouterr().out
    assert main(["staff", "add", "w1", "--db", str(db)]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    conn = connect(db)
    assert check_token(conn, token, load_needs_config()) == "w1"
    assert conn.execute("SELECT grid_code, street FROM compound_areas WHERE compound_id = 'XM-003'").fetchone() == (
        "He001", "滨海街道")
    conn.close()
    assert main(["staff", "list", "--db", str(db)]) == 0
    listing = capsys.readouterr().out
    assert "w1\t网格员甲\tgrid_worker\t\ttoken issued" in listing and token not in listing
    # Re-issuing replaces the token; a person dropped from staff.csv loses access.
    assert main(["staff", "add", "w1", "--db", str(db)]) == 0
    new = capsys.readouterr().out.strip().splitlines()[-1]
    (data / "staff.csv").write_text(STAFF.filter(pl.col("staff_id") != "w1").write_csv(), encoding="utf-8")
    assert main(["staff", "load", "--data", str(data), "--db", str(db)]) == 0
    conn = connect(db)
    assert check_token(conn, token, load_needs_config()) is None
    assert check_token(conn, new, load_needs_config()) is None
    conn.close()


@pytest.mark.parametrize("change, expected", [
    (lambda s: s.with_columns(pl.when(pl.col("staff_id") == "w2").then(pl.lit("H0012")).otherwise(pl.col("grids"))
                              .alias("grids")), "rows [3]"),
    (lambda s: s.with_columns(pl.when(pl.col("staff_id") == "s1").then(None).otherwise(pl.col("streets"))
                              .alias("streets")), "rows [5]"),
    (lambda s: s.with_columns(pl.when(pl.col("staff_id") == "d1").then(pl.lit("mayor")).otherwise(pl.col("role"))
                              .alias("role")), "rows [7]"),
    (lambda s: s.with_columns(pl.when(pl.col("staff_id") == "m1").then(pl.lit("矛盾纠纷|跳广场舞"))
                              .otherwise(pl.col("categories")).alias("categories")), "line 10: category '跳广场舞'"),
    (lambda s: s.with_columns(pl.when(pl.col("staff_id") == "w3").then(pl.lit("Zz999")).otherwise(pl.col("grids"))
                              .alias("grids")), "line 4: grid Zz999 is not in the compound registry"),
    (lambda s: s.drop("role"), "column 'role' is missing"),
])
def test_a_bad_staff_file_is_one_line_naming_the_row(tmp_path, capsys, change, expected):
    data, db = _data(tmp_path, change(STAFF)), tmp_path / "intake.sqlite"
    assert main(["staff", "load", "--data", str(data), "--db", str(db)]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and "staff.csv" in err and len(err.splitlines()) == 1 and "Traceback" not in err
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM staff").fetchone()[0] == 0  # nothing half-loaded


def test_unknown_staff_and_missing_files_are_clear(tmp_path, capsys):
    db = tmp_path / "intake.sqlite"
    assert main(["staff", "add", "nobody", "--db", str(db)]) == 2
    assert "no current staff member 'nobody'" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["staff", "load", "--data", str(empty), "--db", str(db)]) == 2
    assert "no staff file" in capsys.readouterr().err
    assert main(["staff", "revoke", "nobody", "--db", str(db)]) == 2
    assert "has no active token" in capsys.readouterr().err


def test_load_registers_needs_stored_before_the_workflow(tmp_path, capsys):
    from intake import workflow

    data, db = _data(tmp_path), tmp_path / "intake.sqlite"
    conn = connect(db)
    # A need as an older service stored it: a row in needs, no events.
    conn.execute("INSERT INTO needs (compound_id, category, text, receipt_key, created_at, local_date)"
                 " VALUES ('XM-001', '邻里求助', '旧需求', 'k', '2026-11-01T10:00:00+08:00', '2026-11-01')")
    conn.close()
    assert main(["staff", "load", "--data", str(data), "--db", str(db)]) == 0
    assert "registered 1 needs stored before the workflow existed" in capsys.readouterr().out
    conn = connect(db)
    need = workflow.load_need(conn, 1)
    assert (need.view.state, need.view.level, need.view.unit) == ("assigned", "grid", "Hd001")
    workflow.check_cache(conn, 1)
    conn.close()
    assert main(["staff", "load", "--data", str(data), "--db", str(db)]) == 0
    assert "registered" not in capsys.readouterr().out.split("compounds")[-1]
