"""Officer tokens, the intake store and the CLI handlers (the nightly read: tests/governance)."""
from __future__ import annotations

import argparse
import sqlite3
from datetime import date

import pytest

from intake import store, tokens
from intake.cli import register
from intake.siteroot import find_publication


def test_tokens_add_revoke_list(tmp_path):
    db = tmp_path / "i.sqlite"
    tok = tokens.add_officer(db, "wang", "王警官")
    conn = store.connect(db)
    assert tokens.check_token(conn, tok) == ("wang", "ok")
    assert tokens.check_token(conn, "garbage")[0] is None
    with pytest.raises(ValueError, match="already has an active token"):
        tokens.add_officer(db, "wang", "王警官")
    tokens.revoke_officer(db, "wang")
    assert tokens.check_token(conn, tok) == (None, "revoked")
    with pytest.raises(ValueError, match="no active officer"):
        tokens.revoke_officer(db, "wang")
    new = tokens.add_officer(db, "wang", "王警官")  # re-issue after revocation
    assert tokens.check_token(conn, new) == ("wang", "ok") and tokens.check_token(conn, tok)[0] is None
    assert [o.officer_id for o in tokens.list_officers(db)] == ["wang"]
    with pytest.raises(ValueError):
        tokens.add_officer(db, "bad id!", "x")
    conn.close()


def _parse(argv):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_cli_officers_handlers(tmp_path, capsys):
    db = str(tmp_path / "i.sqlite")
    args = _parse(["officers", "add", "li", "--name", "李警官", "--db", db])
    assert args.func(args) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("sst_")
    args = _parse(["officers", "list", "--db", db])
    assert args.func(args) == 0 and "li\t李警官" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError):
        args = _parse(["officers", "list", "--db", str(tmp_path / "missing.sqlite")])
        args.func(args)


def test_find_publication_takes_a_file_a_date_folder_or_an_output_folder(tmp_path):
    from pipelines.publish import publish
    from tests.site import frames

    staged = frames.publication(tmp_path / "out" / ".staging" / "2026-11-23")
    publish(tmp_path / "out", "2026-11-23")
    out = tmp_path / "out"
    assert find_publication(out) == out / "latest" / staged.name
    assert find_publication(out / "2026-11-23") == out / "2026-11-23" / staged.name
    assert find_publication(out / "latest" / staged.name).samefile(out / "2026-11-23" / staged.name)
    with pytest.raises(FileNotFoundError, match="safestar run"):
        find_publication(tmp_path / "nowhere")


def test_cli_serve_refuses_unusable_input_with_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no publication"):
        args = _parse(["serve", "--site", str(tmp_path)])
        args.func(args)
    from tests.site import frames
    frames.publication(tmp_path)
    with pytest.raises(ValueError, match="--rate"):
        args = _parse(["serve", "--site", str(tmp_path), "--rate", "0"])
        args.func(args)
    with pytest.raises(FileNotFoundError, match="safestar run"):
        args = _parse(["serve", "--out", str(tmp_path / "empty")])
        args.func(args)


def test_need_is_committed_at_once_and_found_only_with_its_key(tmp_path):
    db = tmp_path / "i.sqlite"
    conn = store.connect(db)
    need = store.insert_need(conn, "A", "其他", "路灯坏了", None)
    other = sqlite3.connect(db)  # another connection sees it: nothing left uncommitted
    assert other.execute("SELECT reference FROM needs").fetchall() == [(need.reference,)]
    other.close()
    assert store.find_need(conn, need.reference, need.receipt_key) == need
    assert store.find_need(conn, need.reference, "wrong") is None
    forged = need.reference[:1] + "19990101" + need.reference[9:]  # right id, wrong date
    assert store.find_need(conn, forged, need.receipt_key) is None
    assert store.find_need(conn, "garbage", need.receipt_key) is None
    conn.close()


def test_transactions_compose_and_roll_back_whole(tmp_path):
    conn = store.connect(tmp_path / "i.sqlite")
    with pytest.raises(RuntimeError):
        with store.transaction(conn):
            store.insert_need(conn, "A", "其他", "outer", None)
            with store.transaction(conn):  # a step that opens its own: a savepoint of the outer
                store.insert_need(conn, "A", "其他", "inner", None)
            raise RuntimeError("the outer step fails after the inner one")
    assert conn.execute("SELECT count(*) FROM needs").fetchone()[0] == 0
    with store.transaction(conn):
        with pytest.raises(ValueError):
            with store.transaction(conn):
                store.insert_need(conn, "A", "其他", "undone", None)
                raise ValueError
        store.insert_need(conn, "A", "其他", "kept", None)
    assert [r[0] for r in conn.execute("SELECT text FROM needs")] == ["kept"]
    conn.close()
