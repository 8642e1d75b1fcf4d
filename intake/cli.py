"""``safestar serve`` and ``safestar officers``: subcommands the main CLI registers."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from intake.siteroot import find_publication
from intake.store import DB_ENV, default_db_path
from plaques.sign import SECRET_ENV

OUT_ENV = "SAFESTAR_OUT_DIR"


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from intake.app import create_app
    from intake.logs import configure_logging
    from intake.ratelimit import RateLimit

    out = None if args.site else Path(args.out or os.environ.get(OUT_ENV) or "out")
    publication = find_publication(Path(args.site) if args.site else out)
    # Serving a run folder: its intake.sqlite is the one the nightly run reads.
    db = Path(args.db) if args.db else (out / "intake.sqlite" if out and not os.environ.get(DB_ENV) else default_db_path())
    if args.rate <= 0 or args.burst < 1:
        raise ValueError("--rate must be > 0 and --burst >= 1")
    configure_logging()
    limit = None if args.no_rate_limit else RateLimit(args.burst, args.rate)
    app = create_app(site_dir=None if out else publication, out_dir=out, db_path=db, rate_limit=limit,
                     plaque_secret=os.environ.get(SECRET_ENV) or None,
                     trust_forwarded=args.trust_forwarded, cors_origins=args.cors_origin)
    print(f"serving {publication if not out else f'the latest publication under {out}'} on "
          f"http://{args.host}:{args.port} (intake db {db})", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="warning",
                proxy_headers=args.trust_forwarded)
    return 0


def _officers(args: argparse.Namespace) -> int:
    from intake import tokens

    db = Path(args.db) if args.db else default_db_path()
    if args.action == "add":
        token = tokens.add_officer(db, args.officer_id, args.name or args.officer_id)
        print(f"officer {args.officer_id} registered; token (shown once, give it to the officer):")
        print(token)
    elif args.action == "revoke":
        tokens.revoke_officer(db, args.officer_id)
        print(f"officer {args.officer_id} revoked")
    else:
        for o in tokens.list_officers(db):
            state = f"revoked {o.revoked_at}" if o.revoked_at else "active"
            print(f"{o.officer_id}\t{o.display_name}\t{o.created_at}\t{state}")
    return 0


def register(subparsers) -> None:
    """Add ``serve`` and ``officers`` to the main CLI's subparsers."""
    serve = subparsers.add_parser("serve", help="render the public site on request and take needs and check-ins")
    where = serve.add_mutually_exclusive_group()
    where.add_argument("--site", help="a publication: OUT_DIR/<as_of> or its public.sqlite (fixed)")
    where.add_argument("--out", help=f"output folder; follows its latest publication (default ${OUT_ENV} or ./out)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--db", help=f"intake SQLite file (default ${DB_ENV}, else OUT_DIR/intake.sqlite with --out, else ./intake.sqlite)")
    serve.add_argument("--rate", type=float, default=0.5, help="per-client refill, requests per second")
    serve.add_argument("--burst", type=float, default=20, help="per-client burst size")
    serve.add_argument("--no-rate-limit", action="store_true", help="disable the per-client limit (load tests)")
    serve.add_argument("--trust-forwarded", action="store_true",
                       help="key the rate limit on X-Forwarded-For (only behind your own proxy)")
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
    for p in (add, revoke, osub.choices["list"]):
        p.add_argument("--db", help=f"intake SQLite file (default ${DB_ENV} or ./intake.sqlite)")
    officers.set_defaults(func=_officers)
