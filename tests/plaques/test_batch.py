"""Print batches: manifest, files, withdrawals, proof, deterministic zip, decodable QR codes."""
from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import polars as pl
import pytest
from PIL import Image

from plaques.artwork import render_plaque_svg
from plaques.batch import MANIFEST_COLUMNS, write_batch
from plaques.qr import qr_matrix, svg_path
from plaques.registry import plan_plaques
from plaques.sign import parse_page_name, verify_signature
from tests.plaques.conftest import BASE_URL, SECRET
from tests.plaques.qr_decode import decode, matrix_from_path, raster
from tests.plaques.scenario import D1, D2, build


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    return build(tmp_path_factory.mktemp("out"))


def manifest(batch_dir: Path) -> pl.DataFrame:
    return pl.read_csv(batch_dir / "manifest.csv", infer_schema=False).with_columns(pl.col(pl.String).fill_null(""))


def test_first_batch_covers_every_rated_compound(scenario):
    m = manifest(scenario.first_dir)
    assert scenario.first_dir == scenario.out_dir / "2026-03-02" / "plaques" / "B20260302"
    assert sorted(m["compound_id"]) == ["C1", "C2", "C3", "C4", "C5"]
    assert set(m["action"]) == {"new"}


def test_second_batch_has_one_withdrawal_and_one_replacement(scenario):
    m = manifest(scenario.second_dir)
    assert sorted(m["action"]) == ["replace", "withdraw"]
    row = {r["action"]: r for r in m.iter_rows(named=True)}
    assert row["withdraw"]["compound_id"] == "C1" and row["withdraw"]["files"] == ""
    assert row["replace"]["compound_id"] == "C2" and row["replace"]["stars"] == "4"
    assert row["replace"]["previous_serial"] == "350205-C2-01"
    # C3 rose to 4 by its index alone: waiting, not printed.
    assert scenario.second.pending["compound_id"].to_list() == ["C3"]


