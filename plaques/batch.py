"""Print batches: everything a plaque printer needs for one rating date, in one folder.

``OUT_DIR/<as_of>/plaques/<batch_id>/`` holds ``manifest.csv`` (one row per action),
``qr/<serial>.svg|.png`` and ``art/<serial>.svg`` for every plaque to print,
``withdrawals.csv`` (the plaques to collect from walls), ``proof.html`` (an A4 proof
sheet) and ``<batch_id>.zip`` with all of it. The same plan gives the same bytes.

A first run prints every plaque of the city: the plaques are rendered in chunks, in worker
processes (``workers``), each chunk writing its files and its share of the zip's members;
this process meanwhile writes the lists and the proof sheet, then assembles the zip from
the chunks' member runs in name order.
"""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from multiprocessing import get_context
from pathlib import Path

import polars as pl
from pandera.typing.polars import DataFrame

from plaques.registry import PlaquePlan
from plaques.render import (
    PARTS,
    PlaqueRow,
    artwork_stencils,
    install_artwork,
    render_chunk,
)
from plaques.sign import plaque_url
from plaques.templates import FONT_STACK, template
from plaques.zipwrite import Member, ZipAssembler, dos_stamp
from schemas.plaques import Plaque, PlaqueAction
from schemas.registry import Compound

MANIFEST_COLUMNS = ["serial", "compound_id", "name", "district", "street", "address", "stars", "action", "files",
                    "previous_serial", "url"]
WITHDRAWAL_COLUMNS = ["serial", "compound_id", "name", "district", "street", "address", "stars", "collect",
                      "replaced_by"]
COLLECT_LABELS = {"withdraw": "收回", "replace": "更换后收回旧牌"}
PARALLEL_FROM = 400  # below this, starting worker processes costs more than it saves
CHUNK = 1000  # plaques a worker renders at a time: QR codes encode in groups, results stream in order
STORED_SUFFIXES = {".png", ".zip"}  # already compressed: deflating again only costs time


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
    files = sorted((f"{arc_root}/{p.relative_to(folder).as_posix()}", p)
                   for p in folder.rglob("*") if p.is_file() and p != zip_path)
    archive = ZipAssembler(zip_path, stamp=dos_stamp(as_of))
    try:
        for name, f in files:
            archive.add(name, f.read_bytes(), compress=f.suffix not in STORED_SUFFIXES)
    except BaseException:
        archive.abort()
        raise
    return archive.close()


def _chunks(rows: list[PlaqueRow], size: int) -> list[list[PlaqueRow]]:
    return [rows[i:i + size] for i in range(0, len(rows), size)]


ChunkRuns = tuple[Path, list[Member], Path, list[Member]]


def render_files(rows: list[PlaqueRow], batch_dir: Path, *, year: int, arc_root: str, stamp: tuple[int, int],
                 workers: int = 1) -> Iterator[ChunkRuns]:
    """Render the files of ``rows`` (in zip order) chunk by chunk, in ``workers`` spawned
    processes when above one (started at once); yields each chunk's two zip runs in order.

    Spawning needs the calling program's main module to be import-safe (an
    ``if __name__ == "__main__":`` guard); Dagster, pytest and ``python -m`` entry points are.
    """
    for sub in ("qr", "art", PARTS):
        (batch_dir / sub).mkdir(parents=True, exist_ok=True)
    jobs = [((c, batch_dir, year), {"arc_root": arc_root, "stamp": stamp, "part": k})
            for k, c in enumerate(_chunks(rows, CHUNK))]
    if workers <= 1 or len(rows) < PARALLEL_FROM:
        return _in_order(batch_dir, (render_chunk(*a, **kw) for a, kw in jobs))
    # Spawned, not forked: a forked child of a process running Polars' thread pool can hang.
    # The workers get the artwork's template variants compiled: loading templates costs imports.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=install_artwork,
                               initargs=(year, artwork_stencils(rows, year)))
    futures = [pool.submit(render_chunk, *a, **kw) for a, kw in jobs]
    return _in_order(batch_dir, (f.result() for f in futures), pool)


def _in_order(batch_dir: Path, results, pool: ProcessPoolExecutor | None = None) -> Iterator[ChunkRuns]:
    try:
        for k, (art, qr) in enumerate(results):
            yield batch_dir / PARTS / f"{k:06d}.art", art, batch_dir / PARTS / f"{k:06d}.qr", qr
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _printing_rows(manifest: pl.DataFrame) -> list[PlaqueRow]:
    """The plaques to print as render rows, in the zip order of their file names."""
    rows = manifest.filter(pl.col("action") != "withdraw").select(
        "serial", "url", "name", pl.col("stars").cast(pl.Int64), "district", "street").rows()
    # "<serial>." orders "art/<serial>.svg" and "qr/<serial>.png|.svg" as their names sort.
    return sorted(rows, key=lambda r: r[0] + ".")


def write_batch(plan: PlaquePlan, compounds: DataFrame[Compound], out_dir: Path, *, as_of: date,
                base_url: str, secret: str, workers: int = 1) -> Path | None:
    """Write the print batch of ``plan`` under ``out_dir`` (``OUT_DIR/<as_of>/plaques``).

    Returns the batch folder, or None when the date changes no plaque. A re-run replaces
    the folder of the same batch. ``workers`` > 1 renders the plaque files of a large batch
    in that many processes (see ``render_files``); the output is the same either way.
    """
    if plan.as_of != as_of:
        raise ValueError(f"the plan is for {plan.as_of.isoformat()}, not {as_of.isoformat()}")
    if plan.actions.is_empty():
        return None
    batch_dir = Path(out_dir) / plan.batch_id
    if batch_dir.exists():
        shutil.rmtree(batch_dir)
    batch_dir.mkdir(parents=True)
    manifest = manifest_frame(plan, compounds, base_url=base_url, secret=secret)
    withdrawals = withdrawals_frame(plan, manifest)
    root, stamp = plan.batch_id, dos_stamp(as_of)
    chunks = render_files(_printing_rows(manifest), batch_dir, year=as_of.year, arc_root=root, stamp=stamp,
                          workers=workers)
    archive = None
    try:
        # While the workers render, this process writes the lists and the proof sheet.
        write_csv(manifest, batch_dir / "manifest.csv")
        write_csv(withdrawals, batch_dir / "withdrawals.csv")
        proof = render_proof(manifest, withdrawals, batch_id=plan.batch_id, as_of=as_of).encode("utf-8")
        (batch_dir / "proof.html").write_bytes(proof)
        # Zip order is name order: art/…, manifest.csv, proof.html, qr/…, withdrawals.csv.
        archive = ZipAssembler(batch_dir / f"{plan.batch_id}.zip", stamp=stamp)
        qr_runs = []
        for art_path, art, qr_path, qr in chunks:
            archive.append(art_path, art)
            art_path.unlink()
            qr_runs.append((qr_path, qr))
        archive.add(f"{root}/manifest.csv", (batch_dir / "manifest.csv").read_bytes(), compress=True)
        archive.add(f"{root}/proof.html", proof, compress=True)
        for qr_path, qr in qr_runs:
            archive.append(qr_path, qr)
            qr_path.unlink()
        archive.add(f"{root}/withdrawals.csv", (batch_dir / "withdrawals.csv").read_bytes(), compress=True)
    except BaseException:
        chunks.close()
        if archive is not None:
            archive.abort()
        raise
    finally:
        shutil.rmtree(batch_dir / PARTS, ignore_errors=True)
    archive.close()
    return batch_dir
