"""``safestar plaques pull`` (the printer's command) and ``safestar plaques rotate``."""
from __future__ import annotations

import argparse
from pathlib import Path

from plaques.keys import rotate_keys
from plaques.pull import pull_batch


def register(subparsers: argparse._SubParsersAction) -> None:
    plaques = subparsers.add_parser("plaques", help="plaque print batches and signing keys")
    sub = plaques.add_subparsers(dest="plaques_command", required=True)
    pull = sub.add_parser("pull", help="make the files of a batch's pending plaques for a printer and mark them pulled")
    pull.add_argument("--batch", default="latest", help="batch id (e.g. B20260105), 'latest' (default) or 'all'")
    pull.add_argument("--district", default=None, help="only this district (name, e.g. 思明区, or division code)")
    pull.add_argument("--to", required=True, type=Path, help="folder to make the batch in")
    pull.add_argument("--out", required=True, type=Path, help="the pipeline's output folder (OUT_DIR)")
    pull.add_argument("--workers", type=int, default=None, help="processes making files (default: every core)")
    pull.add_argument("--no-pdf", dest="pdf", action="store_false",
                      help="no print PDF (when no Chinese TrueType font is installed); SVG artwork only")
    pull.set_defaults(func=run_pull)
    rotate = sub.add_parser("rotate", help="change the plaque signing key and order every plaque's re-issue")
    rotate.add_argument("--out", required=True, type=Path, help="the pipeline's output folder (OUT_DIR)")
    rotate.set_defaults(func=run_rotate)


def run_pull(args: argparse.Namespace) -> int:
    """Pull and print a one-line summary; user mistakes raise ValueError/FileNotFoundError."""
    result = pull_batch(args.out, batch=args.batch, district=args.district, to=args.to, workers=args.workers,
                        pdf=args.pdf)
    print(result.summary())
    for folder in result.folders:
        print(f"  {folder}")
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    print(rotate_keys(args.out).summary())
    return 0
