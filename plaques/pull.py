"""Handing print batches to a printer: exactly what is pending, then marked as pulled.

Batches live in ``OUT_DIR/<as_of>/plaques/<batch_id>/``. The ledger
``OUT_DIR/plaques_pulled.csv`` records every (batch, serial, action) handed out, so a
second pull of the same batch and district hands out nothing new.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from plaques.batch import render_proof, write_csv, zip_folder

LEDGER_NAME = "plaques_pulled.csv"
LEDGER_SCHEMA = {"batch_id": pl.String, "serial": pl.String, "action": pl.String, "district": pl.String,
                 "pulled_to": pl.String, "pulled_at": pl.String}
KEY = ["batch_id", "serial", "action"]


@dataclass(frozen=True)
class PullResult:
    """What one pull handed out."""

    to: Path
    batches: list[str] = field(default_factory=list)
    n_print: int = 0
    n_withdraw: int = 0
    folders: list[Path] = field(default_factory=list)

    @property
    def n_total(self) -> int:
        return self.n_print + self.n_withdraw

    def summary(self) -> str:
        """One line for the command line."""
        if not self.n_total:
            return "nothing pending: every plaque of the selection was pulled before"
        return (f"pulled {self.n_print} plaques to print and {self.n_withdraw} withdrawals from "
                f"{', '.join(self.batches)} into {self.to}")


def find_batches(out_dir: Path) -> dict[str, Path]:
    """Batch id → batch folder, for every batch with a manifest under ``out_dir``.

    Dated folders (``OUT_DIR/<as_of>/``) and the veto monitor's ``OUT_DIR/urgent/`` hold
    batches; the ``latest`` alias points at a dated folder and is skipped."""
    return {p.parent.name: p.parent for p in sorted(Path(out_dir).glob("*/plaques/B*/manifest.csv"))
            if p.parent.parent.parent.name != "latest"}


def _read_csv(path: Path, schema: dict | None = None) -> pl.DataFrame:
    df = pl.read_csv(path, infer_schema=False, encoding="utf8", schema=schema)
    return df.with_columns(pl.col(pl.String).fill_null(""))


def read_ledger(out_dir: Path) -> pl.DataFrame:
    """The pulled ledger (empty when nothing was ever pulled)."""
    path = Path(out_dir) / LEDGER_NAME
    if not path.exists():
        return pl.DataFrame(schema=LEDGER_SCHEMA)
    return _read_csv(path).select([pl.col(c).cast(t) for c, t in LEDGER_SCHEMA.items()])


def _select_batches(batches: dict[str, Path], batch: str) -> list[str]:
    if batch == "latest":
        return [max(batches)]
    if batch == "all":
        return sorted(batches)
    if batch not in batches:
        known = ", ".join(sorted(batches)[-5:])
        raise ValueError(f"no plaque batch {batch!r}; known batches (latest last): {known} — or use --batch latest")
    return [batch]


def _district_filter(district: str | None) -> pl.Expr:
    # A district may be named as in the registry (思明区) or by the serial's district code.
    if district is None:
        return pl.lit(True)
    return (pl.col("district") == district) | (pl.col("serial").str.split("-").list.first() == district)


def _free_folder(dest: Path) -> Path:
    """``dest``, or ``dest_2``, ``dest_3``… when an earlier pull (another district) used it:
    a pull never overwrites what a printer already has."""
    n, candidate = 1, dest
    while candidate.exists():
        n += 1
        candidate = dest.with_name(f"{dest.name}_{n}")
    return candidate


def _batch_as_of(batch_dir: Path) -> date:
    """The rating date of a batch, from its id (``B<yyyymmdd>``, ``U`` for urgent orders)."""
    return datetime.strptime(batch_dir.name[1:9], "%Y%m%d").date()


def _copy_part(batch_dir: Path, part: pl.DataFrame, dest: Path, batch_id: str) -> None:
    """Copy a batch's rows ``part`` (manifest rows) with their files, a proof and a zip."""
    dest.mkdir(parents=True)
    for files in part["files"].to_list():
        for rel in filter(None, (files or "").split("|")):
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(batch_dir / rel, target)
    withdrawals = _read_csv(batch_dir / "withdrawals.csv")
    collect = withdrawals.filter(
        pl.col("serial").is_in(part.filter(pl.col("action") == "withdraw")["serial"].implode())
        | pl.col("replaced_by").is_in(part.filter(pl.col("action") == "replace")["serial"].implode())
    )
    write_csv(part, dest / "manifest.csv")
    write_csv(collect, dest / "withdrawals.csv")
    as_of = _batch_as_of(batch_dir)
    (dest / "proof.html").write_text(render_proof(part.with_columns(pl.col("stars").cast(pl.Int64)), collect,
                                                  batch_id=batch_id, as_of=as_of), encoding="utf-8")
    zip_folder(dest, dest / f"{batch_id}.zip", as_of=as_of, arc_root=batch_id)


