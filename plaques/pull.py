"""``safestar plaques pull``: a printer's batch, made when it is pulled (the files it makes and
how an interrupted pull resumes: docs/PLAQUES.md). Only a finished pull enters the ledger of
what was handed out (``OUT_DIR/plaques_pulled.csv``).
"""
from __future__ import annotations

import json
import os
import re
import sys
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from itertools import repeat
from multiprocessing import get_context
from pathlib import Path

import polars as pl
from tqdm import tqdm

from plaques.artwork import FONT_STACK, PlaqueItem, artwork_svg
from plaques.config import PlaqueConfig, load_plaque_config
from plaques.orders import PRINTING, read_orders
from plaques.printfiles import chunks, files_of, make_chunk, pdf_of, register_cjk_font, write_file
from reports.excel import write_people_csv
from reports.templating import render_template

LEDGER_NAME = "plaques_pulled.csv"
LEDGER_SCHEMA = {"batch_id": pl.String, "serial": pl.String, "action": pl.String, "key_id": pl.String,
                 "district": pl.String, "pulled_to": pl.String, "pulled_at": pl.String}
KEY = ["serial", "action", "key_id"]
STATE = ".pull.json"
ACTION_ZH = {"new": "新制", "replace": "更换", "reissue": "重新签发（新二维码）", "withdraw": "收回"}
COLLECT_ZH = {"withdraw": "收回牌匾", "replace": "安装新牌后收回旧牌", "reissue": "安装新牌后收回旧牌（旧二维码停用）"}
CHUNK = 50  # plaques per unit of work in the pool and per PDF
PARALLEL_FROM = 40  # below this, starting worker processes costs more than it saves


@dataclass
class PullResult:
    """What one pull handed out."""

    to: Path
    batches: list[str] = field(default_factory=list)
    n_print: int = 0
    n_withdraw: int = 0
    folders: list[Path] = field(default_factory=list)
    files_made: int = 0

    @property
    def n_total(self) -> int:
        return self.n_print + self.n_withdraw

    def summary(self) -> str:
        """One line for the command line."""
        if not self.n_total:
            return "nothing pending: every plaque of the selection was pulled before"
        return (f"pulled {self.n_print} plaques to print and {self.n_withdraw} to collect from "
                f"{', '.join(self.batches)} into {self.to} ({self.files_made} files made)")


def read_ledger(out_dir: Path) -> pl.DataFrame:
    """The pulled ledger (empty when nothing was ever pulled)."""
    path = Path(out_dir) / LEDGER_NAME
    if not path.exists():
        return pl.DataFrame(schema=LEDGER_SCHEMA)
    df = pl.read_csv(path, infer_schema=False).with_columns(pl.col(pl.String).fill_null(""))
    return df.select([(pl.col(c) if c in df.columns else pl.lit("")).cast(t).alias(c) for c, t in LEDGER_SCHEMA.items()])


def _select_batches(batches: list[str], batch: str) -> list[str]:
    ordered = sorted(batches, key=lambda b: (b[1:9], b))  # by date: B20260303 < B20260303U < R20260304
    if batch in ("latest", "all"):
        return ordered[-1:] if batch == "latest" else ordered
    if batch not in batches:
        raise ValueError(f"no plaque batch {batch!r}; known batches (latest last): {', '.join(ordered[-5:])} — "
                         "or use --batch latest")
    return [batch]


def _safe_name(text: str) -> str:
    return re.sub(r"[\\/:*?\"<>|\x00-\x1f]", "_", text).strip(". ") or "未分区"


def _dest_for(to: Path, batch_id: str, state: dict) -> Path:
    """The pull's folder: the unfinished one of the same pull (to resume), else a new one —
    a pull never overwrites what a printer already has."""
    district = state["district"]
    base = to / (batch_id if district is None else f"{batch_id}-{_safe_name(district)}")
    n, candidate = 1, base
    while candidate.exists():
        try:
            same = json.loads((candidate / STATE).read_text(encoding="utf-8")) == state
        except (OSError, ValueError):
            same = False
        if same and not (candidate / f"{batch_id}.zip").exists():
            return candidate
        n += 1
        candidate = base.with_name(f"{base.name}_{n}")
    return candidate


