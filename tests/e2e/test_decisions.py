"""Analyst decisions on a real run: an override changes exactly the compound it names and
is explained; an appeal's reply text reaches the public page."""
from __future__ import annotations

import json
from datetime import date

import duckdb
import polars as pl

from generator.city import generate_city
from pipelines.cli import run_rating


def _ratings(out, as_of) -> pl.DataFrame:
    return pl.read_csv(out / as_of.isoformat() / "ratings.csv").sort("compound_id")


def test_override_and_appeal(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    generate_city(data, seed=13, n_compounds=150, n_events=2500)
    city = json.loads((data / "city.json").read_text(encoding="utf-8"))
    as_of = date.fromisoformat(city["first_as_of"])
    vetoed = json.loads((data / "truth" / "planted.json").read_text(encoding="utf-8"))["roles"]["veto_homicide"][0]
    run_rating(data, out, as_of, demo=True, quiet=True)
    before = _ratings(out, as_of)
    assert before.filter(pl.col("compound_id") == vetoed)["status"][0] == "vetoed"
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as conn:
        veto_events = conn.sql(
            "SELECT event_id FROM core.attributed_events WHERE compound_id = ? AND category_code = 'homicide'",
            params=[vetoed]).fetchall()
    assert veto_events

    decisions = data / "decisions"
    decisions.mkdir()
    pl.DataFrame({
        "event_id": [e for (e,) in veto_events], "source": None, "record_id": None,
        "action": "exclude", "to_compound_id": None, "who": "分析员李", "when": "2026-11-19T09:00:00",
        "why": "经核实为误报",
    }).write_csv(decisions / "overrides.csv")
    reply = "本小区已加强夜间巡逻并完善门禁管理。"
    pl.DataFrame({"compound_id": [vetoed], "filed_at": ["2026-11-18"], "status": ["decided"],
                  "outcome": ["upheld"], "reply_text": [reply]}).write_csv(decisions / "appeals.csv")
    run_rating(data, out, as_of, demo=True, quiet=True)
    after = _ratings(out, as_of)

    changed = before.join(after, on="compound_id", suffix="_after").filter(
        (pl.col("status") != pl.col("status_after")) | (pl.col("stars") != pl.col("stars_after"))
    )
    assert changed["compound_id"].to_list() == [vetoed]
    assert changed["status_after"][0] != "vetoed"
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as conn:
        overrides = conn.sql("SELECT detail FROM marts.explanations WHERE as_of = ? AND compound_id = ? AND kind = 'override'",
                             params=[as_of, vetoed]).fetchall()
    assert overrides and "误报" in " ".join(d for (d,) in overrides)
    from reports.site import render
    from reports.site_store import FILE_NAME, Publication
    page = render(Publication(out / as_of.isoformat() / FILE_NAME), f"/c/{vetoed}.html").body
    assert reply in page and "申诉成立" in page
