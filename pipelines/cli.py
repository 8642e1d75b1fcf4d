"""The `safestar` command line: generate, run, demo, monthly, explain, plaques, serve."""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from schemas.events import SOURCES

EXIT_USER_ERROR = 2


class UserError(Exception):
    """A mistake the user can fix; printed as one line, never as a traceback."""


def _as_of(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--as-of {text!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-19") from None


def check_data_dir(data_dir: Path) -> None:
    """Fail early, in one line, on a data directory the run cannot use."""
    if data_dir.exists() and not data_dir.is_dir():
        raise UserError(f"data folder {data_dir} is a file, not a folder: pass --data DIR, the folder that holds "
                        f"compounds.csv and sources/")
    if not data_dir.is_dir():
        raise UserError(f"data folder {data_dir} does not exist: pass --data DIR with compounds.csv and sources/ "
                        f"(or create a demo city with `safestar generate --out {data_dir}`)")
    if not (data_dir / "compounds.csv").exists() and not (data_dir / "compounds.parquet").exists():
        raise UserError(f"{data_dir} has no compounds.csv (the compound registry): add it and run again")
    sources = data_dir / "sources"
    if not sources.is_dir():
        raise UserError(f"{data_dir} has no sources/ folder: put each department's exports in sources/<source>/ "
                        f"with <source> one of {', '.join(SOURCES)}")
    unknown = sorted(p.name for p in sources.iterdir() if p.is_dir() and p.name not in SOURCES)
    if unknown:
        raise UserError(f"unknown source folder(s) {', '.join(unknown)} in {sources}: rename to one of {', '.join(SOURCES)}")


def check_out_dir(out_dir: Path) -> None:
    """Fail early, in one line, on an output folder the run cannot write."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"output folder {out_dir} is a file, not a folder: pass --out a folder (or move the file away)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as exc:
        raise UserError(_unwritable(exc, out_dir)) from None


def _unwritable(exc: OSError, out_dir: Path) -> str:
    where = exc.filename or out_dir
    if isinstance(exc, (NotADirectoryError, FileExistsError)):
        return f"cannot write {where}: a file stands where a folder is needed ({exc.strerror}); pass another --out or move it away"
    return (f"cannot write {where} ({exc.strerror}): make the output folder writable (permissions, "
            f"`lsattr -d` for the immutable flag, a read-only mount) or pass another --out")


def run_rating(data_dir: Path, out_dir: Path, as_of: date, *, rules: Path | None = None, demo: bool = False,
               quiet: bool = False):
    """Materialise every asset in-process for one rating date, recorded in the persistent
    Dagster instance (pipelines.instance); returns the Dagster result."""
    check_data_dir(data_dir)
    check_out_dir(out_dir)
    import dagster as dg
    import duckdb
    from dagster._core.errors import DagsterAssetCheckFailedError, DagsterUnknownPartitionError
    from dagster._core.utils import make_new_run_id

    from pipelines.definitions import build_definitions
    from pipelines.instance import cli_run_tags, persistent_instance, release_dead_runs
    from pipelines.resources import default_resources

    from assets.common import rating_dates
    from plaques.keys import preflight

    if as_of.isoformat() not in rating_dates.get_partition_keys():
        raise UserError(_not_a_rating_date(as_of))
    # The signing key, demo mode and base URL are checked before anything runs: a secret
    # that is not the recorded key refuses to start (rotate with `safestar plaques rotate`).
    preflight(out_dir, os.environ, demo=demo)
    resources = default_resources(data_dir, out_dir, rules_path=rules, demo=demo)
    job = build_definitions(resources).resolve_job_def("nightly_rating")
    loggers = {} if quiet else {"progress": {}}
    run_id = make_new_run_id()
    try:
        instance = persistent_instance(out_dir)
    except OSError as exc:
        raise UserError(_unwritable(exc, out_dir)) from None
    with instance:
        release_dead_runs(instance)
        try:
            result = job.execute_in_process(
                partition_key=as_of.isoformat(), instance=instance, run_id=run_id, tags=cli_run_tags(),
                run_config={"loggers": loggers or {"console": {"config": {"log_level": "CRITICAL"}}}},
                raise_on_error=True,
            )
        except dg.DagsterExecutionStepExecutionError as exc:
            cause = exc.user_exception or exc
            if isinstance(cause, (ValueError, FileNotFoundError)):
                raise UserError(str(cause)) from cause
            raise
        # With raise_on_error, a step's own exception arrives as itself.
        except duckdb.IOException as exc:  # the warehouse file: not writable, immutable, locked or not DuckDB
            detail = " ".join(str(exc).split())
            raise UserError(f"cannot open the warehouse {out_dir / 'warehouse.duckdb'} ({detail[:200]}): make it "
                            f"writable (permissions, `lsattr`), stop any other process using it, or pass another "
                            f"--out") from None
        except OSError as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise UserError(_unwritable(exc, out_dir)) from None
        except DagsterUnknownPartitionError:
            raise UserError(_not_a_rating_date(as_of)) from None
        except DagsterAssetCheckFailedError:
            raise UserError(failed_checks_line(instance, run_id, as_of)) from None
    return result


def _not_a_rating_date(as_of: date) -> str:
    return (f"--as-of {as_of} is not a rating date yet (dates run from 2024-01-01 to today, "
            f"Xiamen time): pick an earlier date")


def failed_checks_line(instance, run_id: str, as_of: date) -> str:
    """One line naming the blocking checks that failed in the run, with what to do."""
    from dagster._core.events import DagsterEventType

    failed = []
    for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if not evaluation.passed and evaluation.blocking:
            failed.append(evaluation)
    told = [e.description for e in failed if e.description]
    if told:  # the check says what is wrong and what to do
        return " | ".join(told)
    names = ", ".join(f"{e.check_name} on {e.asset_key.to_user_string()}" for e in failed) or "a blocking check"
    return (f"nothing was published for {as_of}: {names} failed; see the check's metadata in the Dagster UI "
            f"(`safestar ui --out OUT_DIR`), fix the input and run again")


def run_monthly_ranking(data_dir: Path, out_dir: Path, month: date, *, demo: bool = False, quiet: bool = False):
    """Materialise the monthly ranking (每月通报) of ``month`` in-process from the warehouse
    the nightly runs filled; returns the Dagster result."""
    import dagster as dg

    from pipelines.definitions import build_definitions
    from pipelines.instance import cli_run_tags, persistent_instance, release_dead_runs
    from pipelines.resources import default_resources

    if not (out_dir / "warehouse.duckdb").exists():
        raise UserError(f"no warehouse in {out_dir}: run `safestar run` for a date of the month first")
    job = build_definitions(default_resources(data_dir, out_dir, demo=demo)).resolve_job_def("monthly_ranking")
    loggers = {} if quiet else {"progress": {}}
    # Recorded in the same instance as the nightly runs, so the UI shows the month's run too.
    with persistent_instance(out_dir) as instance:
        release_dead_runs(instance)
        try:
            return job.execute_in_process(
                partition_key=month.replace(day=1).isoformat(), instance=instance, tags=cli_run_tags(),
                run_config={"loggers": loggers or {"console": {"config": {"log_level": "CRITICAL"}}}},
                raise_on_error=True)
        except dg.DagsterExecutionStepExecutionError as exc:
            cause = exc.user_exception or exc
            if isinstance(cause, (ValueError, FileNotFoundError, PermissionError)):
                raise UserError(str(cause)) from cause
            raise


def _month(text: str) -> date:
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        raise UserError(f"--month {text!r} is not a month: use YYYY-MM, e.g. 2026-11") from None


def cmd_monthly(args) -> int:
    month = _month(args.month)
    out = Path(args.out)
    run_monthly_ranking(Path(args.data), out, month)
    print(f"ranked {month:%Y-%m} → {out / 'monthly' / f'{month:%Y-%m}'} (每月通报_{month:%Y-%m}.xlsx, CSV, "
          f"index.html, summary.html)")
    return 0


def cmd_run(args) -> int:
    as_of = _as_of(args.as_of)
    data, out = Path(args.data), Path(args.out)
    t0 = time.perf_counter()
    run_rating(data, out, as_of, rules=Path(args.rules) if args.rules else None, demo=args.demo)
    print(f"rated {as_of} in {time.perf_counter() - t0:.1f}s → {out / as_of.isoformat()} "
          f"(ratings.csv, public.sqlite, map/, report/, plaques/); warehouse {out / 'warehouse.duckdb'}")
    return 0


def cmd_backfill(args) -> int:
    start, end = _as_of(args.start), _as_of(args.end)
    if end < start:
        raise UserError(f"--to {end} is before --from {start}: give the earlier date first")
    data, out = Path(args.data), Path(args.out)
    day, n = start, 0
    while day <= end:
        print(f"== rating {day}", flush=True)
        run_rating(data, out, day, rules=Path(args.rules) if args.rules else None, demo=args.demo)
        day += timedelta(days=args.every)
        n += 1
    print(f"backfilled {n} rating dates {start}..{end} into {out}")
    return 0


def cmd_generate(args) -> int:
    from generator.city import generate_city

    summary = generate_city(Path(args.out), seed=args.seed, n_compounds=args.compounds, n_events=args.events,
                            months=args.months, progress=print)
    print(f"generated a city of {args.compounds} compounds into {args.out}")
    return 0 if summary is not None else 1


def cmd_demo(args) -> int:
    from generator.city import generate_city

    root = Path(args.out)
    data, out = root / "data", root / "out"
    t0 = time.perf_counter()
    if not (data / "city.json").exists():
        generate_city(data, seed=args.seed, progress=print)
    city = json.loads((data / "city.json").read_text(encoding="utf-8"))
    end = date.fromisoformat(city["second_as_of"])
    intake_db = out / "intake.sqlite"
    if not intake_db.exists():
        from generator.needs import simulate_needs

        out.mkdir(parents=True, exist_ok=True)
        # the residents' needs and their handling over the last months (two before this one)
        start = _month_start(end, back=2)
        simulate_needs(data, intake_db, start=start, end=end, seed=args.seed, progress=print)
    # the last day of last month too: the month's ranking compares with a rated month
    for as_of in (_month_start(end, back=0) - timedelta(days=1), *(date.fromisoformat(city[k])
                                                                   for k in ("first_as_of", "second_as_of"))):
        print(f"== rating {as_of}")
        run_rating(data, out, as_of, demo=True)
    for month in (_month_start(end, back=1), _month_start(end, back=0)):
        print(f"== monthly ranking {month:%Y-%m}")
        run_monthly_ranking(data, out, month, demo=True)
    print(f"demo done in {time.perf_counter() - t0:.1f}s: results in {out}/{city['second_as_of']}/ "
          f"(ratings.csv, report/index.html, map/index.html, public.sqlite, plaques/), "
          f"monthly ranking in {out}/monthly/{end:%Y-%m}/")
    return 0


def ui_command(data: Path, out: Path, port: int) -> tuple[list[str], dict[str, str]]:
    """`dagster dev` on SafeStar's definitions and the instance the CLI's runs are in."""
    from pipelines.instance import dagster_home

    dagster = Path(sys.executable).with_name("dagster")
    argv = [str(dagster) if dagster.exists() else "dagster", "dev", "-m", "pipelines.definitions", "-p", str(port)]
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home(out).resolve()),
           "SAFESTAR_DATA_DIR": str(data.resolve()), "SAFESTAR_OUT_DIR": str(out.resolve())}
    return argv, env


def cmd_ui(args) -> int:
    data, out = Path(args.data), Path(args.out)
    check_data_dir(data)
    check_out_dir(out)
    from pipelines.instance import persistent_instance

    with persistent_instance(out):
        pass  # DAGSTER_HOME and its dagster.yaml exist before the UI starts
    argv, env = ui_command(data, out, args.port)
    print(f"Dagster UI on http://127.0.0.1:{args.port} (instance {env['DAGSTER_HOME']}); Ctrl-C stops it", flush=True)
    os.execvpe(argv[0], argv, env)  # the process becomes `dagster dev`: signals reach it directly
    return 0


def _month_start(day: date, back: int) -> date:
    """The first day of the month ``back`` months before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def cmd_explain(args) -> int:
    if not (Path(args.out) / "warehouse.duckdb").exists():
        raise UserError(f"no warehouse in {args.out}: run `safestar run` first or pass --out OUT_DIR")
    from pipelines.resources import Warehouse
    from scoring.explain import format_explanation

    warehouse = Warehouse(path=str(Path(args.out) / "warehouse.duckdb"))
    if args.as_of:
        as_of = _as_of(args.as_of)
    else:
        latest = warehouse.read("marts.ratings", where="as_of = (SELECT max(as_of) FROM marts.ratings)")
        if latest is None or latest.is_empty():
            raise UserError("no ratings in the warehouse yet: run `safestar run` first")
        as_of = latest["as_of"][0]
    ratings = warehouse.read("marts.ratings", where="as_of = ?", params=[as_of])
    if args.compound_id not in set(ratings["compound_id"]):
        raise UserError(f"no rating for compound {args.compound_id} on {as_of}: check the id (see ratings.csv)")
    explanations = warehouse.read("marts.explanations", where="as_of = ? AND compound_id = ?",
                                  params=[as_of, args.compound_id])
    print(format_explanation(args.compound_id, ratings, explanations))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="safestar", description="Public-safety star ratings for residential compounds.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="rate one date: ingest, attribute, score and publish")
    run.add_argument("--data", required=True, help="DATA_DIR with compounds.csv and sources/<source>/")
    run.add_argument("--as-of", required=True, help="rating date YYYY-MM-DD")
    run.add_argument("--out", required=True, help="OUT_DIR: outputs go to OUT_DIR/<as_of>/, the warehouse to OUT_DIR/warehouse.duckdb")
    run.add_argument("--rules", help="a rules file instead of config/rules.yaml")
    run.add_argument("--demo", action="store_true",
                     help="demo mode: plaques signed with the public demo key and marked 样例 (never for real plaques)")
    run.set_defaults(func=cmd_run)

    backfill = sub.add_parser("backfill", help="rate a range of past dates in order (history), oldest first")
    backfill.add_argument("--data", required=True)
    backfill.add_argument("--out", required=True)
    backfill.add_argument("--from", dest="start", required=True, help="first rating date YYYY-MM-DD")
    backfill.add_argument("--to", dest="end", required=True, help="last rating date YYYY-MM-DD")
    backfill.add_argument("--every", type=int, default=1, help="days between rating dates (default 1)")
    backfill.add_argument("--rules")
    backfill.add_argument("--demo", action="store_true")
    backfill.set_defaults(func=cmd_backfill)

    demo = sub.add_parser("demo", help="generate the demo city, simulate its needs, rate it on two dates, rank its months")
    demo.add_argument("--out", default="demo", help="folder for data/ and out/ (default ./demo)")
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(func=cmd_demo)

    monthly = sub.add_parser("monthly", help="the monthly ranking (每月通报) of streets, communities and grids")
    monthly.add_argument("--month", required=True, help="month YYYY-MM")
    monthly.add_argument("--data", required=True, help="DATA_DIR of the nightly runs")
    monthly.add_argument("--out", required=True, help="OUT_DIR holding warehouse.duckdb; files go to OUT_DIR/monthly/<month>/")
    monthly.set_defaults(func=cmd_monthly)

    gen = sub.add_parser("generate", help="generate a synthetic Xiamen-like city (deterministic from --seed)")
    gen.add_argument("--out", required=True)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--compounds", type=int, default=2300)
    gen.add_argument("--events", type=int, default=60000)
    gen.add_argument("--months", type=int, default=13)
    gen.set_defaults(func=cmd_generate)

    ui = sub.add_parser("ui", help="the Dagster UI on the runs, checks and partitions of an output folder")
    ui.add_argument("--data", required=True, help="DATA_DIR the UI's runs read")
    ui.add_argument("--out", required=True, help="OUT_DIR whose runs to show (its dagster_home, unless DAGSTER_HOME is set)")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)

    explain = sub.add_parser("explain", help="explain one compound's rating")
    explain.add_argument("compound_id")
    explain.add_argument("--as-of", help="rating date (default: the latest)")
    explain.add_argument("--out", default="demo/out", help="OUT_DIR holding warehouse.duckdb")
    explain.set_defaults(func=cmd_explain)

    for module in ("plaques.cli", "intake.cli", "reports.site_export"):
        try:
            __import__(module, fromlist=["register"]).register(sub)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (UserError, ValueError, OSError) as exc:
        if os.environ.get("SAFESTAR_DEBUG"):
            raise
        print(f"safestar: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("safestar: interrupted; the last good publication is unchanged", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
