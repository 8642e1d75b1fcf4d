"""The privacy scanner finds planted strings in every form a public file may carry them."""
from __future__ import annotations

import gzip
import json

import polars as pl
import xlsxwriter

from tests.privacy import scan_for

NAME, ID, PHONE = "张三丰", "350203199001011234", "13800138000"


def test_finds_planted_strings_in_every_form(tmp_path):
    (tmp_path / "a.html").write_text(f"<p>{NAME}</p>", encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps({"x": NAME}), encoding="utf-8")  # \\u escapes
    (tmp_path / "c.html").write_text("&#24352;&#19977;&#20016;", encoding="utf-8")
    (tmp_path / "d.csv").write_bytes(f"id,{ID}\n".encode("gb18030") + NAME.encode("gb18030"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "e.txt.gz").write_bytes(gzip.compress(PHONE.encode()))
    pl.DataFrame({"p": [PHONE]}).write_parquet(tmp_path / "f.parquet")
    wb = xlsxwriter.Workbook(tmp_path / "g.xlsx")
    wb.add_worksheet().write(0, 0, NAME)
    wb.close()
    (tmp_path / "h.html").write_text("/q?name=%E5%BC%A0%E4%B8%89%E4%B8%B0", encoding="utf-8")
    hits = {(h.path.replace(str(tmp_path) + "/", ""), h.needle) for h in scan_for([tmp_path], [NAME, ID, PHONE])}
    assert ("a.html", NAME) in hits and ("b.json", NAME) in hits and ("c.html", NAME) in hits
    assert ("d.csv", NAME) in hits and ("d.csv", ID) in hits
    assert ("sub/e.txt.gz!gunzip", PHONE) in hits
    assert any(p.startswith("f.parquet") and n == PHONE for p, n in hits)
    assert any(p.startswith("g.xlsx!") and n == NAME for p, n in hits)
    assert ("h.html", NAME) in hits


def test_clean_files_give_no_hits(tmp_path):
    (tmp_path / "a.html").write_text("<p>海湾花园 ★★★ 少量</p>", encoding="utf-8")
    (tmp_path / "b.bin").write_bytes(bytes(range(256)))
    assert scan_for([tmp_path, tmp_path / "a.html"], [NAME, ID, PHONE, ""]) == []
