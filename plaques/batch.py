"""Print batches: everything a plaque printer needs for one rating date, in one folder.

``OUT_DIR/<as_of>/plaques/<batch_id>/`` holds ``manifest.csv`` (one row per action),
``qr/<serial>.svg|.png`` and ``art/<serial>.svg`` for every plaque to print,
``withdrawals.csv`` (the plaques to collect from walls), ``proof.html`` (an A4 proof
sheet) and ``<batch_id>.zip`` with all of it. The same plan gives the same bytes.
"""
from __future__ import annotations

import shutil
import zipfile
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from multiprocessing import get_context
from pathlib import Path

import polars as pl
from pandera.typing.polars import DataFrame

from plaques.registry import PlaquePlan
from plaques.render import write_plaque_files
from plaques.sign import plaque_url
from plaques.templates import FONT_STACK, template
from schemas.plaques import Plaque, PlaqueAction
from schemas.registry import Compound

MANIFEST_COLUMNS = ["serial", "compound_id", "name", "district", "street", "address", "stars", "action", "files",
                    "previous_serial", "url"]
WITHDRAWAL_COLUMNS = ["serial", "compound_id", "name", "district", "street", "address", "stars", "collect",
                      "replaced_by"]
COLLECT_LABELS = {"withdraw": "收回", "replace": "更换后收回旧牌"}
PARALLEL_FROM = 400  # below this, starting worker processes costs more than it saves
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
    stamp = (as_of.year, as_of.month, as_of.day, 0, 0, 0)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p != zip_path)
    tmp = zip_path.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for f in files:
            info = zipfile.ZipInfo(f"{arc_root}/{f.relative_to(folder).as_posix()}", date_time=stamp)
            info.compress_type = zipfile.ZIP_STORED if f.suffix in STORED_SUFFIXES else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            zf.writestr(info, f.read_bytes())
    tmp.replace(zip_path)
    return zip_path


def render_files(rows: list[dict], batch_dir: Path, *, year: int, workers: int = 1) -> None:
    """Render the files of ``rows``, in ``workers`` spawned processes when above one.

    Spawning needs the calling program's main module to be import-safe (an
    ``if __name__ == "__main__":`` guard); Dagster, pytest and ``python -m`` entry points are.
    """
    if workers <= 1 or len(rows) < PARALLEL_FROM:
        write_plaque_files(rows, batch_dir, year)
        return
    # Spawned, not forked: a forked child of a process running Polars' thread pool can hang.
    chunks = [rows[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        done = sum(pool.map(write_plaque_files, chunks, [batch_dir] * workers, [year] * workers))
    if done != len(rows):
        raise RuntimeError(f"rendered {done} of {len(rows)} plaques")


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
    render_files(manifest.filter(pl.col("action") != "withdraw").to_dicts(), batch_dir, year=as_of.year,
                 workers=workers)
    write_csv(manifest, batch_dir / "manifest.csv")
    write_csv(withdrawals, batch_dir / "withdrawals.csv")
    (batch_dir / "proof.html").write_text(
        render_proof(manifest, withdrawals, batch_id=plan.batch_id, as_of=as_of), encoding="utf-8")
    zip_folder(batch_dir, batch_dir / f"{plan.batch_id}.zip", as_of=as_of, arc_root=plan.batch_id)
    return batch_dir