def pull_batch(plaques_root: Path, *, batch: str = "latest", district: str | None = None, to: Path) -> PullResult:
    """Copy what is pending in ``batch`` (an id, ``latest`` or ``all``) for ``district``
    into ``to/<batch_id>/`` and mark it pulled in ``OUT_DIR/plaques_pulled.csv``."""
    out_dir = Path(plaques_root)
    if not out_dir.is_dir():
        raise FileNotFoundError(f"output folder {out_dir} does not exist: pass the pipeline's --out folder")
    batches = find_batches(out_dir)
    if not batches:
        raise FileNotFoundError(f"no plaque batches under {out_dir}: run the pipeline first (batches are written "
                                "to OUT_DIR/<as_of>/plaques/)")
    chosen = _select_batches(batches, batch)
    to = Path(to)
    if to.resolve().is_relative_to(out_dir.resolve()):
        raise ValueError(f"--to {to} is inside the output folder {out_dir}; pull into a folder of its own")
    ledger = read_ledger(out_dir)
    manifests = {b: _read_csv(batches[b] / "manifest.csv").with_columns(pl.lit(b).alias("batch_id")) for b in chosen}
    if district is not None and not any(m.filter(_district_filter(district)).height for m in manifests.values()):
        names = sorted({d for m in manifests.values() for d in m["district"].to_list() if d})
        raise ValueError(f"no plaques for district {district!r} in {', '.join(chosen)}; districts there: "
                         f"{', '.join(names) or 'none'}")

    pulled_rows, folders, n_print, n_withdraw, used = [], [], 0, 0, []
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    for b in chosen:
        m = manifests[b].filter(_district_filter(district))
        pending = m.join(ledger.select(KEY), on=KEY, how="anti")
        if pending.is_empty():
            continue
        part = pending.drop("batch_id")
        dest = _free_folder(to / b)
        _copy_part(batches[b], part, dest, b)
        folders.append(dest)
        used.append(b)
        n_withdraw += pending.filter(pl.col("action") == "withdraw").height
        n_print += pending.filter(pl.col("action") != "withdraw").height
        pulled_rows.append(pending.select(
            "batch_id", "serial", "action", "district",
            pl.lit(str(to)).alias("pulled_to"), pl.lit(stamp).alias("pulled_at")))
    if pulled_rows:
        _append_ledger(out_dir, pl.concat([ledger, *pulled_rows]))
    return PullResult(to=to, batches=used, n_print=n_print, n_withdraw=n_withdraw, folders=folders)


def _append_ledger(out_dir: Path, ledger: pl.DataFrame) -> None:
    # Written whole and renamed, so an interrupted pull never leaves half a ledger.
    path = out_dir / LEDGER_NAME
    tmp = path.with_suffix(".csv.part")
    ledger.select(list(LEDGER_SCHEMA)).write_csv(tmp)
    tmp.replace(path)
