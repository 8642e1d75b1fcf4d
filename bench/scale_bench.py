"""Scale benchmark: a full run and a nightly incremental run on a large generated city.

    python -m bench.scale_bench --compounds 100000 --events 10000000 --keep   # the issue's goal size
    python -m bench.scale_bench --compounds 20000 --events 2000000 --keep     # a quicker look

The generated city (WORK/data) is kept pristine; each bench run builds a landing zone
(WORK/landing, hard links to the generated files) from which the newest day's rows are
held back: every export file holding rows of the city's last day is split into the rows
before it (written in place of the file, same format and encoding) and that day's rows
(written aside as a new file named `<stem>_<day>.<ext>`). Then

1. full run: an empty warehouse rates the day before (`first_as_of`) from all files;
2. nightly incremental run: the held-back files are dropped into the landing zone, as a
   department's nightly export would be, and the next date (`second_as_of`) is rated on
   the same warehouse.

Reports wall time, peak memory (max RSS of the run's process) and the time per asset
(from the CLI's progress lines). Figures go in bench/RESULTS.md ("## Scale").
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import yaml

from generator import writers

STEP = re.compile(r"\]\s+(\S+) done in ([0-9.]+)s")
STARTED = re.compile(r"\]\s+(\S+) …$")
LOCAL = timezone(timedelta(hours=8))  # the landing zone's epoch timestamps are UTC, dates are Beijing time


def per_asset(stderr: str) -> dict[str, float]:
    return {m.group(1): float(m.group(2)) for m in STEP.finditer(stderr)}


def run_child(argv: list[str], log: Path) -> tuple[float, float, str]:
    """Run a command with its output in `log`; returns (seconds, peak RSS in MiB of that process, output).
    The CPU seconds (user + system) are appended to the output as a last line: on a shared
    machine they say more than the wall time. So is the CPU time of each asset: the run's
    CPU clock is read twice a second, and each asset gets what was spent between its start
    and done lines (one `cpu-asset NAME SECONDS` line per asset)."""
    t0 = time.perf_counter()
    step_cpu: dict[str, float] = {}
    running: dict[str, float] = {}
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        with log.open("r", errors="replace") as tail:
            pending = ""
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                # After the exit, the last lines are charged with the process's final CPU time.
                cpu = usage.ru_utime + usage.ru_stime if pid else _cpu_seconds(proc.pid)
                pending += tail.read()
                *lines, pending = pending.split("\n")
                for line in lines:
                    if (m := STARTED.search(line)):
                        running[m.group(1)] = cpu
                    elif (m := STEP.search(line)) and m.group(1) in running:
                        step_cpu[m.group(1)] = cpu - running.pop(m.group(1))
                if pid:
                    break
                # A shared machine: stop the run before it takes the memory of everyone else.
                if MAX_RSS_MIB and _rss_mib(proc.pid) > MAX_RSS_MIB:
                    proc.kill()
                    _, status, usage = os.wait4(proc.pid, 0)
                    out.write(f"killed by the bench: resident memory above {MAX_RSS_MIB} MiB\n")
                    break
                time.sleep(0.5)
    seconds = time.perf_counter() - t0
    with log.open("a") as out:
        for name, took in step_cpu.items():
            out.write(f"cpu-asset {name} {took:.1f}\n")
        out.write(f"cpu {usage.ru_utime + usage.ru_stime:.1f}s (user {usage.ru_utime:.1f}s, system {usage.ru_stime:.1f}s)\n")
    text = log.read_text(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.stderr.write(text[-4000:])
        raise SystemExit(f"benchmark step failed ({log}): {' '.join(argv)}")
    return seconds, usage.ru_maxrss / 1024, text


def _cpu_seconds(pid: int) -> float:
    """User + system seconds of a running process (its threads and its reaped children)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


MAX_RSS_MIB = 0  # set from --max-rss-gb


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


# --- holding back the newest day -------------------------------------------------------

