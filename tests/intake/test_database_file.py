"""The intake database: private on disk, and one default for every command (issue 16, item 3)."""
from __future__ import annotations

import argparse
import os
import stat

import httpx

from intake import store
from intake.cli import register
from tests.intake.live import server_process


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _run(argv):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_database_is_created_owner_only(tmp_path):
    """Finding: intake.sqlite was created world-readable."""
    old = os.umask(0o022)
    try:
        conn = store.connect(tmp_path / "intake.sqlite")
        store.insert_need(conn, "A", "其他", "t", "13912345678")
        for name in ("intake.sqlite", "intake.sqlite-wal", "intake.sqlite-shm"):
            assert _mode(tmp_path / name) == 0o600, name
        conn.close()
        loose = tmp_path / "loose.sqlite"
        loose.touch(mode=0o644)
        store.connect(loose).close()  # an existing world-readable file is tightened
        assert _mode(loose) == 0o600
    finally:
        os.umask(old)


def test_officers_add_and_serve_share_one_database_by_default(tmp_path, site_dir, monkeypatch, capsys):
    """Finding: `officers add` and `serve --out` defaulted to different databases."""
    monkeypatch.delenv("SAFESTAR_INTAKE_DB", raising=False)
    monkeypatch.delenv("SAFESTAR_OUT_DIR", raising=False)
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(site_dir, out / "latest")  # a published date (its public.sqlite)
    private = tmp_path / "private" / "db"
    assert _run(["officers", "add", "li", "--db", str(private / "intake.sqlite")]) == 0
    assert _mode(private) == 0o700 and _mode(private / "intake.sqlite") == 0o600  # the folder made private
    capsys.readouterr()
    assert _run(["officers", "add", "wang", "--out", str(out)]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert (out / "intake.sqlite").is_file()

    env = {k: v for k, v in os.environ.items() if k not in ("SAFESTAR_INTAKE_DB", "SAFESTAR_OUT_DIR")}
    with server_process(["intake", "serve", "--out", str(out)], tmp_path / "serve.log", cwd=tmp_path,
                        env=env) as (url, _):
        r = httpx.post(url + "/api/checkins", json={"compound_id": "XM-001", "kind": "法治宣传"},
                       headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 201, r.text  # the token `officers add --out` made is known to `serve --out`
    assert not (tmp_path / "intake.sqlite").exists()