def make_plaque_files(items: list[PlaqueItem], dest: Path, config: PlaqueConfig, *, workers: int, pdf: bool,
                      progress: bool) -> tuple[int, dict[str, str]]:
    """Make every plaque's missing files, the QR codes and PDFs chunk by chunk in ``workers``
    processes, the artwork here as each chunk comes back; returns the files made and each
    plaque's files as the manifest lists them."""
    for sub in ["qr", "art"] + ["pdf"] * pdf if items else []:
        (dest / sub).mkdir(parents=True, exist_ok=True)
    units = chunks(items, CHUNK)
    listed = {it.serial: "|".join([f"{pdf_of(chunk)} 第{page}页"] * pdf + files_of(it.serial))
              for chunk in units for page, it in enumerate(chunk, 1)}
    todo = [chunk for chunk in units if not all((dest / f).exists() for f in [pdf_of(chunk)] * pdf
                                                + [f for it in chunk for f in files_of(it.serial)])]
    bar = tqdm(total=len(items), initial=len(items) - sum(map(len, todo)), unit="块", desc=f"牌匾 {dest.name}",
               disable=not progress, file=sys.stderr)
    # Spawned, not forked: a forked child of a process running Polars' thread pool can hang.
    pool = (ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
            if workers > 1 and sum(map(len, todo)) >= PARALLEL_FROM else None)
    made = 0
    try:
        for chunk, n in zip(todo, (pool.map if pool else map)(make_chunk, todo, repeat(dest), repeat(pdf))):
            for it in chunk:  # the artwork here, as the chunk's QR codes come back
                art = dest / "art" / f"{it.serial}.svg"
                if not art.exists():
                    write_file(art, artwork_svg(it, (dest / "qr" / f"{it.serial}.svg").read_bytes(), config))
                    n += 1
            made += n
            bar.update(len(chunk))
        return made, listed
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
        bar.close()


def manifest_frame(part: pl.DataFrame, config: PlaqueConfig, files: dict[str, str]) -> pl.DataFrame:
    """制作清单: one row per plaque to print, in the print shop's words (``files``: its files by serial)."""
    p, rated_on = config.plaque, pl.col("rated_on")
    rows = part.filter(pl.col("action").is_in(PRINTING))
    return rows.select(
        pl.col("batch_id").alias("批次"), pl.col("serial").alias("编号"),
        pl.col("action").replace_strict(ACTION_ZH).alias("操作"),
        pl.col("compound_id").alias("小区编号"), pl.col("name").alias("小区名称"), pl.col("district").alias("区"),
        pl.col("street").alias("街道"), pl.col("address").alias("地址"), pl.col("stars").alias("星级"),
        pl.format("{}年{}月{}日", rated_on.dt.year(), rated_on.dt.month(), rated_on.dt.day()).alias("评定日期"),
        pl.lit(config.size_text).alias("尺寸"), pl.lit(p.material).alias("材质"), pl.lit(p.quantity).alias("数量"),
        pl.Series("文件", [files[s] for s in rows["serial"]], dtype=pl.String),
        pl.col("url").alias("二维码网址"),
        pl.when(pl.col("action") == "replace").then(pl.col("previous_serial")).otherwise(pl.lit("")).alias("替换旧牌"),
        pl.when(pl.col("demo")).then(pl.lit("样例，不得上墙")).otherwise(pl.lit("")).alias("样例"),
    )


def withdrawals_frame(part: pl.DataFrame) -> pl.DataFrame:
    """回收清单: every plaque to take down (withdrawn, or the old plaque of a replaced or
    re-issued one), with where it hangs and what to do."""
    action = pl.col("action")
    return part.filter(action.is_in(list(COLLECT_ZH))).select(
        pl.col("batch_id").alias("批次"),
        pl.when(action == "withdraw").then(pl.col("serial")).otherwise(pl.col("previous_serial")).alias("编号"),
        pl.col("compound_id").alias("小区编号"), pl.col("name").alias("小区名称"), pl.col("district").alias("区"),
        pl.col("street").alias("街道"), pl.col("address").alias("地址"),
        pl.when(action == "replace").then(pl.col("old_stars")).otherwise(pl.col("stars")).cast(pl.Int64).alias("星级"),
        pl.lit(1).alias("数量"), action.replace_strict(COLLECT_ZH).alias("回收"),
        pl.when(action == "withdraw").then(pl.lit("")).otherwise(pl.col("serial")).alias("新牌编号"),
    ).sort("区", "街道", "小区编号", "编号")


def write_proofs(dest: Path, manifest: pl.DataFrame, withdrawals: pl.DataFrame, *, batch_id: str,
                 config: PlaqueConfig) -> None:
    """``proof/<district>.html`` for every district of the pull: its plaques, ``per_page`` to an
    A4 page, then its plaques to collect."""
    (dest / "proof").mkdir(exist_ok=True)
    per = config.proof.per_page
    for d in sorted(set(manifest["区"]) | set(withdrawals["区"])):
        plaques = manifest.filter(pl.col("区") == d).sort("街道", "小区编号").to_dicts()
        collect = withdrawals.filter(pl.col("区") == d).to_dicts()
        pages = [plaques[i:i + per] for i in range(0, len(plaques), per)]
        html = render_template("plaque_proof.html", batch_id=batch_id, district=d or "未分区", pages=pages,
                               withdrawals=collect, font_stack=FONT_STACK, size=config.size_text,
                               material=config.plaque.material, issuer=config.issuer,
                               n_pages=len(pages) + (1 if collect else 0))
        write_file(dest / "proof" / f"{_safe_name(d)}.html", html.encode("utf-8"))