def _date_column(mapping: dict, file: str) -> str:
    """The export header that maps to occurred_at for this file (per-file overrides first)."""
    import fnmatch

    columns = dict(mapping.get("columns") or {})
    for entry in mapping.get("files") or []:
        if fnmatch.fnmatch(file, entry.get("pattern", "")):
            columns = dict(entry.get("columns") or columns)
            break
    return next(header for header, canonical in columns.items() if canonical == "occurred_at")


def _on_days(values: pl.Expr, first: date, last: date, epoch_ms: bool) -> pl.Expr:
    """True where the exported date falls on a day first..last (Beijing time)."""
    if epoch_ms:
        lo = int(datetime(first.year, first.month, first.day, tzinfo=LOCAL).timestamp() * 1000)
        hi = int(datetime(last.year, last.month, last.day, tzinfo=LOCAL).timestamp() * 1000) + 86_400_000
        ms = values.cast(pl.Int64, strict=False)
        return (ms >= lo) & (ms < hi)
    # Every generated text format writes year, zero-padded month and day in that order
    # (2026/11/20 13:05, 20261120, 2026-11-20, 2026年11月20日): compare the digits.
    days = [(first + timedelta(days=i)).strftime("%Y%m%d") for i in range((last - first).days + 1)]
    return values.cast(pl.String).str.replace_all(r"\D", "").str.slice(0, 8).is_in(days)


def _read_csv(path: Path, encoding: str) -> pl.DataFrame:
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig" if encoding in ("utf-8-sig", "auto", "utf-8") else encoding)
    return pl.read_csv(io.StringIO(text), infer_schema_length=0)


def hold_back_days(landing: Path, held: Path, day: date, last: date) -> dict[str, int]:
    """Move the rows of days `day`..`last` out of every export in landing/sources into new files under
    held/<source>/; the remaining rows are rewritten in place (same format). Returns rows held per file."""
    counts: dict[str, int] = {}
    for folder in sorted((landing / "sources").iterdir()):
        mapping = yaml.safe_load((folder / "mapping.yaml").read_text(encoding="utf-8"))
        epoch = "epoch_ms" in (mapping.get("date_formats") or [])
        for path in sorted(folder.iterdir()):
            if path.name == "mapping.yaml":
                continue
            column = _date_column(mapping, path.name)
            suffix = path.suffix.lower()
            if suffix == ".csv":
                frame = _read_csv(path, mapping.get("encoding", "utf-8"))
            elif suffix == ".xlsx":
                frame = pl.read_excel(path, sheet_id=1, infer_schema_length=0)
            elif suffix == ".jsonl":
                frame = None  # line-wise below: keeps every other byte as exported
            else:
                continue
            if frame is not None:
                mask = frame.select(_on_days(pl.col(column), day, last, epoch).fill_null(False))[column]
                if not mask.any():
                    continue
                keep, take = frame.filter(~mask), frame.filter(mask)
                dest = held / folder.name / f"{path.stem}_{day.isoformat()}{path.suffix}"
                dest.parent.mkdir(parents=True, exist_ok=True)
                path.unlink()  # a hard link to the pristine city: never write through it
                if suffix == ".csv":
                    encoding = mapping.get("encoding", "utf-8")
                    encoding = "utf-8" if encoding == "auto" else encoding
                    writers.write_csv(keep, path, encoding)
                    writers.write_csv(take, dest, encoding)
                else:
                    numeric = [h for h in ("经度", "纬度") if h in frame.columns]
                    writers.write_xlsx(keep, path, numeric=numeric, sheet="受案登记")
                    writers.write_xlsx(take, dest, numeric=numeric, sheet="受案登记")
                counts[f"{folder.name}/{path.name}"] = take.height
            else:
                lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
                stamps = pl.Series([json.loads(line).get(column) if line.strip() else None for line in lines],
                                   dtype=pl.String, strict=False)
                mask = pl.select(_on_days(pl.lit(stamps), day, last, epoch).fill_null(False)).to_series().to_list()
                if not any(mask):
                    continue
                dest = held / folder.name / f"{path.stem}_{day.isoformat()}{path.suffix}"
                dest.parent.mkdir(parents=True, exist_ok=True)
                path.unlink()
                path.write_text("".join(line for line, m in zip(lines, mask) if not m), encoding="utf-8")
                dest.write_text("".join(line for line, m in zip(lines, mask) if m), encoding="utf-8")
                counts[f"{folder.name}/{path.name}"] = sum(mask)
    return counts


