"""Print batches: everything a plaque printer needs for one rating date, in one folder.

``OUT_DIR/<as_of>/plaques/<batch_id>/`` holds ``manifest.csv`` (one row per action),
``qr/<serial>.svg|.png`` and ``art/<serial>.svg`` for every plaque to print,
``withdrawals.csv`` (the plaques to collect from walls), ``proof.html`` (an A4 proof
sheet) and ``<batch_id>.zip`` with all of it. The same plan gives the same bytes.
"""
from __future__ import annotations

import shutil
import zipfile
from datetime import date
from pathlib import Path

import polars as pl
from pandera.typing.polars import DataFrame

from plaques.artwork import render_plaque_svg
from plaques.qr import qr_matrix, svg_path, write_qr_png
from plaques.registry import PlaquePlan
from plaques.sign import plaque_url
from plaques.templates import FONT_STACK, template
from schemas.plaques import Plaque, PlaqueAction
from schemas.registry import Compound

MANIFEST_COLUMNS = ["serial", "compound_id", "name", "district", "street", "address", "stars", "action", "files",
                    "previous_serial", "url"]
WITHDRAWAL_COLUMNS = ["serial", "compound_id", "name", "district", "street", "address", "stars", "collect",
                      "replaced_by"]
COLLECT_LABELS = {"withdraw": "收回", "replace": "更换后收回旧牌"}


def _standalone_qr_svg(matrix, url: str) -> str:
    n = matrix.shape[0]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" width="{n}mm" height="{n}mm" '
        f'shape-rendering="crispEdges"><title>{url}</title><rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path fill="#000" d="{svg_path(matrix)}"/></svg>\n'
    )


def manifest_frame(plan: PlaquePlan, compounds: DataFrame[Compound], *, base_url: str, secret: str) -> pl.DataFrame:
    """The batch manifest: one row per action, with the compound's address and the files."""
    info = compounds.select(Compound.compound_id, Compound.name, Compound.district, Compound.street, Compound.address)
    actions = plan.actions.join(info, on=PlaqueAction.compound_id, how="left")
    printing = pl.col(PlaqueAction.action) != "withdraw"
    s = pl.col(PlaqueAction.serial)
    files = pl.when(printing).then(pl.format("qr/{}.svg|qr/{}.png|art/{}.svg", s, s, s)).otherwise(pl.lit(""))
    urls = [plaque_url(base_url, x, secret) if a != "withdraw" else ""
            for x, a in zip(actions[PlaqueAction.serial], actions[PlaqueAction.action])]
    return actions.with_columns(
        files.alias("files"), pl.Series("url", urls, dtype=pl.String),
        *[pl.col(c).fill_null("") for c in ("name", "district", "street", "address")],
    ).select(MANIFEST_COLUMNS).sort("district", "street", "compound_id", "action", "serial")


def withdrawals_frame(plan: PlaquePlan, manifest: pl.DataFrame) -> pl.DataFrame:
    """Plaques to take down: withdrawn ones, and the old plaques of replaced ones."""
    old = plan.registry.select(Plaque.serial, pl.col(Plaque.stars).alias("old_stars"))
    withdrawn = manifest.filter(pl.col("action") == "withdraw").with_columns(
        pl.lit(COLLECT_LABELS["withdraw"]).alias("collect"), pl.lit("").alias("replaced_by"))
    replaced = (
        manifest.filter(pl.col("action") == "replace")
        .with_columns(pl.col("serial").alias("replaced_by"), pl.col("previous_serial").alias("serial"),
                      pl.lit(COLLECT_LABELS["replace"]).alias("collect"))
        .join(old, on="serial", how="left").with_columns(pl.col("old_stars").alias("stars"))
    )
    return pl.concat([withdrawn.select(WITHDRAWAL_COLUMNS), replaced.select(WITHDRAWAL_COLUMNS)]).sort(
        "district", "street", "compound_id", "serial")


def render_proof(manifest: pl.DataFrame, withdrawals: pl.DataFrame, *, batch_id: str, as_of: date) -> str:
    """The A4 proof sheet of a batch (or of the part of it a printer pulled)."""
    printing = manifest.filter(pl.col("action") != "withdraw")
    return template("plaque_proof.html").render(
        batch_id=batch_id, as_of=as_of.isoformat(), font_stack=FONT_STACK,
        plaques=printing.to_dicts(), withdrawals=withdrawals.to_dicts(),
        counts={a: manifest.filter(pl.col("action") == a).height for a in ("new", "replace", "withdraw")},
    )


def write_csv(df: pl.DataFrame, path: Path) -> None:
    """UTF-8 with a BOM, so Excel on a printer's PC shows the Chinese names."""
    df.write_csv(path, include_bom=True, line_terminator="\n")


def zip_folder(folder: Path, zip_path: Path, *, as_of: date, arc_root: str) -> Path:
    """A zip of ``folder`` with sorted entries and fixed timestamps (same files, same bytes)."""
    stamp = (as_of.year, as_of.month, as_of.day, 0, 0, 0)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p != zip_path)
    tmp = zip_path.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for f in files:
            info = zipfile.ZipInfo(f"{arc_root}/{f.relative_to(folder).as_posix()}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            zf.writestr(info, f.read_bytes())
    tmp.replace(zip_path)
    return zip_path


def write_plaque_files(rows: list[dict], batch_dir: Path, *, year: int) -> None:
    """QR SVG + PNG and the artwork of every plaque to print (one QR matrix each)."""
    (batch_dir / "qr").mkdir(parents=True, exist_ok=True)
    (batch_dir / "art").mkdir(parents=True, exist_ok=True)
    for r in rows:
        m = qr_matrix(r["url"])
        serial = r["serial"]
        (batch_dir / "qr" / f"{serial}.svg").write_text(_standalone_qr_svg(m, r["url"]), encoding="utf-8")
        write_qr_png(r["url"], batch_dir / "qr" / f"{serial}.png", matrix=m)
        art = render_plaque_svg(name=r["name"], stars=r["stars"], year=year, serial=serial, url=r["url"],
                                matrix=m, district=r["district"], street=r["street"])
        (batch_dir / "art" / f"{serial}.svg").write_text(art, encoding="utf-8")


def write_batch(plan: PlaquePlan, compounds: DataFrame[Compound], out_dir: Path, *, as_of: date,
                base_url: str, secret: str) -> Path | None:
    """Write the print batch of ``plan`` under ``out_dir`` (``OUT_DIR/<as_of>/plaques``).

    Returns the batch folder, or None when the date changes no plaque. A re-run replaces
    the folder of the same batch.
    """
    if plan.actions.is_empty():
        return None
    batch_dir = Path(out_dir) / plan.batch_id
    if batch_dir.exists():
        shutil.rmtree(batch_dir)
    batch_dir.mkdir(parents=True)
    manifest = manifest_frame(plan, compounds, base_url=base_url, secret=secret)
    withdrawals = withdrawals_frame(plan, manifest)
    write_plaque_files(manifest.filter(pl.col("action") != "withdraw").to_dicts(), batch_dir, year=as_of.year)
    write_csv(manifest, batch_dir / "manifest.csv")
    write_csv(withdrawals, batch_dir / "withdrawals.csv")
    (batch_dir / "proof.html").write_text(
        render_proof(manifest, withdrawals, batch_id=plan.batch_id, as_of=as_of), encoding="utf-8")
    zip_folder(batch_dir, batch_dir / f"{plan.batch_id}.zip", as_of=as_of, arc_root=plan.batch_id)
    return batch_dir
