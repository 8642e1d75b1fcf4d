"""Pulling batches: the nightly run stored orders only; a pull makes exactly what is pending —
PDFs, artwork, QR codes, a manifest and a withdrawal list with Chinese headers, a proof per
district, one archive — marks it pulled, resumes when interrupted, and errs in one line."""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import polars as pl
import pytest

from plaques import printfiles
from plaques import pull as pull_module
from plaques.cli import register
from plaques.pull import LEDGER_NAME, pull_batch
from tests.plaques.scenario import build, pulled

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def scenario(tmp_path):
    return build(tmp_path / "out")


def _csv(path: Path) -> pl.DataFrame:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel on a print shop's PC reads the BOM
    return pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")


def digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")}


def test_the_nightly_run_writes_no_print_file(scenario):
    assert sorted(p.name for p in scenario.out_dir.iterdir()) == ["plaque_keys.json", "warehouse.duckdb"]


def test_pull_latest_makes_the_files_then_nothing_new(scenario, tmp_path):
    to = tmp_path / "printer"
    first = pull_batch(scenario.out_dir, to=to, workers=1, progress=False)
    assert first.batches == ["B20260303"] and (first.n_print, first.n_withdraw) == (1, 2)
    got = to / "B20260303"
    for rel in ("pdf/350205-C2-02.pdf", "art/350205-C2-02.svg", "qr/350205-C2-02.svg",
                "proof/海沧区.html", "proof/思明区.html", "B20260303.zip"):
        assert (got / rel).is_file(), rel
    manifest = _csv(got / "manifest.csv")
    assert {"尺寸", "材质", "数量", "地址"} <= set(manifest.columns)
    assert manifest.select("编号", "操作", "替换旧牌", "数量").rows() == [("350205-C2-02", "更换", "350205-C2-01", "1")]
    assert manifest["尺寸"][0].startswith("600×400 毫米") and manifest["地址"][0] == "海沧街道2号"
    withdrawals = _csv(got / "withdrawals.csv")
    assert {"回收", "地址", "数量"} <= set(withdrawals.columns)
    assert sorted(withdrawals.select("编号", "回收", "新牌编号", "星级").rows()) == [
        ("350203-C1-01", "收回牌匾", "", "4"), ("350205-C2-01", "安装新牌后收回旧牌", "350205-C2-02", "5")]
    ledger = pl.read_csv(scenario.out_dir / LEDGER_NAME, infer_schema=False)
    assert sorted(zip(ledger["serial"], ledger["action"])) == [("350203-C1-01", "withdraw"), ("350205-C2-02", "replace")]
    second = pull_batch(scenario.out_dir, to=to, progress=False)
    assert second.n_total == 0 and second.folders == [] and "nothing pending" in second.summary()


def test_archive_holds_every_file_and_is_reproducible(scenario, tmp_path, monkeypatch):
    a = pulled(scenario, tmp_path / "a", "B20260302")
    with zipfile.ZipFile(a / "B20260302.zip") as z:
        assert z.testzip() is None
        names = sorted(z.namelist())
        assert all(not n.split("/")[-1].startswith(".") for n in names)
        assert names == sorted(f"B20260302/{rel}" for rel in digests(a) if rel != "B20260302.zip")
        assert z.read("B20260302/manifest.csv") == (a / "manifest.csv").read_bytes()
        assert {i.compress_type for i in z.infolist() if i.filename.endswith(".pdf")} == {zipfile.ZIP_STORED}
    # A second pull of the same orders elsewhere (another ledger), in two worker processes,
    # gives the same bytes.
    monkeypatch.setattr("plaques.pull.PARALLEL_FROM", 0)
    monkeypatch.setattr("plaques.pull.CHUNK", 2)
    spawned = []
    real_pool = pull_module.ProcessPoolExecutor

    def counting_pool(*args, **kwargs):
        spawned.append(kwargs.get("max_workers"))
        return real_pool(*args, **kwargs)

    monkeypatch.setattr("plaques.pull.ProcessPoolExecutor", counting_pool)
    other = build(tmp_path / "out2")
    b = pulled(other, tmp_path / "b", "B20260302", workers=2)
    assert spawned == [2]
    assert digests(a) == digests(b)


