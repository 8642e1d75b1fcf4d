"""``safestar serve`` and ``safestar officers``: subcommands the main CLI registers."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from intake.siteroot import find_publication
from intake.store import DB_ENV, OUT_ENV, default_db_path, make_private_folder
from plaques.keys import SECRET_ENV, load_keyring
from reports.site_store import Publication


def _settings(args: argparse.Namespace):
    from intake.settings import load_intake_settings

    return load_intake_settings(Path(args.config) if args.config else None)


def _serve(args: argparse.Namespace) -> int:
    from functools import partial

    from intake.app import create_app
    from intake.logs import configure_logging
    from intake.ratelimit import RateLimit
    from intake.server import serve
    from intake.settings import check_proxy

    settings = _settings(args)
    out = None if args.site else Path(args.out or os.environ.get(OUT_ENV) or "out")
    publication = find_publication(Path(args.site) if args.site else out)
    Publication(publication).close()  # a file this version cannot read: one line now, not a 500 per page
    # One default for every command: the output folder's intake.sqlite, the file the
    # nightly run reads (see `officers add`).
    db = default_db_path(args.db, args.out)
    burst = settings.rate_limit.burst if args.burst is None else args.burst
    rate = settings.rate_limit.per_second if args.rate is None else args.rate
    if rate <= 0 or burst < 1:
        raise ValueError("--rate must be > 0 and --burst >= 1")
    proxies = [check_proxy(p) for p in args.trusted_proxy] if args.trusted_proxy else None
    make_private_folder(db.parent)
    configure_logging()
    limit = None if args.no_rate_limit else RateLimit(burst, rate)
    workers = settings.workers if args.workers is None else args.workers
    if workers < 1:
        raise ValueError("--workers must be at least 1")
    # Each worker process builds its own app from these.
    make_app = partial(create_app, site_dir=None if out else publication, out_dir=out, db_path=db, rate_limit=limit,
                       plaque_keyring=load_keyring(out_dir=out) if os.environ.get(SECRET_ENV) else None,
                       trusted_proxies=proxies, cors_origins=args.cors_origin, settings=settings)
    print(f"serving {publication if not out else f'the latest publication under {out}'} on "
          f"http://{args.host}:{args.port} with {workers} worker process{'es' if workers > 1 else ''} "
          f"(intake db {db})", file=sys.stderr)
    return serve(make_app, args.host, args.port, settings, workers)


def _officers(args: argparse.Namespace) -> int:
    from intake import tokens

    db = default_db_path(args.db, args.out)
    if args.action == "add":
        make_private_folder(db.parent)
        token = tokens.add_officer(db, args.officer_id, args.name or args.officer_id)
        print(f"officer {args.officer_id} registered in {db}; token (shown once, give it to the officer):")
        print(token)
    elif args.action == "revoke":
        tokens.revoke_officer(db, args.officer_id)
        print(f"officer {args.officer_id} revoked")
    else:
        for o in tokens.list_officers(db):
            state = f"revoked {o.revoked_at}" if o.revoked_at else "active"
            print(f"{o.officer_id}\t{o.display_name}\t{o.created_at}\t{state}")
    return 0


_DB_HELP = f"intake SQLite file (default ${DB_ENV}, else OUT/intake.sqlite: --out, ${OUT_ENV} or ./out)"


def database_options(*parsers: argparse.ArgumentParser) -> None:
    """``--db`` and ``--out``: which intake database a command works on (``store.default_db_path``)."""
    for p in parsers:
        p.add_argument("--db", help=_DB_HELP)
        p.add_argument("--out", help=f"output folder whose intake.sqlite to use (default ${OUT_ENV} or ./out)")


def register(subparsers) -> None:
    """Add ``serve``, ``officers`` and ``staff`` to the main CLI's subparsers."""
    from intake.staff_cli import register as register_staff

    register_staff(subparsers)
    serve = subparsers.add_parser("serve", help="render the public site on request and take needs and check-ins")
    where = serve.add_mutually_exclusive_group()
    where.add_argument("--site", help="a publication: OUT_DIR/<as_of> or its public.sqlite (fixed)")
    where.add_argument("--out", help=f"output folder; follows its latest publication (default ${OUT_ENV} or ./out)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--db", help=_DB_HELP)
    serve.add_argument("--config", help="intake policy file (default: the shipped config/intake.yaml)")
    serve.add_argument("--rate", type=float, help="per-client refill, requests per second (default: config)")
    serve.add_argument("--burst", type=float, help="per-client burst size (default: config)")
    serve.add_argument("--no-rate-limit", action="store_true", help="disable the per-client limit (load tests)")
    serve.add_argument("--workers", type=int, help="worker processes on the port (default: config); the limits "
                                                   "hold over all of them")
    serve.add_argument("--trusted-proxy", action="append", metavar="ADDR",
                       help="a proxy hop (IP or CIDR) whose X-Forwarded-For/-Proto are believed; the client is "
                            "the right-most address it did not add (repeatable; default: config)")
    serve.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                       help="allow JavaScript posts from pages hosted at ORIGIN (repeatable)")
    serve.set_defaults(func=_serve)

    officers = subparsers.add_parser("officers", help="manage officer check-in tokens")
    osub = officers.add_subparsers(dest="action", required=True)
    add = osub.add_parser("add", help="register an officer and print their token once")
    add.add_argument("officer_id")
    add.add_argument("--name", help="display name (default: the id)")
    revoke = osub.add_parser("revoke", help="revoke an officer's token")
    revoke.add_argument("officer_id")
    osub.add_parser("list", help="list officers (never tokens)")
    database_options(add, revoke, osub.choices["list"])
    officers.set_defaults(func=_officers)