def drop_in(held: Path, landing: Path) -> list[Path]:
    """The held-back files land in the landing zone (the night's new exports)."""
    moved = []
    for path in sorted(held.rglob("*")):
        if path.is_file():
            target = landing / "sources" / path.parent.name / path.name
            shutil.move(path, target)
            moved.append(target)
    return moved


# --- snapshot of the state after the full run -------------------------------------------

def _copy(src: Path, dest: Path, link: bool) -> None:
    subprocess.run(["cp", "-a" + ("l" if link else ""), str(src), str(dest)], check=True)


def save(work: Path, snap: Path) -> None:
    """Keep the state after the full run, so the nightly run can be timed again and again
    (`--nightly-only`) without a five-minute full run each time. Published releases and the
    landing zone are never written in place (publication writes aside, then renames): they
    are hard-linked. The warehouse and everything else in OUT_DIR are copied."""
    if snap.exists():  # deleted after the measured runs, with the rest of WORK/trash
        (work / "trash").mkdir(exist_ok=True)
        snap.rename(work / "trash" / f"snap.{time.time_ns()}")
    (snap / "out").mkdir(parents=True)
    for name in ("landing", "held"):
        _copy(work / name, snap / name, link=True)
    for entry in (work / "out").iterdir():
        _copy(entry, snap / "out" / entry.name, link=entry.name == ".releases")
    (snap / "READY").touch()


def restore(snap: Path, work: Path) -> None:
    """Put WORK back in the state `save` kept. Releases are never changed once published, so
    a release of the snapshot still in WORK/out is kept as it is (linking a whole release
    again takes minutes); the nightly run's new releases are dropped."""
    for name in ("landing", "held"):
        shutil.rmtree(work / name, ignore_errors=True)
        _copy(snap / name, work / name, link=True)
    out, kept = work / "out", snap / "out" / ".releases"
    releases = out / ".releases"
    if releases.is_dir():
        for entry in releases.iterdir():
            if not (kept / entry.name).exists():
                # Deleting 300,000 files keeps the file system busy for a while after (journal,
                # discards): set them aside, deleted after the measured run.
                (work / "trash").mkdir(exist_ok=True)
                entry.rename(work / "trash" / f"{entry.name}.{time.time_ns()}")
        for entry in kept.iterdir():
            if not (releases / entry.name).exists():
                _copy(entry, releases / entry.name, link=True)
    for entry in list(out.iterdir()) if out.is_dir() else []:
        if entry.name != ".releases":
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    out.mkdir(exist_ok=True)
    for entry in (snap / "out").iterdir():
        if not (out / entry.name).exists():
            _copy(entry, out / entry.name, link=entry.name == ".releases")


# --- the benchmark ---------------------------------------------------------------------

