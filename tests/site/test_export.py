"""``safestar site export``: every page of the publication as a static file, the same bytes
the service serves, written by both cores."""
from __future__ import annotations

from pipelines.cli import main
from reports.site import page_paths, render
from reports.site_store import FILE_NAME, Publication
from tests.site import frames


def test_export_writes_every_page_as_served(tmp_path, capsys):
    folder = tmp_path / "out" / "2026-11-23"
    frames.publication(folder)
    assert main(["site", "export", "--out", str(folder), "--to", str(tmp_path / "public"), "--workers", "2"]) == 0
    assert "exported" in capsys.readouterr().out
    pub = Publication(folder / FILE_NAME)
    paths = page_paths(pub)
    files = {"/" + str(p.relative_to(tmp_path / "public")) for p in (tmp_path / "public").rglob("*") if p.is_file()}
    assert files == set(paths) | {"/static/need.js", "/static/search.js"}
    for path in paths:
        assert (tmp_path / "public" / path.lstrip("/")).read_text(encoding="utf-8") == render(pub, path).body, path
    assert all(f"/p/{s}." in " ".join(paths) for s in ["P000001", "P000003", "P000004"])
    assert "页面不存在" in (tmp_path / "public" / "404.html").read_text(encoding="utf-8")
    static = (tmp_path / "public" / "c" / "XM-001.html").read_text(encoding="utf-8")
    assert '<td class="n" id="need-received">6 件</td>' in static  # the month's needs figures, as served


def test_export_refuses_a_missing_publication_in_one_line(tmp_path, capsys):
    assert main(["site", "export", "--out", str(tmp_path / "nowhere"), "--to", str(tmp_path / "public")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "safestar run" in err
