"""The nightly read of the intake database, officer tokens and the CLI handlers."""
from __future__ import annotations

import argparse
import sqlite3
from datetime import date

import pytest

from intake import store, tokens
from intake.cli import register
from intake.siteroot import find_publication
from intake.export import read_intake


def _seed(db):
    conn = store.connect(db)
    rows = [("A", "2026-11-01"), ("A", "2026-11-23"), ("A", "2026-11-24"), ("A", "2026-10-31"), ("B", "2026-09-02")]
    for cid, day in rows:
        conn.execute("INSERT INTO needs (compound_id, category, text, receipt_key, created_at, local_date)"
                     " VALUES (?, '其他', 't', 'k', ?, ?)", (cid, day + "T10:00:00+08:00", day))
    for cid, day in [("A", "2026-11-05"), ("A", "2026-10-05"), ("C", "2026-11-23"), ("C", "2026-11-30")]:
        conn.execute("INSERT INTO checkins (officer_id, compound_id, kind, created_at, local_date)"
                     " VALUES ('o', ?, '法治宣传', ?, ?)", (cid, day + "T10:00:00+08:00", day))
    conn.close()


def test_read_intake_counts_month_and_total_up_to_as_of(tmp_path):
    db = tmp_path / "i.sqlite"
    _seed(db)
    needs, checkins = read_intake(db, date(2026, 11, 23))
    assert needs.rows() == [("A", 2, 3), ("B", 0, 1)]
    assert checkins.rows() == [("A", 1), ("C", 1)]
    assert needs.columns == ["compound_id", "n_needs_month", "n_needs_total"]


def test_read_intake_is_read_only_and_tolerates_missing_db(tmp_path):
    needs, checkins = read_intake(tmp_path / "none.sqlite", date(2026, 11, 23))
    assert needs.height == 0 and checkins.height == 0 and checkins.columns == ["compound_id", "n_month"]
    assert not (tmp_path / "none.sqlite").exists()
    junk = tmp_path / "junk.sqlite"
    sqlite3.connect(junk).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(ValueError, match="not a SafeStar intake database"):
        read_intake(junk, date(2026, 11, 23))


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
