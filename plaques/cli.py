"""``safestar plaques pull``: the printer's command (the lead's CLI registers it)."""
from __future__ import annotations

import argparse
from pathlib import Path

from plaques.pull import pull_batch


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``plaques pull [--batch ID|latest|all] [--district D] --to DIR --out OUT_DIR``."""
    plaques = subparsers.add_parser("plaques", help="plaque print batches")
    sub = plaques.add_subparsers(dest="plaques_command", required=True)
    pull = sub.add_parser("pull", help="copy the pending plaques of a batch for a printer and mark them pulled")
    pull.add_argument("--batch", default="latest", help="batch id (e.g. B20260105), 'latest' (default) or 'all'")
    pull.add_argument("--district", default=None, help="only this district (name, e.g. 思明区, or division code)")
    pull.add_argument("--to", required=True, type=Path, help="folder to copy the batch into")
    pull.add_argument("--out", required=True, type=Path, help="the pipeline's output folder (OUT_DIR)")
    pull.set_defaults(func=run_pull)


def run_pull(args: argparse.Namespace) -> int:
    """Pull and print a one-line summary; user mistakes raise ValueError/FileNotFoundError."""
    result = pull_batch(args.out, batch=args.batch, district=args.district, to=args.to)
    print(result.summary())
    for folder in result.folders:
        print(f"  {folder}")
    return 0
