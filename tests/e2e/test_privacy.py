"""No personal data reaches a public output: planted names, ID numbers, mobile numbers,
case descriptions and exact case addresses appear in no file of the published run."""
from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from generator.city import generate_city
from pipelines.cli import run_rating
from tests.privacy import scan_for

NAME = "欧阳震华"
ID_NUMBER = "35020319900101123X"
MOBILE = "13912345678"
DESCRIPTION = "在小区地下车库被人持刀威胁索要财物"
ADDRESS = "湖滨南路9999号12栋1203室"
NEEDLES = [NAME, ID_NUMBER, MOBILE, DESCRIPTION, ADDRESS, "139-1234-5678"]


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("privacy")
    data, out = root / "data", root / "out"
    generate_city(data, seed=21, n_compounds=200, n_events=3000)
    petition = sorted((data / "sources" / "petition").glob("*.csv"))[0]
    frame = pl.read_csv(petition, infer_schema_length=0)
    columns = frame.columns  # 信访件编号, 登记日期, 内容分类, 问题属地, 经度, 纬度, 办理状态, 信访内容, 信访人, 联系电话, …
    planted = frame.head(25).with_columns(
        pl.col(columns[3]).str.replace(r"\d+号.*$", ADDRESS),
        pl.lit(f"{NAME}（身份证{ID_NUMBER}，电话{MOBILE}）反映{DESCRIPTION}，地址{ADDRESS}").alias(columns[7]),
        pl.lit(NAME).alias(columns[8]),
        pl.lit("139-1234-5678").alias(columns[9]),
    )
    pl.concat([planted, frame.slice(25)]).write_csv(petition)
    city = json.loads((data / "city.json").read_text(encoding="utf-8"))
    as_of = date.fromisoformat(city["first_as_of"])
    run_rating(data, out, as_of, demo=True, quiet=True)
    return data, out, as_of


def test_planted_personal_data_reached_the_warehouse_but_no_output(planted_run, tmp_path):
    from plaques.pull import pull_batch

    data, out, as_of = planted_run
    import duckdb

    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as conn:
        described = conn.sql("SELECT count(*) FROM raw.case_records WHERE description LIKE ?",
                             params=[f"%{DESCRIPTION}%"]).fetchall()[0][0]
    assert described >= 20  # the planted rows were ingested, so the scan below is meaningful
    published = out / as_of.isoformat()
    # The print files are public too (plaques hang on walls): made by the printer's pull.
    printed = tmp_path / "print"
    pull_batch(out, to=printed, workers=1, progress=False)
    files = [p for folder in (published, printed) for p in folder.rglob("*") if p.is_file()]
    assert any(p.name == "public.sqlite" for p in files) and any(p.suffix == ".geojson" for p in files)
    assert any(p.name == "manifest.csv" for p in files) and any(p.suffix == ".svg" for p in files)
    assert scan_for([published, printed], NEEDLES) == []
    # Every public page, as served (charts aside: they are drawn from the same counts).
    from reports.site import page_paths, render
    from reports.site_store import FILE_NAME, Publication
    pub = Publication(published / FILE_NAME)
    pages = published.parent / "pages"
    pages.mkdir(exist_ok=True)
    for i, path in enumerate(p for p in page_paths(pub) if not p.endswith(".svg")):
        (pages / f"{i}.html").write_text(render(pub, path).body, encoding="utf-8")
    assert len(list(pages.iterdir())) > 200 and scan_for([pages], NEEDLES) == []


def test_scanner_finds_a_planted_string(tmp_path):
    (tmp_path / "page.html").write_text(f"<p>{NAME}</p>", encoding="utf-8")
    assert scan_for([tmp_path], NEEDLES)
