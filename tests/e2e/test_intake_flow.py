"""Needs and check-ins taken by the intake service are counted by the next nightly run
(on the public page and in the warehouse), never in the safety index."""
from __future__ import annotations

import json
from datetime import date, datetime

import duckdb
import httpx
import polars as pl

from generator.city import generate_city
from intake.tokens import add_officer
from intake.vocab import LOCAL_TZ
from pipelines.cli import run_rating
from tests.intake.live import live_server


def test_next_run_counts_needs_and_checkins(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    generate_city(data, seed=9, n_compounds=120, n_events=2000)
    city = json.loads((data / "city.json").read_text(encoding="utf-8"))
    # Submissions are stamped now in China's local time, so the next rating date is today
    # there (counts run up to as_of); the machine's own date may still be yesterday.
    first, second = date.fromisoformat(city["first_as_of"]), datetime.now(LOCAL_TZ).date()
    run_rating(data, out, first, demo=True, quiet=True)
    # The synthetic records end at the city's last date: rating today is a known outage of
    # every source, acknowledged as an analyst would (or the completeness check blocks it).
    (data / "decisions").mkdir(exist_ok=True)
    pl.DataFrame({"source": ["police", "procuratorate", "court", "justice", "petition"], "from": city["end"],
                  "to": second.isoformat(), "who": "测试", "when": "2026-01-01 00:00",
                  "why": "合成数据止于生成日期"}).write_csv(data / "decisions" / "source_outages.csv")
    target = pl.read_csv(out / first.isoformat() / "ratings.csv").filter(pl.col("status") == "rated")["compound_id"][0]

    db = out / "intake.sqlite"
    token = add_officer(db, "officer-7", "张警官")
    with live_server(out / first.isoformat(), db, tmp_path / "log.jsonl") as srv:
        for _ in range(2):
            need = httpx.post(srv.url + "/api/needs", json={"compound_id": target, "category": "治安隐患",
                                                              "text": "楼道灯坏了"}, timeout=10)
            assert need.status_code in (200, 201), need.text
        checkin = httpx.post(srv.url + "/api/checkins", json={"compound_id": target, "kind": "法治宣传"},
                             headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert checkin.status_code in (200, 201), checkin.text

    def rated():
        run_rating(data, out, second, demo=True, quiet=True)
        with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as conn:
            counts = conn.sql("SELECT * FROM marts.intake_counts WHERE as_of = ? AND compound_id = ?",
                              params=[second, target]).pl()
            ratings = conn.sql("SELECT * FROM marts.ratings WHERE as_of = ? ORDER BY compound_id",
                               params=[second]).pl()
        return counts, ratings

    counts, ratings = rated()
    assert counts["n_needs_month"][0] == 2
    assert counts["n_checkins_month"][0] == 1
    from reports.site import render
    from reports.site_store import FILE_NAME, Publication
    page = render(Publication(out / second.isoformat() / FILE_NAME), f"/c/{target}.html").body
    # 2 needs and 1 check-in: counted, and under the threshold on the public page
    assert '<td class="n" id="need-received">少量 件</td>' in page and '<td class="n" id="visits">少量 次</td>' in page

    db.rename(tmp_path / "elsewhere.sqlite")  # the same date without any intake
    counts_without, ratings_without = rated()
    assert counts_without.is_empty() or counts_without["n_needs_month"][0] == 0
    assert ratings_without.equals(ratings)  # intake never moves the index or the stars