def test_proof_is_split_per_district_and_paginated(tmp_path, monkeypatch):
    from plaques.config import load_plaque_config

    sc = build(tmp_path / "out")
    config = load_plaque_config()
    small = config.model_copy(update={"proof": config.proof.model_copy(update={"per_page": 1})})
    monkeypatch.setattr("plaques.pull.load_plaque_config", lambda path=None: small)
    got = pulled(sc, tmp_path / "p", "B20260302")
    proofs = sorted(p.name for p in (got / "proof").iterdir())
    assert proofs == sorted(f"{d}.html" for d in ("思明区", "海沧区", "集美区", "同安区", "翔安区"))
    html = (got / "proof" / "同安区.html").read_text(encoding="utf-8")
    assert "第 1 / 1 页" in html and 'src="../art/350212-C4-01.svg"' in html
    assert "同安&lt;新城&gt;&amp;苑" in html and "<新城>" not in html  # the name is escaped


def test_pull_by_district_hands_out_only_that_district(scenario, tmp_path):
    to = tmp_path / "printer"
    one = pull_batch(scenario.out_dir, batch="B20260302", district="思明区", to=to, progress=False)
    assert one.n_print == 1 and one.folders == [to / "B20260302-思明区"]
    assert _csv(to / "B20260302-思明区" / "manifest.csv")["小区编号"].to_list() == ["C1"]
    two = pull_batch(scenario.out_dir, batch="B20260302", district="350205", to=to, progress=False)
    assert two.n_print == 1 and (to / "B20260302-思明区" / "qr" / "350203-C1-01.svg").is_file()
    rest = pull_batch(scenario.out_dir, batch="B20260302", to=to, progress=False)
    assert rest.n_print == 3  # C3, C4, C5: the two pulled before are not handed out again
    assert pull_batch(scenario.out_dir, batch="all", to=to, progress=False).n_total == 3  # only B20260303 is left