def report(title: str, secs: float, mem: float, log: str) -> None:
    cpu = re.findall(r"^cpu (.*)$", log, flags=re.M)
    asset_cpu = {m.group(1): float(m.group(2)) for m in re.finditer(r"^cpu-asset (\S+) ([0-9.]+)$", log, flags=re.M)}
    print(f"{title}: {secs:.1f}s wall, {cpu[-1] if cpu else '?'} CPU, peak {mem:.0f} MiB")
    print(f"  {'asset':32s} {'wall':>7s}  {'CPU':>7s}")
    for asset, took in sorted(per_asset(log).items(), key=lambda kv: -kv[1]):
        print(f"  {asset:32s} {took:7.1f}s {asset_cpu.get(asset, float('nan')):7.1f}s")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--compounds", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--work", default="/tmp/safestar_scale")
    parser.add_argument("--keep", action="store_true", help="reuse an existing generated city in WORK/data")
    parser.add_argument("--skip-incremental", action="store_true")
    parser.add_argument("--snapshot", action="store_true",
                        help="keep the state after the full run in WORK/snap, for --nightly-only")
    parser.add_argument("--nightly-only", action="store_true",
                        help="restore WORK/snap (made by --snapshot) and time only the nightly run")
    parser.add_argument("--max-rss-gb", type=float, default=16.0,
                        help="kill a run whose resident memory passes this (0: no limit)")
    args = parser.parse_args()
    global MAX_RSS_MIB
    MAX_RSS_MIB = args.max_rss_gb * 1024
    work = Path(args.work)
    data, landing, held, out = work / "data", work / "landing", work / "held", work / "out"
    work.mkdir(parents=True, exist_ok=True)
    if not (args.keep and (data / "city.json").exists()):
        shutil.rmtree(data, ignore_errors=True)
        secs, mem, _ = run_child(python("-m", "pipelines.cli", "generate", "--out", str(data),
                                        "--compounds", str(args.compounds), "--events", str(args.events)),
                                 work / "generate.log")
        print(f"generate: {secs:.1f}s, peak {mem:.0f} MiB")
    city = json.loads((data / "city.json").read_text())
    # The generator's last day holds only a few planted records: the night's new records are
    # the last full day of background records (first_as_of) plus that last day.
    night, end = date.fromisoformat(city["first_as_of"]), date.fromisoformat(city["end"])
    first, second = night - timedelta(days=1), night
    print(f"city: {city['n_compounds']} compounds, {city['n_events']} records, {city['start']}..{city['end']}")

    snap = work / "snap"
    if args.nightly_only:
        if not (snap / "READY").exists():
            raise SystemExit(f"no snapshot in {snap}: run once with --snapshot first")
        restore(snap, work)
        # Let the file system write back the restore's deletions and copies: the nightly
        # run should not pay for them.
        t0 = time.perf_counter()
        os.sync()
        time.sleep(10)
        print(f"restored the snapshot; sync took {time.perf_counter() - t0 - 10:.1f}s (+10 s of rest)")
    else:
        for folder in (landing, held, out):
            if folder.exists():  # deleted after the measured runs (see restore)
                (work / "trash").mkdir(exist_ok=True)
                folder.rename(work / "trash" / f"{folder.name}.{time.time_ns()}")
        subprocess.run(["cp", "-al", str(data), str(landing)], check=True)
        t0 = time.perf_counter()
        counts = hold_back_days(landing, held, night, end)
        print(f"held back {sum(counts.values())} rows of {night}..{end} from {len(counts)} files "
              f"({time.perf_counter() - t0:.1f}s): {counts}")

        secs, mem, log = run_child(python("-m", "pipelines.cli", "run", "--data", str(landing), "--as-of",
                                          first.isoformat(), "--out", str(out), "--demo"), work / "run_full.log")
        report(f"full run (empty warehouse, as of {first})", secs, mem, log)
        if args.snapshot:
            save(work, snap)
        if args.skip_incremental:
            shutil.rmtree(work / "trash", ignore_errors=True)
            return
    moved = drop_in(held, landing)
    print(f"dropped {len(moved)} new files into the landing zone: {[p.name for p in moved]}")
    secs, mem, log = run_child(python("-m", "pipelines.cli", "run", "--data", str(landing), "--as-of",
                                      second.isoformat(), "--out", str(out), "--demo"), work / "run_nightly.log")
    report(f"nightly incremental run (one day of new records, as of {second})", secs, mem, log)
    shutil.rmtree(work / "trash", ignore_errors=True)


if __name__ == "__main__":
    main()
