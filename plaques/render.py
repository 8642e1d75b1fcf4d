"""Rendering the files of plaques to print: QR SVG + PNG and artwork, one QR matrix each.

Kept free of Polars so it can run in worker processes: a demo batch prints thousands of
plaques, and the two halves of a batch render in parallel on two cores.
"""
from __future__ import annotations

from html import escape
from pathlib import Path

import numpy as np

from plaques.artwork import render_plaque_svg
from plaques.qr import qr_matrix, svg_path, write_qr_png


def standalone_qr_svg(matrix: np.ndarray, url: str, path_d: str | None = None) -> str:
    """The QR code alone as vector SVG (one module = 1 mm at 100 %; scale freely)."""
    n = matrix.shape[0]
    path_d = svg_path(matrix) if path_d is None else path_d
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" width="{n}mm" height="{n}mm" '
        f'shape-rendering="crispEdges"><title>{escape(url)}</title><rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path fill="#000" d="{path_d}"/></svg>\n'
    )


def write_plaque_files(rows: list[dict], batch_dir: Path, year: int) -> int:
    """Write ``qr/<serial>.svg|.png`` and ``art/<serial>.svg`` for each row (serial, url,
    name, stars, district, street); returns the number of plaques written."""
    batch_dir = Path(batch_dir)
    (batch_dir / "qr").mkdir(parents=True, exist_ok=True)
    (batch_dir / "art").mkdir(parents=True, exist_ok=True)
    for r in rows:
        m = qr_matrix(r["url"])
        d = svg_path(m)
        serial = r["serial"]
        (batch_dir / "qr" / f"{serial}.svg").write_text(standalone_qr_svg(m, r["url"], d), encoding="utf-8")
        write_qr_png(r["url"], batch_dir / "qr" / f"{serial}.png", matrix=m)
        art = render_plaque_svg(name=r["name"], stars=r["stars"], year=year, serial=serial, url=r["url"],
                                matrix=m, qr_path=d, district=r["district"], street=r["street"])
        (batch_dir / "art" / f"{serial}.svg").write_text(art, encoding="utf-8")
    return len(rows)