def write_archive(dest: Path, batch_id: str, as_of: date) -> None:
    """``<batch>.zip`` of the pull's files (sorted, fixed timestamps), renamed into place last."""
    tmp = dest / f".{batch_id}.zip.part"
    with zipfile.ZipFile(tmp, "w") as archive:
        for path in sorted(p for p in dest.rglob("*") if p.is_file() and not p.name.startswith(".")):
            info = zipfile.ZipInfo(f"{batch_id}/{path.relative_to(dest).as_posix()}", date_time=as_of.timetuple()[:6])
            # A PDF's streams are compressed already.
            info.compress_type = zipfile.ZIP_STORED if path.suffix == ".pdf" else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    os.replace(tmp, dest / f"{batch_id}.zip")


def pull_batch(out_dir: Path, *, batch: str = "latest", district: str | None = None, to: Path,
               workers: int | None = None, pdf: bool = True, progress: bool = True) -> PullResult:
    """Make the files of what is pending in ``batch`` (an id, ``latest`` or ``all``) for
    ``district`` under ``to`` and mark it pulled in ``OUT_DIR/plaques_pulled.csv``."""
    out_dir, to = Path(out_dir), Path(to)
    if not out_dir.is_dir():
        raise FileNotFoundError(f"output folder {out_dir} does not exist: pass the pipeline's --out folder")
    config = load_plaque_config()
    orders = read_orders(out_dir)
    if orders.is_empty():
        raise FileNotFoundError(f"no plaque orders in {out_dir}: run the pipeline first (`safestar run`)")
    if to.resolve().is_relative_to(out_dir.resolve()):
        raise ValueError(f"--to {to} is inside the output folder {out_dir}; pull into a folder of its own")
    chosen = _select_batches(orders["batch_id"].unique().to_list(), batch)
    in_batches = orders.filter(pl.col("batch_id").is_in(chosen))
    # A district may be named as in the registry (思明区) or by the serial's district code.
    selected = in_batches if district is None else in_batches.filter(
        (pl.col("district") == district) | (pl.col("serial").str.split("-").list.first() == district))
    if selected.is_empty():
        names = sorted({d for d in in_batches["district"] if d})
        raise ValueError(f"no plaques for district {district!r} in {', '.join(chosen)}; districts there: "
                         f"{', '.join(names) or 'none'}")
    if pdf:
        register_cjk_font(tuple(config.pdf_fonts))  # before any work: no font, one clear line
    result = PullResult(to=to)
    for b in chosen:
        # Read again per batch: a later batch of this pull does not hand out the same plaque again.
        pending = (selected.filter(pl.col("batch_id") == b).with_columns(pl.col("key_id").fill_null(""))
                   .join(read_ledger(out_dir).select(KEY), on=KEY, how="anti"))
        if pending.is_empty():
            continue
        state = {"batch_id": b, "district": district, "keys": sorted("|".join(k) for k in pending.select(KEY).rows())}
        dest = _dest_for(to, b, state)
        dest.mkdir(parents=True, exist_ok=True)
        (dest / STATE).write_text(json.dumps(state), encoding="utf-8")
        printing = pending.filter(pl.col("action").is_in(PRINTING)).sort("serial")
        items = [PlaqueItem(**r) for r in printing.select(f.name for f in fields(PlaqueItem)).iter_rows(named=True)]
        made, files = make_plaque_files(items, dest, config, workers=workers or os.cpu_count() or 1, pdf=pdf,
                                        progress=progress)
        manifest, withdrawals = manifest_frame(pending, config, files), withdrawals_frame(pending)
        write_people_csv(manifest, dest / "manifest.csv")  # Excel on a print shop's PC: BOM, no formulas
        write_people_csv(withdrawals, dest / "withdrawals.csv")
        write_proofs(dest, manifest, withdrawals, batch_id=b, config=config)
        write_archive(dest, b, pending["as_of"].max())
        pulled = pending.select("batch_id", "serial", "action", "key_id", "district", pl.lit(str(to)).alias("pulled_to"),
                                pl.lit(datetime.now(UTC).isoformat(timespec="seconds")).alias("pulled_at"))
        # Written whole and renamed, so an interrupted pull never leaves half a ledger.
        ledger = pl.concat([read_ledger(out_dir), pulled.cast(LEDGER_SCHEMA)])
        write_file(out_dir / LEDGER_NAME, ledger.write_csv().encode())
        result.batches.append(b)
        result.n_print += printing.height
        result.n_withdraw += withdrawals.height
        result.folders.append(dest)
        result.files_made += made
    return result