def test_manifest_columns_and_files(scenario):
    m = manifest(scenario.first_dir)
    assert m.columns[:9] == ["serial", "compound_id", "name", "district", "street", "address", "stars", "action",
                             "files"]
    assert m.columns == MANIFEST_COLUMNS
    row = m.filter(pl.col("compound_id") == "C4").row(0, named=True)
    assert row["name"] == "同安<新城>&苑" and row["district"] == "同安区" and row["street"] == "大同街道"
    assert row["address"] == "大同街道4号"
    for r in m.iter_rows(named=True):
        files = r["files"].split("|")
        assert files == [f"qr/{r['serial']}.svg", f"qr/{r['serial']}.png", f"art/{r['serial']}.svg"]
        assert all((scenario.first_dir / f).is_file() for f in files)
        name = r["url"].rsplit("/", 1)[1]
        serial, sig = parse_page_name(name)
        assert r["url"] == f"{BASE_URL.rstrip('/')}/p/{r['serial']}.{sig}.html" and serial == r["serial"]
        assert verify_signature(r["serial"], sig, SECRET)
    assert (scenario.first_dir / "manifest.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # BOM for Excel


def test_every_qr_of_the_batches_decodes_to_its_url(scenario):
    for batch_dir in (scenario.first_dir, scenario.second_dir):
        for r in manifest(batch_dir).filter(pl.col("action") != "withdraw").iter_rows(named=True):
            assert decode(Image.open(batch_dir / "qr" / f"{r['serial']}.png")) == [r["url"]]
            svg = ET.parse(batch_dir / "qr" / f"{r['serial']}.svg").getroot()
            n = int(svg.get("viewBox").split()[2])
            d = svg.find("{http://www.w3.org/2000/svg}path").get("d")
            assert decode(raster(matrix_from_path(d, n))) == [r["url"]]


def test_artwork_embeds_the_same_qr_and_escapes_text(scenario):
    m = manifest(scenario.first_dir)
    row = m.filter(pl.col("compound_id") == "C4").row(0, named=True)
    art = (scenario.first_dir / "art" / f"{row['serial']}.svg").read_text(encoding="utf-8")
    root = ET.fromstring(art)  # well-formed despite '<' and '&' in the name
    ns = "{http://www.w3.org/2000/svg}"
    texts = ["".join(t.itertext()) for t in root.iter(f"{ns}text")]
    assert "同安<新城>&苑" in texts and f"编号 {row['serial']}" in texts and "2026年度 · 4星" in texts
    assert 'Noto Sans CJK SC' in art and "Microsoft YaHei" in art and "sans-serif" in art
    stars = [p for p in root.iter(f"{ns}polygon")]
    assert len(stars) == 5 and sum(p.get("fill") != "none" for p in stars) == 4
    paths = [p.get("d") for p in root.iter(f"{ns}path")]
    assert svg_path(qr_matrix(row["url"])) in paths


def test_withdrawals_list_withdrawn_and_replaced_plaques(scenario):
    w = pl.read_csv(scenario.second_dir / "withdrawals.csv", infer_schema=False)
    got = {r["serial"]: (r["collect"], r["replaced_by"] or "") for r in w.iter_rows(named=True)}
    assert got == {"350203-C1-01": ("收回", ""), "350205-C2-01": ("更换后收回旧牌", "350205-C2-02")}
    assert w.filter(pl.col("serial") == "350205-C2-01")["stars"].to_list() == ["5"]


def test_proof_lists_plaques_and_withdrawals(scenario):
    html = (scenario.second_dir / "proof.html").read_text(encoding="utf-8")
    assert "@page { size: A4" in html and 'lang="zh-CN"' in html
    assert 'src="art/350205-C2-02.svg"' in html and "海沧湾一号" in html
    assert "350203-C1-01" in html and "收回 1 块" in html and "更换 1 块" in html


def _zip_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_zip_is_deterministic_and_complete(scenario, tmp_path):
    again = write_batch(scenario.second, scenario.compounds, tmp_path / "elsewhere", as_of=D2, base_url=BASE_URL,
                        secret=SECRET)
    a, b = scenario.second_dir / "B20260303.zip", again / "B20260303.zip"
    assert _zip_digest(a) == _zip_digest(b)
    with zipfile.ZipFile(a) as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert {i.date_time for i in zf.infolist()} == {(2026, 3, 3, 0, 0, 0)}
        assert "B20260303/manifest.csv" in names and "B20260303/art/350205-C2-02.svg" in names
        assert "B20260303/qr/350205-C2-02.png" in names and "B20260303/withdrawals.csv" in names
        assert zf.read("B20260303/manifest.csv") == (scenario.second_dir / "manifest.csv").read_bytes()
        assert not any(n.endswith(".zip") for n in names)


def test_no_actions_no_batch(scenario, tmp_path):
    calm = plan_plaques(scenario.second.registry, scenario.history, scenario.compounds, as_of=D2)
    idle = plan_plaques(scenario.second.registry, scenario.history.filter(pl.col("as_of") == D2)
                        .with_columns(pl.lit(D2.replace(day=4)).alias("as_of")).vstack(scenario.history),
                        scenario.compounds, as_of=D2.replace(day=4))
    assert idle.actions.is_empty()
    assert write_batch(idle, scenario.compounds, tmp_path, as_of=D2.replace(day=4), base_url=BASE_URL,
                       secret=SECRET) is None
    assert not calm.actions.is_empty()  # a re-run of the date reproduces its actions


def test_render_plaque_svg_directly():
    svg = render_plaque_svg(name="鹭江花园", stars=5, year=2026, serial="350203-C1-01", url="https://a.cn/p/x/y")
    root = ET.fromstring(svg)
    assert root.get("width") == "600mm" and root.get("viewBox") == "0 0 600 400"
    assert sum(p.get("fill") != "none" for p in root.iter("{http://www.w3.org/2000/svg}polygon")) == 5


def test_parallel_rendering_writes_the_same_bytes(scenario, tmp_path, monkeypatch):
    import plaques.batch as batch_module
    monkeypatch.setattr(batch_module, "PARALLEL_FROM", 0)
    again = write_batch(scenario.first, scenario.compounds, tmp_path, as_of=D1, base_url=BASE_URL, secret=SECRET,
                        workers=2)
    assert _zip_digest(again / "B20260302.zip") == _zip_digest(scenario.first_dir / "B20260302.zip")