def test_an_interrupted_pull_resumes_keeping_what_was_made(scenario, tmp_path, monkeypatch):
    to = tmp_path / "printer"
    real, calls = printfiles.make_files, []

    def dies_on_the_third(item, dest):
        calls.append(item.serial)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(item, dest)

    monkeypatch.setattr(printfiles, "make_files", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        pull_batch(scenario.out_dir, batch="B20260302", to=to, workers=1, progress=False)
    folder = to / "B20260302"
    assert len(list(folder.rglob("*.pdf"))) == 2 and not (folder / "B20260302.zip").exists()
    assert not list(folder.rglob("*.part")) and not (scenario.out_dir / LEDGER_NAME).exists()
    made = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")}
    monkeypatch.setattr(printfiles, "make_files", real)
    again = pull_batch(scenario.out_dir, batch="B20260302", to=to, workers=1, progress=False)
    assert again.folders == [folder] and again.files_made == 5 * 3 - len(made)  # only what was missing
    assert {p: p.stat().st_mtime_ns for p in made} == made  # kept, not remade
    with zipfile.ZipFile(folder / "B20260302.zip") as z:
        assert len([n for n in z.namelist() if n.endswith(".pdf")]) == 5


def test_a_killed_pull_resumes(scenario, tmp_path):
    """SIGKILL in the middle of making files (a real process, two workers): no archive, no
    ledger; the next pull finishes the same folder."""
    to = tmp_path / "printer"
    code = ("import sys, time; from pathlib import Path; from plaques import printfiles; "
            "real = printfiles.make_chunk\n"
            "def slow(items, dest, pdf=True):\n"
            "    n = real(items[:1], dest, pdf); time.sleep(60); return n\n"
            "printfiles.make_chunk = slow\n"
            "import plaques.pull as pull; pull.make_chunk = slow; pull.CHUNK = 1\n"
            f"pull.pull_batch(Path({str(scenario.out_dir)!r}), batch='B20260302', to=Path({str(to)!r}), workers=1, progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, start_new_session=True)
    folder = to / "B20260302"
    deadline = time.monotonic() + 60
    while not list(folder.glob("pdf/*.pdf")) and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(list(folder.glob("pdf/*.pdf"))) == 1 and not (folder / "B20260302.zip").exists()
    assert not (scenario.out_dir / LEDGER_NAME).exists()
    kept = {p: p.stat().st_mtime_ns for sub in ("pdf", "art", "qr") for p in (folder / sub).glob("[!.]*")}
    done = pull_batch(scenario.out_dir, batch="B20260302", to=to, workers=1, progress=False)
    assert done.folders == [folder] and (folder / "B20260302.zip").is_file()
    assert done.files_made == 5 * 3 - len(kept) and {p: p.stat().st_mtime_ns for p in kept} == kept
    assert json.loads((folder / ".pull.json").read_text())["batch_id"] == "B20260302"


def test_an_urgent_order_pulled_first_is_not_handed_out_again_at_night(scenario, tmp_path):
    """The veto monitor orders the withdrawal between nightly runs (batch …U); the nightly
    batch orders it again; the printer collects that plaque once."""
    from plaques.orders import print_orders
    from tests.plaques.scenario import SETTINGS

    urgent = print_orders(scenario.second.actions.filter(pl.col("action") == "withdraw"), batch_id="B20260303U",
                          settings=SETTINGS, as_of=scenario.second.as_of)
    with scenario.warehouse.transaction() as w:
        w.replace_partition("marts.urgent_plaque_actions", urgent, "as_of", scenario.second.as_of)
    first = pull_batch(scenario.out_dir, batch="B20260303U", to=tmp_path / "p", workers=1, progress=False)
    assert (first.n_print, first.n_withdraw) == (0, 1)
    assert not (first.folders[0] / "pdf").exists()  # nothing to print, no empty folders
    night = pull_batch(scenario.out_dir, batch="B20260303", to=tmp_path / "p", workers=1, progress=False)
    collect = _csv(night.folders[0] / "withdrawals.csv")
    assert collect["回收"].to_list() == ["安装新牌后收回旧牌"]  # only the replaced plaque's old one
    # Both batches pending in one pull: the plaque is still collected once.
    again = build(tmp_path / "out2")
    with again.warehouse.transaction() as w:
        w.replace_partition("marts.urgent_plaque_actions", urgent, "as_of", again.second.as_of)
    both = pull_batch(again.out_dir, batch="all", to=tmp_path / "q", workers=1, progress=False)
    withdrawn = [f for f in both.folders if _csv(f / "withdrawals.csv")["回收"].to_list().count("收回牌匾")]
    assert len(withdrawn) == 1


def test_without_a_pdf_the_rest_is_made(scenario, tmp_path):
    got = pulled(scenario, tmp_path / "p", "B20260303", pdf=False)
    assert not (got / "pdf").exists()
    assert (got / "art" / "350205-C2-02.svg").is_file() and (got / "B20260303.zip").is_file()
    assert "pdf/" not in _csv(got / "manifest.csv")["文件"][0]


def test_pull_mistakes_raise_one_line_errors(scenario, tmp_path):
    with pytest.raises(ValueError, match="no plaque batch 'B1999'.*B20260303"):
        pull_batch(scenario.out_dir, batch="B1999", to=tmp_path / "x", progress=False)
    with pytest.raises(ValueError, match="no plaques for district '湖里区'"):
        pull_batch(scenario.out_dir, district="湖里区", to=tmp_path / "x", progress=False)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        pull_batch(tmp_path / "nowhere", to=tmp_path / "x")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="run `safestar run` first"):
        pull_batch(tmp_path / "empty", to=tmp_path / "x")
    with pytest.raises(ValueError, match="inside the output folder"):
        pull_batch(scenario.out_dir, to=scenario.out_dir / "printer")
    assert not (scenario.out_dir / LEDGER_NAME).exists()


def test_cli_pull(scenario, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="safestar")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["plaques", "pull", "--batch", "latest", "--to", str(tmp_path / "p"),
                              "--out", str(scenario.out_dir), "--workers", "1"])
    assert args.func(args) == 0
    out = capsys.readouterr()
    assert "pulled 1 plaques to print and 2 to collect" in out.out
    assert args.func(args) == 0
    assert "nothing pending" in capsys.readouterr().out
