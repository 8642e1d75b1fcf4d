"""Rendering the files of plaques to print: QR SVG + PNG and artwork, one QR matrix each.

Kept free of Polars so it can run in worker processes: a first run prints every plaque of
the city, and the chunks of a batch render in parallel on every core. A chunk also builds
its share of the batch's zip (``plaques.zipwrite``): its members are made from the bytes
in hand instead of being read back and compressed by the process writing the archive.
"""
from __future__ import annotations

import os
from functools import lru_cache
from html import escape
from pathlib import Path

import numpy as np

from plaques.artwork import ArtworkRenderer
from plaques.qr import (
    DEFAULT_DPI,
    DEFAULT_MODULE_MM,
    matrix_size,
    png_bytes,
    qr_matrices,
    svg_path,
    svg_paths,
)
from plaques.zipwrite import Member, MemberRun
from reports.fileio import write_new

# serial, url, name, stars, district, street
PlaqueRow = tuple[str, str, str, int, str, str]
PARTS = ".parts"  # the chunks' zip members until the archive is assembled
PX_PER_MODULE = max(1, round(DEFAULT_MODULE_MM / 25.4 * DEFAULT_DPI))


def standalone_qr_svg(matrix: np.ndarray, url: str, path_d: str | None = None) -> str:
    """The QR code alone as vector SVG (one module = 1 mm at 100 %; scale freely)."""
    n = matrix.shape[0]
    path_d = svg_path(matrix) if path_d is None else path_d
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" width="{n}mm" height="{n}mm" '
        f'shape-rendering="crispEdges"><title>{escape(url)}</title><rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path fill="#000" d="{path_d}"/></svg>\n'
    )


@lru_cache(maxsize=4)
def artwork_renderer(year: int) -> ArtworkRenderer:
    """One renderer per process and year: its stencils serve every chunk."""
    return ArtworkRenderer(year)


def artwork_stencils(rows: list[PlaqueRow], year: int) -> dict:
    """The artwork variants ``rows`` need, compiled and checked here (on the first row of
    each), for worker processes: they then never load the template environment."""
    renderer = artwork_renderer(year)
    firsts: dict[tuple, PlaqueRow] = {}
    for r in rows:
        key = renderer.key(name=r[2], stars=r[3], n=matrix_size(r[1]), district=r[4], street=r[5])
        if key not in firsts:
            firsts[key] = r
    firsts_rows = list(firsts.values())
    if firsts_rows:
        matrices = qr_matrices([r[1] for r in firsts_rows])
        for (serial, url, name, stars, district, street), m, d in zip(firsts_rows, matrices, _paths(matrices)):
            renderer.render(name=name, stars=stars, serial=serial, n=m.shape[0], d=d, district=district,
                            street=street)
    return renderer.stencils.export()


def install_artwork(year: int, stencils: dict) -> None:
    """Worker initializer: take the artwork variants compiled by ``artwork_stencils``."""
    artwork_renderer(year).stencils.preload(stencils)


def _paths(matrices: list[np.ndarray]) -> list[str]:
    """``svg_path`` of each matrix, computed together per matrix size."""
    out: list[str] = [""] * len(matrices)
    sizes: dict[int, list[int]] = {}
    for i, m in enumerate(matrices):
        sizes.setdefault(m.shape[0], []).append(i)
    for idx in sizes.values():
        for i, d in zip(idx, svg_paths(np.stack([matrices[i] for i in idx]))):
            out[i] = d
    return out


def _put(dir_fd: int, name: str, data: bytes) -> None:
    """Write a new file ``name`` in the open folder ``dir_fd`` (no path lookups from the root)."""
    write_new(name, data, dir_fd=dir_fd, replace=True)


def render_chunk(rows: list[PlaqueRow], batch_dir: Path, year: int, *, arc_root: str, stamp: tuple[int, int],
                 part: int) -> tuple[list[Member], list[Member]]:
    """Write ``qr/<serial>.svg|.png`` and ``art/<serial>.svg`` of ``rows`` (sorted by the
    zip order of their names) and their zip members: the ``art/`` run and the ``qr/`` run
    go to ``<batch_dir>/.parts/<part>.art|.qr``; returns the members of each run."""
    batch_dir = Path(batch_dir)
    matrices = qr_matrices([r[1] for r in rows])
    paths = _paths(matrices)
    artwork = artwork_renderer(year)
    art_run, qr_run = MemberRun(stamp), MemberRun(stamp)
    qr_fd = os.open(batch_dir / "qr", os.O_RDONLY | os.O_DIRECTORY)
    art_fd = os.open(batch_dir / "art", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for (serial, url, name, stars, district, street), m, d in zip(rows, matrices, paths):
            art = artwork.render(name=name, stars=stars, serial=serial, n=m.shape[0], d=d, district=district,
                                 street=street).encode("utf-8")
            svg = standalone_qr_svg(m, url, d).encode("utf-8")
            png = png_bytes(m, PX_PER_MODULE, DEFAULT_DPI)
            _put(art_fd, f"{serial}.svg", art)
            _put(qr_fd, f"{serial}.png", png)
            _put(qr_fd, f"{serial}.svg", svg)
            art_run.add(f"{arc_root}/art/{serial}.svg", art, compress=True)
            qr_run.add(f"{arc_root}/qr/{serial}.png", png, compress=False)  # PNG is deflated already
            qr_run.add(f"{arc_root}/qr/{serial}.svg", svg, compress=True)
    finally:
        os.close(qr_fd)
        os.close(art_fd)
    parts = batch_dir / PARTS
    return art_run.write(parts / f"{part:06d}.art"), qr_run.write(parts / f"{part:06d}.qr")
