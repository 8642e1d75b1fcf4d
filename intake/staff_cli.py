"""``safestar staff``: load the roster, issue and withdraw sign-in tokens, sweep overdue needs."""
from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from intake.cli import database_options
from intake.store import connect, default_db_path, make_private_folder
from intake.vocab import LOCAL_TZ


def _db(args: argparse.Namespace) -> Path:
    return default_db_path(args.db, args.out)


def _load(conn, data: str) -> str:
    from intake.staff_directory import load_directory, read_staff
    from pipelines.inputs import read_registry

    data_dir = Path(data)
    if not data_dir.is_dir():
        raise ValueError(f"{data_dir} is not a folder; pass the data folder that holds staff.csv and compounds.csv")
    n_staff, n_compounds = load_directory(conn, read_staff(data_dir / "staff.csv"), read_registry(data_dir))
    return f"loaded {n_staff} staff and {n_compounds} compounds' grids from {data_dir}"


def _staff(args: argparse.Namespace) -> int:
    from intake import staff_auth, workflow
    from intake.workflow_config import load_needs_config

    cfg = load_needs_config()
    db = _db(args)
    if args.action in ("load", "add"):
        make_private_folder(db.parent)
    conn = connect(db)
    try:
        if args.action == "load":
            print(_load(conn, args.data))
            from intake.vocab import local_now
            n = workflow.register_unregistered(conn, local_now(), cfg)
            if n:
                print(f"registered {n} needs stored before the workflow existed")
        elif args.action == "add":
            if args.data:
                print(_load(conn, args.data))
            token = staff_auth.issue_token(conn, args.staff_id, cfg)
            print(f"staff {args.staff_id}: sign-in token (shown once; give it to them, they sign in at /staff/login):")
            print(token)
        elif args.action == "revoke":
            staff_auth.revoke_token(conn, args.staff_id)
            print(f"staff {args.staff_id}: token withdrawn, sessions ended")
        elif args.action == "sweep":
            at = datetime.fromisoformat(args.at) if args.at else None
            if at is not None and at.tzinfo is None:
                at = at.replace(tzinfo=LOCAL_TZ)
            from intake.vocab import local_now
            n = workflow.sweep_overdue(conn, at or local_now(), cfg)
            print(f"{n} overdue needs escalated one level")
        else:
            rows = conn.execute("SELECT staff_id, name, role, coalesce(unit, ''), removed_at, key_id IS NOT NULL"
                                " FROM staff ORDER BY staff_id").fetchall()
            for sid, name, role, unit, removed, has_token in rows:
                state = f"removed {removed}" if removed else ("token issued" if has_token else "no token")
                print(f"{sid}\t{name}\t{role}\t{unit}\t{state}")
    finally:
        conn.close()
    return 0


def register(subparsers) -> None:
    """Add ``staff`` to the main CLI's subparsers."""
    staff = subparsers.add_parser("staff", help="needs-handling staff: roster, sign-in tokens, overdue sweep")
    sub = staff.add_subparsers(dest="action", required=True)
    load = sub.add_parser("load", help="copy DATA_DIR/staff.csv and the compounds' grids into the intake database")
    load.add_argument("--data", required=True, help="data folder with staff.csv and the compound registry")
    add = sub.add_parser("add", help="issue a sign-in token for a staff member (printed once)")
    add.add_argument("staff_id")
    add.add_argument("--data", help="load the roster from this data folder first")
    revoke = sub.add_parser("revoke", help="withdraw a staff member's token and end their sessions")
    revoke.add_argument("staff_id")
    sweep = sub.add_parser("sweep", help="escalate overdue needs one level now (the service also does it every minute)")
    sweep.add_argument("--at", help="as of this local time (ISO 8601), default now")
    listing = sub.add_parser("list", help="list staff (never tokens)")
    database_options(load, add, revoke, sweep, listing)
    staff.set_defaults(func=_staff)
