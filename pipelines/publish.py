"""Atomic publication of a rating date's outputs.

Assets write into OUT_DIR/.staging/<as_of>/. Publishing moves that folder to
OUT_DIR/.releases/<as_of>.<n>/ and points the symlink OUT_DIR/<as_of> (and OUT_DIR/latest
for the newest date) at it with one rename, so a reader (or a kill -9) sees either the last
good publication or the new one. The web service follows OUT_DIR/latest/public.sqlite
(intake.siteroot); a replaced release's files stay readable to a process that still holds
them open.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

LATEST = "latest"  # OUT_DIR/latest: the newest rating date's publication


def _releases(out: Path, as_of: str) -> list[Path]:
    root = out / ".releases"
    if not root.exists():
        return []
    return sorted(p for p in root.iterdir() if p.name.startswith(as_of + ".") and p.name[len(as_of) + 1:].isdigit())


def _swap_link(link: Path, target: Path) -> None:
    tmp = link.with_name(f".{link.name}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(target, link.parent), target_is_directory=True)
    if link.exists() and not link.is_symlink():
        # A real folder from an older layout: move it aside once; symlinks replace atomically.
        shutil.rmtree(link)
    os.replace(tmp, link)


def publish(out: Path, as_of: str) -> Path:
    """Switch OUT_DIR/<as_of> (and OUT_DIR/latest when it is the newest date) to the staged outputs."""
    staging = out / ".staging" / as_of
    if not staging.is_dir():
        raise FileNotFoundError(f"nothing staged for {as_of} in {staging}: run the rating assets first")
    existing = _releases(out, as_of)
    number = int(existing[-1].name.rsplit(".", 1)[1]) + 1 if existing else 1
    release = out / ".releases" / f"{as_of}.{number}"
    release.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, release)
    link = out / as_of
    _swap_link(link, release)
    dated = sorted(p.name for p in out.iterdir() if p.is_symlink() and _is_date(p.name))
    if dated and dated[-1] == as_of:
        _swap_link(out / LATEST, release)
    for old in existing:
        shutil.rmtree(old, ignore_errors=True)
    return link


def fresh_staging(out: Path, as_of: str) -> Path:
    """An empty staging folder for a rating date (leftovers of a killed run are dropped)."""
    staging = out / ".staging" / as_of
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    return staging


def _is_date(name: str) -> bool:
    return len(name) == 10 and name[4] == "-" and name[7] == "-" and name.replace("-", "").isdigit()
