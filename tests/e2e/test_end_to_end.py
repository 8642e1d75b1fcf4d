"""End to end on a small generated city: statuses follow the planted events, outputs exist."""
from __future__ import annotations

import polars as pl

from schemas.ratings import STATUSES, Rating


def _ratings(city, as_of) -> pl.DataFrame:
    return pl.read_csv(city["out"] / as_of.isoformat() / "ratings.csv", try_parse_dates=True)


def test_ratings_follow_the_contract_and_cover_every_compound(small_city):
    registry = pl.read_csv(small_city["data"] / "compounds.csv", infer_schema_length=0)
    for as_of in (small_city["first"], small_city["second"]):
        ratings = _ratings(small_city, as_of)
        Rating.validate(ratings)
        assert ratings.columns == list(Rating.to_schema().columns)
        assert sorted(ratings["compound_id"]) == sorted(registry["compound_id"])
        assert set(ratings["status"]) == set(STATUSES)
        parquet = pl.read_parquet(small_city["out"] / as_of.isoformat() / "ratings.parquet")
        assert parquet.height == ratings.height


def test_planted_events_give_their_statuses(small_city):
    planted = small_city["planted"]
    for as_of in (small_city["first"], small_city["second"]):
        ratings = _ratings(small_city, as_of)
        status_of = dict(zip(ratings["compound_id"], ratings["status"]))
        for expected, ids in planted["by_date"][as_of.isoformat()].items():
            for compound_id in ids:
                assert status_of[compound_id] == expected, (as_of, compound_id, expected)


def test_late_events_change_only_the_second_date(small_city):
    planted = small_city["planted"]
    first, second = _ratings(small_city, small_city["first"]), _ratings(small_city, small_city["second"])
    status = lambda frame, cid: frame.filter(pl.col("compound_id") == cid)["status"][0]
    assert status(first, planted["late_veto"]) != "vetoed"
    assert status(second, planted["late_veto"]) == "vetoed"
    assert status(first, planted["late_downgrade"]) == "rated"
    assert status(second, planted["late_downgrade"]) == "downgraded"


def test_every_output_is_published(small_city):
    day = small_city["out"] / small_city["second"].isoformat()
    for part in ("ratings.csv", "ratings.parquet", "data_quality.csv", "public.sqlite", "map/index.html",
                 "map/compounds.geojson", "report/index.html"):
        assert (day / part).exists(), part
    assert (small_city["out"] / "warehouse.duckdb").exists()
    quarantine = pl.read_csv(small_city["out"] / "review" / "quarantine.csv", infer_schema_length=0)
    truth = pl.read_parquet(small_city["data"] / "truth" / "records.parquet").filter(pl.col("bad_reason").is_not_null())
    assert quarantine.height == truth.height and set(quarantine["reason"]) == set(truth["bad_reason"])


def test_run_records_ruleset_and_input_hashes(small_city):
    import hashlib
    import json

    day = small_city["out"] / small_city["first"].isoformat()
    manifest = json.loads((day / "run.json").read_text(encoding="utf-8"))
    ratings = _ratings(small_city, small_city["first"])
    assert manifest["ruleset_version"] == ratings["ruleset_version"][0]
    files = {f["file"]: f["file_sha256"] for f in manifest["input_files"]}
    landing = sorted((small_city["data"] / "sources").rglob("*"))
    exports = [p for p in landing if p.is_file() and p.name != "mapping.yaml"]
    assert sorted(files) == sorted(str(p.relative_to(small_city["data"])) for p in exports)
    for path in exports:
        assert files[str(path.relative_to(small_city["data"]))] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_second_date_batch_has_one_withdrawal_and_one_replacement(small_city, tmp_path):
    import duckdb

    from pipelines.cli import main

    planted = small_city["planted"]
    # The nightly run stores the orders only; no print file exists until a printer pulls.
    assert not list(small_city["out"].glob("*/plaques")) and not list(small_city["out"].rglob("*.pdf"))
    with duckdb.connect(str(small_city["out"] / "warehouse.duckdb"), read_only=True) as conn:
        first_orders = conn.sql("SELECT * FROM marts.plaque_actions WHERE as_of = ?",
                                params=[small_city["first"]]).pl()
    rated = _ratings(small_city, small_city["first"]).filter(pl.col("status").is_in(["rated", "downgraded"]))
    assert sorted(first_orders["compound_id"]) == sorted(rated["compound_id"])
    assert set(first_orders["action"]) == {"new"} and first_orders["demo"].all()

    assert main(["plaques", "pull", "--out", str(small_city["out"]), "--to", str(tmp_path / "print")]) == 0
    [folder] = [p.parent for p in (tmp_path / "print").rglob("manifest.csv")]
    manifest = pl.read_csv(folder / "manifest.csv", infer_schema=False)
    withdrawals = pl.read_csv(folder / "withdrawals.csv", infer_schema=False)
    assert manifest.select("小区编号", "操作").rows() == [(planted["late_downgrade"], "更换")]
    assert manifest["样例"].to_list() == ["样例，不得上墙"]  # demo-signed: never for a wall
    assert dict(withdrawals.select("小区编号", "回收").rows()) == {
        planted["late_veto"]: "收回牌匾", planted["late_downgrade"]: "安装新牌后收回旧牌"}
    assert (folder / f"{folder.name}.zip").is_file() and list(folder.glob("pdf/*.pdf"))
    assert main(["plaques", "pull", "--out", str(small_city["out"]), "--to", str(tmp_path / "again")]) == 0
    assert not list((tmp_path / "again").rglob("manifest.csv"))


def test_the_night_publishes_data_not_pages(small_city):
    """No file per compound or per plaque: one publication file per date, from which the
    pages of the late veto and downgrade show the new rating date and status."""
    from reports.site import cn_date, render
    from reports.site_data import page_slug
    from reports.site_store import FILE_NAME, Publication

    planted = small_city["planted"]
    second = small_city["out"] / small_city["second"].isoformat()
    assert not (second / "site").exists() and (second / FILE_NAME).is_file()
    pub = Publication(second / FILE_NAME)
    assert pub.count() == 300 and pub.as_of == small_city["second"]
    vetoed = render(pub, f"/c/{page_slug(planted['late_veto'])}.html").body
    day = cn_date(small_city["second"])
    assert "一票否决，不评星" in vetoed and day in vetoed and f"{small_city['second'].year + 1}年1月1日起解除" in vetoed
    downgraded = render(pub, f"/c/{page_slug(planted['late_downgrade'])}.html").body
    assert "已按规定降低星级" in downgraded and day in downgraded and "降星最早于" in downgraded


def test_explain_prints_the_rules_that_fired(small_city, capsys):
    from pipelines.cli import main

    vetoed = small_city["planted"]["roles"]["veto_homicide"][0]
    downgraded = small_city["planted"]["roles"]["downgrade_burglary"][0]
    assert main(["explain", vetoed, "--out", str(small_city["out"]), "--as-of", small_city["first"].isoformat()]) == 0
    text = capsys.readouterr().out
    assert vetoed in text and "veto" in text.lower()
    assert main(["explain", downgraded, "--out", str(small_city["out"])]) == 0
    text = capsys.readouterr().out
    assert "burglary" in text or "入室盗窃" in text
    assert main(["explain", "XM999999", "--out", str(small_city["out"])]) == 2
