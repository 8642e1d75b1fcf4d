"""The CLI answers user mistakes with one clear line and a non-zero exit."""
from __future__ import annotations

import subprocess
import sys


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
