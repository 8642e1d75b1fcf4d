"""Ground truth: planted outcomes, late events, bad rows, revoked records."""
from __future__ import annotations

import json
from datetime import date

import polars as pl

from generator.badrows import REASONS


def _load(out):
    records = pl.read_parquet(out / "truth" / "records.parquet")
    planted = json.loads((out / "truth" / "planted.json").read_text(encoding="utf-8"))
    expected = pl.read_parquet(out / "truth" / "expected_status.parquet")
    city = json.loads((out / "city.json").read_text(encoding="utf-8"))
    return records, planted, expected, city


def test_city_json_names_the_rating_dates(city):
    out, summary = city
    _, planted, _, c = _load(out)
    assert c["seed"] == 11 and c["end"] == "2026-11-20"
    assert c["first_as_of"] == "2026-11-19" == planted["first_as_of"]
    assert c["second_as_of"] == "2026-11-20" == planted["second_as_of"]
    assert date.fromisoformat(c["start"]) < date(2025, 11, 1)
    assert summary["planted"] == planted


def test_planted_statuses_are_all_present_and_agree_with_the_truth(city):
    out, _ = city
    records, planted, expected, c = _load(out)
    first, second = planted["by_date"][c["first_as_of"]], planted["by_date"][c["second_as_of"]]
    for status in ("vetoed", "downgraded", "not_rated", "rated"):
        assert len(first[status]) >= 3 and len(second[status]) >= 1, status
    assert planted["late_veto"] in second["vetoed"] and planted["late_veto"] in first["rated"]
    assert planted["late_downgrade"] in second["downgraded"] and planted["late_downgrade"] in first["rated"]
    for as_of, by_status in planted["by_date"].items():
        exp = expected.filter(pl.col("as_of") == date.fromisoformat(as_of))
        got = dict(exp.select("compound_id", "status").iter_rows())
        for status, ids in by_status.items():
            assert all(got[i] == status for i in ids), (as_of, status)
    # One veto only through the court's final classification.
    chain = records.filter(pl.col("planted") == "veto_chain").sort("source")
    assert dict(chain.select("source", "category_code").iter_rows()) == {
        "police": "assault", "procuratorate": "assault", "court": "serious_assault"}


def test_only_the_two_late_events_fall_on_the_end_date(city):
    out, _ = city
    records, planted, _, c = _load(out)
    on_end = records.filter(pl.col("occurred_at").dt.date() == date.fromisoformat(c["end"]))
    assert sorted(on_end["planted"].to_list()) == ["late_downgrade", "late_veto"]
    assert set(on_end["compound_id"]) == {planted["late_veto"], planted["late_downgrade"]}
    late_compounds = records.filter(pl.col("compound_id").is_in([planted["late_veto"], planted["late_downgrade"]])
                                    & (pl.col("occurred_at").dt.date() < date.fromisoformat(c["end"])))
    serious = ["homicide", "serious_assault", "rape", "robbery", "kidnapping", "arson", "explosion", "poisoning",
               "burglary", "prostitution", "gambling", "drugs", "fraud_den"]
    assert not late_compounds["category_code"].is_in(serious).any()


def test_bad_rows_cover_every_reason_at_a_small_share(city):
    out, _ = city
    records, *_ = _load(out)
    bad = records.drop_nulls("bad_reason")
    assert set(bad["bad_reason"]) == set(REASONS)
    assert 0.003 <= bad.height / records.height <= 0.02
    assert bad["planted"].is_null().all() and not bad["revoked"].any()
    assert records.filter(pl.col("bad_reason") == "missing_id")["record_id"].is_null().all()
    dup = records.filter(pl.col("bad_reason") == "duplicate_id")
    clean = records.filter(pl.col("bad_reason").is_null())
    assert dup.join(clean, on=["source", "file", "record_id"]).height == dup.height
    # Record ids are otherwise unique within their source.
    assert clean.drop_nulls("record_id").select(pl.struct("source", "record_id").is_unique().all()).item()


def test_revoked_share_and_line_numbers(city):
    out, summary = city
    records, *_ = _load(out)
    assert 0.003 < records["revoked"].mean() < 0.03
    assert records.height == sum(summary["files"].values())
    lines = records.group_by("source", "file").agg(pl.col("line").min().alias("lo"), pl.col("line").max().alias("hi"),
                                                   pl.len().alias("n"))
    assert (lines["lo"] == 1).all() and (lines["hi"] == lines["n"]).all()
    for (source, file), n in records.group_by("source", "file").len().rows_by_key(["source", "file"]).items():
        assert summary["files"][f"sources/{source}/{file}"] == n[0][0]
