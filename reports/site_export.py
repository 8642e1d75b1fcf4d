"""``safestar site export``: the whole public site as static files, for a plain static host.

The same pages as ``safestar serve`` (``reports.site.render``), from the same publication
file, written by a process pool with a progress bar. Plaque pages open only at the signed
path recorded at issuance; any other path falls to the host's 404.html.
"""
from __future__ import annotations

import argparse
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing, nullcontext
from itertools import repeat
from multiprocessing import get_context
from pathlib import Path

from tqdm import tqdm

from reports.site import page_paths, render
from reports.site_store import Publication

CHUNK = 64
SCRIPTS = Path(__file__).with_name("static") / "site"


def _write_chunk(publication: str, to: str, paths: list[str]) -> int:
    with closing(Publication(Path(publication))) as pub:
        for path in paths:
            page = render(pub, path)
            target = Path(to) / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_text(page.body, encoding="utf-8")
            os.replace(tmp, target)  # a host serving the folder never reads half a page
    return len(paths)


def export_site(publication: Path, to: Path, *, workers: int | None = None, progress: bool = True) -> int:
    """Write every page of ``publication`` under ``to``; returns the number of files."""
    with closing(Publication(publication)) as pub:
        paths = page_paths(pub)
    to = Path(to)
    if to.exists() and not to.is_dir():
        raise FileExistsError(f"{to} is a file; pass a folder to export the site into")
    to.mkdir(parents=True, exist_ok=True)
    if SCRIPTS.is_dir():  # the pages' scripts (no inline script: the service's CSP forbids it)
        shutil.copytree(SCRIPTS, to / "static", dirs_exist_ok=True)
    chunks = [paths[i:i + CHUNK] for i in range(0, len(paths), CHUNK)]
    workers = workers or os.cpu_count() or 1
    # spawn, not fork: a forked child can inherit a lock held by another thread of this
    # process (the chart renderer's, tqdm's) and hang forever.
    with (tqdm(total=len(paths), unit="page", desc="site export", disable=not progress) as bar,
          ProcessPoolExecutor(workers, mp_context=get_context("spawn")) if workers > 1 else nullcontext() as pool):
        for done in (pool.map if pool else map)(_write_chunk, repeat(str(publication)), repeat(str(to)), chunks):
            bar.update(done)
    return len(paths)


def _export(args: argparse.Namespace) -> int:
    from intake.siteroot import find_publication

    publication = find_publication(Path(args.out))
    n = export_site(publication, Path(args.to), workers=args.workers)
    print(f"exported {n} files of {publication} to {args.to}")
    return 0


def register(subparsers) -> None:
    site = subparsers.add_parser("site", help="the public site as static files")
    sub = site.add_subparsers(dest="site_command", required=True)
    export = sub.add_parser("export", help="write every public page of the latest publication to a folder")
    export.add_argument("--out", required=True, help="output folder (its latest publication), a date folder or public.sqlite")
    export.add_argument("--to", required=True, help="folder to write the static site into")
    export.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    export.set_defaults(func=_export)
