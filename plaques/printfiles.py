"""The files of one plaque to print, made when a printer pulls: the QR code (SVG, PNG), the
artwork SVG and the print PDF. Free of Polars: it runs in the pull's worker processes.

A file is written under a temporary name and renamed, so a file that exists is whole: an
interrupted pull resumes by skipping what exists.
"""
from __future__ import annotations

import os
from pathlib import Path

from plaques.artwork import PlaqueItem, artwork_svg, qr_code, qr_png, qr_svg, qr_vector
from plaques.config import PlaqueConfig, load_plaque_config

FOLDERS = ("qr", "art", "pdf")


def files_of(serial: str, pdf: bool = True) -> list[str]:
    """The batch-relative files of a plaque."""
    return [f"pdf/{serial}.pdf"] * pdf + [f"art/{serial}.svg", f"qr/{serial}.svg", f"qr/{serial}.png"]


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def make_files(item: PlaqueItem, dest: Path, config: PlaqueConfig, pdf: bool = True) -> int:
    """Make the missing files of ``item`` under ``dest``; returns how many were made."""
    wanted = [f for f in files_of(item.serial, pdf) if not (dest / f).exists()]
    if not wanted:
        return 0
    code = qr_code(item.url)
    vector = qr_vector(code)  # one vector image for the artwork and the QR file
    makers = {
        f"art/{item.serial}.svg": lambda: artwork_svg(item, code, config, vector),
        f"qr/{item.serial}.svg": lambda: qr_svg(code, vector),
        f"qr/{item.serial}.png": lambda: qr_png(code, config),
    }
    if pdf:
        from plaques.pdf import plaque_pdf

        makers[f"pdf/{item.serial}.pdf"] = lambda: plaque_pdf(item, code, config)
    for rel in wanted:
        _write(dest / rel, makers[rel]())
    return len(wanted)


def make_chunk(items: list[PlaqueItem], dest: Path, pdf: bool = True, config_path: str | None = None) -> int:
    """``make_files`` for a chunk of plaques (a worker's unit of work)."""
    config = load_plaque_config(Path(config_path) if config_path else None)
    return sum(make_files(item, Path(dest), config, pdf) for item in items)
