"""Pulling batches: exactly what is pending, marked pulled, with clear errors."""
from __future__ import annotations

import argparse

import polars as pl
import pytest

from plaques.cli import register
from plaques.pull import LEDGER_NAME, pull_batch
from tests.plaques.scenario import build


@pytest.fixture
def scenario(tmp_path):
    return build(tmp_path / "out")


def test_pull_latest_then_nothing_new(scenario, tmp_path):
    to = tmp_path / "printer"
    first = pull_batch(scenario.out_dir, to=to)
    assert first.batches == ["B20260303"] and (first.n_print, first.n_withdraw) == (1, 1)
    got = to / "B20260303"
    assert (got / "qr" / "350205-C2-02.png").is_file() and (got / "art" / "350205-C2-02.svg").is_file()
    assert (got / "proof.html").is_file() and (got / "B20260303.zip").is_file()
    assert sorted(pl.read_csv(got / "manifest.csv")["action"]) == ["replace", "withdraw"]
    ledger = pl.read_csv(scenario.out_dir / LEDGER_NAME)
    assert sorted(zip(ledger["serial"], ledger["action"])) == [("350203-C1-01", "withdraw"),
                                                               ("350205-C2-02", "replace")]
    second = pull_batch(scenario.out_dir, to=to)
    assert second.n_total == 0 and second.folders == [] and "nothing pending" in second.summary()
    assert pl.read_csv(scenario.out_dir / LEDGER_NAME).height == 2


def test_pull_by_district_hands_out_only_that_district(scenario, tmp_path):
    to = tmp_path / "printer"
    one = pull_batch(scenario.out_dir, batch="B20260302", district="思明区", to=to)
    assert one.n_print == 1
    assert pl.read_csv(to / "B20260302" / "manifest.csv")["compound_id"].to_list() == ["C1"]
    assert sorted(p.name for p in (to / "B20260302" / "qr").iterdir()) == ["350203-C1-01.png", "350203-C1-01.svg"]
    # By division code, into the same folder: a fresh subfolder, nothing overwritten.
    two = pull_batch(scenario.out_dir, batch="B20260302", district="350205", to=to)
    assert two.folders == [to / "B20260302_2"] and (to / "B20260302" / "qr" / "350203-C1-01.png").is_file()
    rest = pull_batch(scenario.out_dir, batch="B20260302", to=to)
    assert rest.n_print == 3  # C3, C4, C5: the two pulled before are not handed out again
    assert pull_batch(scenario.out_dir, batch="all", to=to).n_total == 2  # only B20260303 is left


def test_pull_mistakes_raise_one_line_errors(scenario, tmp_path):
    with pytest.raises(ValueError, match="no plaque batch 'B1999'.*B20260303"):
        pull_batch(scenario.out_dir, batch="B1999", to=tmp_path / "x")
    with pytest.raises(ValueError, match="no plaques for district '湖里区'"):
        pull_batch(scenario.out_dir, district="湖里区", to=tmp_path / "x")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        pull_batch(tmp_path / "nowhere", to=tmp_path / "x")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="run the pipeline first"):
        pull_batch(tmp_path / "empty", to=tmp_path / "x")
    with pytest.raises(ValueError, match="inside the output folder"):
        pull_batch(scenario.out_dir, to=scenario.out_dir / "printer")
    assert not (scenario.out_dir / LEDGER_NAME).exists()


def test_cli_pull(scenario, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="safestar")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["plaques", "pull", "--batch", "latest", "--to", str(tmp_path / "p"),
                              "--out", str(scenario.out_dir)])
    assert args.func(args) == 0
    assert "pulled 1 plaques to print and 1 withdrawals" in capsys.readouterr().out
    assert args.func(args) == 0
    assert "nothing pending" in capsys.readouterr().out
