"""The CLI answers user mistakes with one clear line and a non-zero exit."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from pipelines.cli import EXIT_USER_ERROR, main


def _err(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    return code, err


def test_missing_data_folder(tmp_path, capsys):
    code, err = _err(capsys, ["run", "--data", str(tmp_path / "nope"), "--as-of", "2026-11-19", "--out", str(tmp_path / "out")])
    assert code == EXIT_USER_ERROR
    assert "does not exist" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_bad_date(tmp_path, capsys):
    code, err = _err(capsys, ["run", "--data", str(tmp_path), "--as-of", "2026-13-45", "--out", str(tmp_path / "out")])
    assert code == EXIT_USER_ERROR
    assert "YYYY-MM-DD" in err


def test_missing_registry(tmp_path, capsys):
    (tmp_path / "sources").mkdir()
    code, err = _err(capsys, ["run", "--data", str(tmp_path), "--as-of", "2026-11-19", "--out", str(tmp_path / "out")])
    assert code == EXIT_USER_ERROR
    assert "compounds.csv" in err


def test_unknown_source_folder(tmp_path, capsys):
    (tmp_path / "compounds.csv").write_text("compound_id\n", encoding="utf-8")
    (tmp_path / "sources" / "police").mkdir(parents=True)
    (tmp_path / "sources" / "fire_brigade").mkdir()
    code, err = _err(capsys, ["run", "--data", str(tmp_path), "--as-of", "2026-11-19", "--out", str(tmp_path / "out")])
    assert code == EXIT_USER_ERROR
    assert "fire_brigade" in err and "police" in err


def test_explain_without_warehouse(tmp_path, capsys):
    code, err = _err(capsys, ["explain", "XM000001", "--out", str(tmp_path)])
    assert code == EXIT_USER_ERROR
    assert "safestar run" in err


def test_console_script_prints_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--data", str(tmp_path / "x"), "--as-of", "2026-11-19", "--out", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert proc.returncode == EXIT_USER_ERROR
    assert proc.stderr.startswith("safestar: error:")
    assert "Traceback" not in proc.stderr


def test_a_date_in_the_future_is_refused_in_one_line(tmp_path, capsys):
    from generator.city import generate_city

    generate_city(tmp_path / "data", seed=2, n_compounds=40, n_events=200)
    code, err = _err(capsys, ["run", "--data", str(tmp_path / "data"), "--as-of", "2099-01-01",
                              "--out", str(tmp_path / "out")])
    assert code == EXIT_USER_ERROR
    assert "not a rating date yet" in err and "Traceback" not in err


def _city(tmp_path):
    data = tmp_path / "data"
    (data / "sources" / "police").mkdir(parents=True)
    (data / "compounds.csv").write_text("compound_id\n", encoding="utf-8")
    return data


def _one_line(code, err):
    assert code == EXIT_USER_ERROR
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err


def test_a_data_folder_that_is_a_file_says_so(tmp_path, capsys):
    (tmp_path / "city").write_text("not a folder", encoding="utf-8")
    err = _one_line(*_err(capsys, ["run", "--data", str(tmp_path / "city"), "--as-of", "2026-11-19",
                                   "--out", str(tmp_path / "out")]))
    assert "is a file" in err and "does not exist" not in err


def test_an_output_folder_that_is_a_file(tmp_path, capsys):
    (tmp_path / "out").write_text("x", encoding="utf-8")
    err = _one_line(*_err(capsys, ["run", "--data", str(_city(tmp_path)), "--as-of", "2026-11-19",
                                   "--out", str(tmp_path / "out")]))
    assert "is a file" in err and "--out" in err


def test_an_output_folder_below_a_file(tmp_path, capsys):
    (tmp_path / "out").write_text("x", encoding="utf-8")
    err = _one_line(*_err(capsys, ["run", "--data", str(_city(tmp_path)), "--as-of", "2026-11-19",
                                   "--out", str(tmp_path / "out" / "nightly")]))
    assert "--out" in err


def test_a_read_only_output_folder(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o500)
    try:
        if os.access(out, os.W_OK):
            pytest.skip("this user writes into read-only folders (root)")
        err = _one_line(*_err(capsys, ["run", "--data", str(_city(tmp_path)), "--as-of", "2026-11-19", "--out", str(out)]))
        assert "cannot write" in err and "writable" in err
    finally:
        out.chmod(0o700)


def test_an_immutable_output_folder(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(out)], capture_output=True).returncode != 0:
        pytest.skip("cannot set the immutable flag here (needs chattr and CAP_LINUX_IMMUTABLE)")
    try:
        err = _one_line(*_err(capsys, ["run", "--data", str(_city(tmp_path)), "--as-of", "2026-11-19", "--out", str(out)]))
        assert "cannot write" in err and "lsattr" in err
    finally:
        subprocess.run([chattr, "-i", str(out)], check=True)


def test_the_ui_command_opens_the_instance_of_the_output_folder(tmp_path, monkeypatch):
    from pipelines.cli import ui_command

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    argv, env = ui_command(tmp_path / "data", tmp_path / "out", 3999)
    assert argv[1:] == ["dev", "-m", "pipelines.definitions", "-p", "3999"]
    assert env["DAGSTER_HOME"] == str((tmp_path / "out" / "dagster_home").resolve())
    assert env["SAFESTAR_OUT_DIR"] == str((tmp_path / "out").resolve())
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "shared"))
    assert ui_command(tmp_path / "data", tmp_path / "out", 3999)[1]["DAGSTER_HOME"] == str((tmp_path / "shared").resolve())


def test_an_immutable_warehouse_file(tmp_path, capsys):
    from generator.city import generate_city

    data, out = tmp_path / "data", tmp_path / "out"
    generate_city(data, seed=2, n_compounds=30, n_events=300)
    out.mkdir()
    import duckdb
    duckdb.connect(str(out / "warehouse.duckdb")).close()  # a warehouse of an earlier run, then made immutable
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(out / "warehouse.duckdb")], capture_output=True).returncode != 0:
        pytest.skip("cannot set the immutable flag here (needs chattr and CAP_LINUX_IMMUTABLE)")
    try:
        code, err = _err(capsys, ["run", "--data", str(data), "--as-of", "2026-11-19", "--out", str(out), "--demo"])
        assert code == EXIT_USER_ERROR and "Traceback" not in err
        last = err.strip().splitlines()[-1]  # after the progress lines
        assert last.startswith("safestar: error: cannot open the warehouse") and "lsattr" in last
    finally:
        subprocess.run([chattr, "-i", str(out / "warehouse.duckdb")], check=True)
