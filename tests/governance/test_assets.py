"""The closed loop's assets on a small simulated city: the intake read read-only, figures in
the warehouse, the monthly ranking's files (identical bytes on a re-run), no personal data."""
from __future__ import annotations

import hashlib
import sqlite3
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import openpyxl
import polars as pl
import pytest

from assets import governance, registry
from generator.city import generate_city
from generator.needs import simulate_needs
from intake.export import read_intake_tables
from pipelines.resources import default_resources
from tests.privacy import scan_for

AS_OF = date(2026, 11, 20)
MONTH = "2026-11-01"


@pytest.fixture(scope="module")
def loop_city(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("loop")
    data, out = root / "data", root / "out"
    generate_city(data, seed=5, n_compounds=80, n_events=400, end=AS_OF)
    out.mkdir()
    states = simulate_needs(data, out / "intake.sqlite", start=date(2026, 10, 1), end=AS_OF, seed=5,
                            per_compound_day=0.08)
    resources = default_resources(data, out, demo=True)
    result = dg.materialize([registry.compounds, governance.intake_tables, governance.need_figures],
                            resources=resources, partition_key=AS_OF.isoformat())
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert [(c.check_name, c.passed) for c in checks] == [("public_counts_suppressed", True)]
    return {"data": data, "out": out, "states": states, "resources": resources}


@pytest.fixture(scope="module")
def ranked(loop_city) -> dict[str, str]:
    return _rank_month(loop_city)


def _rank_month(city: dict) -> dict[str, str]:
    result = dg.materialize([governance.governance_ranking], resources=city["resources"], partition_key=MONTH)
    assert result.success
    folder = city["out"] / "monthly" / "2026-11"
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_simulated_needs_reach_every_state(loop_city):
    assert {"assigned", "in_progress", "resolved", "closed", "rated"} <= set(loop_city["states"])
    with duckdb.connect(str(loop_city["out"] / "warehouse.duckdb"), read_only=True) as conn:
        needs = conn.sql("SELECT count(*), count(DISTINCT state), sum(escalations > 0::INT), "
                         "sum(reopened::INT) FROM core.needs").fetchall()[0]
        city = conn.sql("SELECT received, closed, closed_on_time, escalations, rated, satisfied, checkins "
                        "FROM marts.need_figures WHERE level = 'city' AND as_of = ?", params=[AS_OF]).fetchall()[0]
    assert needs[0] == sum(loop_city["states"].values()) and needs[1] >= 5 and needs[2] > 0 and needs[3] > 0
    received, closed, on_time, escalations, rated, satisfied, checkins = city
    assert received > 0 and 0 < on_time < closed and escalations > 0 and 0 < satisfied < rated and checkins > 0


def test_a_month_rerun_gives_identical_bytes_and_readable_files(loop_city, ranked):
    first = ranked
    assert set(first) == {"index.html", "summary.html", "每月通报_2026-11.xlsx", "街道排名.csv", "社区排名.csv",
                          "网格排名.csv", "各区情况.csv"}
    assert _rank_month(loop_city) == first
    folder = loop_city["out"] / "monthly" / "2026-11"
    raw = (folder / "街道排名.csv").read_bytes()
    assert raw.startswith("\ufeff排名,参与排名数,区,街道,治理得分".encode())
    streets = pl.read_csv(folder / "街道排名.csv")
    assert streets["排名"].min() == 1 and streets["治理得分"].is_sorted(descending=True)
    book = openpyxl.load_workbook(folder / "每月通报_2026-11.xlsx")
    assert book.sheetnames == ["街道排名", "社区排名", "网格排名", "各区情况", "评分方法"]
    sheet = book["网格排名"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    assert sheet.cell(1, 1).value == "排名" and sheet.max_row > 10
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert "街道排名（全市）" in page and "评分方法" in page and streets["街道"][0] in page
    assert "受理需求" in (folder / "summary.html").read_text(encoding="utf-8")


def test_no_personal_data_reaches_the_warehouse_or_the_ranking(loop_city, ranked):
    conn = sqlite3.connect(loop_city["out"] / "intake.sqlite")
    texts = {r[0] for r in conn.execute("SELECT text FROM needs")}
    contacts = {r[0] for r in conn.execute("SELECT contact FROM needs WHERE contact IS NOT NULL")}
    notes = {r[0] for r in conn.execute("SELECT note FROM need_events WHERE note IS NOT NULL")}
    keys = {r[0] for r in conn.execute("SELECT receipt_key FROM needs")}
    names = {r[0] for r in conn.execute("SELECT name FROM staff")}
    conn.close()
    assert texts and contacts and notes and names
    needles = sorted(texts | contacts | notes | keys | names)
    with duckdb.connect(str(loop_city["out"] / "warehouse.duckdb"), read_only=True) as db:
        for table in ("raw.intake_needs", "raw.intake_need_events", "raw.intake_checkins", "core.needs",
                      "marts.need_figures", "marts.compound_need_figures", "marts.governance_ranking"):
            frame = db.sql(f"SELECT * FROM {table}").pl()
            cells = {str(v) for col in frame.columns for v in frame[col].unique().to_list()}
            assert not cells & set(needles), table
    assert scan_for([loop_city["out"] / "monthly"], needles) == []


def test_the_intake_is_read_while_the_service_holds_a_write_transaction(loop_city, tmp_path):
    db = tmp_path / "intake.sqlite"
    src = sqlite3.connect(loop_city["out"] / "intake.sqlite")
    src.execute(f"VACUUM INTO '{db}'")
    src.close()
    service = sqlite3.connect(db, isolation_level=None)
    service.execute("PRAGMA journal_mode=WAL").fetchall()
    service.execute("BEGIN IMMEDIATE")
    service.execute("INSERT INTO checkins (officer_id, compound_id, kind, created_at, local_date) "
                    "VALUES ('o', 'XM000001', '法治宣传', '2026-11-20T10:00:00+08:00', '2026-11-20')")
    tables = read_intake_tables(db, AS_OF)  # a writer holds its lock: the read-only snapshot still reads
    service.execute("COMMIT")  # and the service was never blocked by the reader
    assert tables["needs"].height > 0 and tables["need_events"].height > tables["needs"].height
    assert set(tables["needs"].columns) == {"need_id", "compound_id", "category", "created_at"}
    after_read = read_intake_tables(db, AS_OF)["checkins"].height
    assert after_read == tables["checkins"].height + 1
    service.close()


def test_an_unusable_intake_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "intake.sqlite"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ValueError, match=r"intake.sqlite could not be read as an intake database .*; check"):
        read_intake_tables(bad, AS_OF)
    empty = tmp_path / "other.sqlite"
    sqlite3.connect(empty).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(ValueError, match="is not a SafeStar intake database"):
        read_intake_tables(empty, AS_OF)
    assert all(f.is_empty() for f in read_intake_tables(tmp_path / "missing.sqlite", AS_OF).values())


def test_no_governance_figure_is_upstream_of_the_stars():
    """Reporting a need can never cost a star: nothing the intake feeds is an input of the ratings."""
    from pipelines.definitions import defs

    graph = defs().resolve_asset_graph()
    ratings_key = dg.AssetKey(["marts", "ratings"])
    seen, todo = set(), [ratings_key]
    while todo:
        key = todo.pop()
        for parent in graph.get(key).parent_keys:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    intake_fed = {k for k in graph.get_all_asset_keys()
                  if k.path[-1].startswith(("intake", "need", "governance")) or k.path == ["core", "needs"]}
    assert intake_fed and not seen & intake_fed


def test_the_monthly_schedule_ranks_the_month_just_ended():
    from datetime import datetime

    from intake.vocab import LOCAL_TZ
    from pipelines.definitions import defs

    definitions = defs()
    schedule = definitions.resolve_schedule_def("monthly_ranking_schedule")
    tick = datetime(2026, 12, 1, 5, 0, tzinfo=LOCAL_TZ)
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick,
                                            repository_def=definitions.get_repository_def())
        requests = list(schedule.evaluate_tick(context).run_requests or [])
    assert [r.partition_key for r in requests] == ["2026-11-01"]


def test_monthly_without_a_warehouse_is_one_line(tmp_path, capsys):
    from pipelines.cli import main

    assert main(["monthly", "--month", "2026-11", "--data", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run `safestar run`" in err
    assert main(["monthly", "--month", "November", "--data", str(tmp_path), "--out", str(tmp_path)]) == 2
    assert "use YYYY-MM" in capsys.readouterr().err
