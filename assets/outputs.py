"""Published outputs of a rating date: plaques, the public site, the map, rankings, report."""

import json
import os
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import dagster as dg
import polars as pl

from assets.common import OWNERS, as_of_of, frame_metadata, rating_dates
from assets.governance import intake_counts
from assets.ratings import ratings
from ingest.filehash import cached_file_sha256
from pipelines import background
from pipelines.inputs import read_decision_file, read_polygons
from pipelines.publish import publish
from pipelines.resources import WAREHOUSE_POOL, Policy, RunFolders, Warehouse
from plaques.keys import ensure_recorded, plaque_settings
from plaques.orders import print_orders
from plaques.registry import plan_history_params, plan_history_sql, plan_plaques
from reports.analyst import render_report, trend_counts_sql
from reports.common_problems import common_problems, leading_group, period_stats
from reports.excel import PEOPLE_CSV, write_people_csv, write_workbook
from reports.map_layer import GeometryCache, build_features, read_outlines, write_map_layers
from reports.map_viewer import Basemap, write_map_viewer
from reports.rankings import build_rankings, write_rankings
from reports.site_data import public_rules, public_tables, trend_months
from reports.site_store import FILE_NAME as PUBLICATION_FILE, write_publication
from scoring.overrides import split_appeals

DISTRICT_OUTLINES = Path(__file__).resolve().parents[1] / "generator" / "realdata" / "xiamen_districts.geojson"


def _on(warehouse: Warehouse, table: str, as_of: date) -> pl.DataFrame | None:
    return warehouse.read(table, where="as_of = ?", params=[as_of])


def _history(warehouse: Warehouse, as_of: date, since: date | None = None) -> pl.DataFrame:
    """The ratings of every date up to ``as_of`` (from ``since`` on: a year of nightly dates
    at 100,000 compounds is 36M rows, and the site needs only its trend's months)."""
    where, params = ("as_of <= ?", [as_of]) if since is None else ("as_of BETWEEN ? AND ?", [since, as_of])
    return warehouse.read("marts.ratings", where=where, params=params).sort("as_of", "compound_id")


@dg.asset(
    key=["marts", "common_problems"],
    group_name="ratings",
    kinds={"duckdb", "polars"},
    owners=OWNERS,
    partitions_def=rating_dates,
    deps=[ratings],
    pool=WAREHOUSE_POOL,
)
def common_problems_table(context: dg.AssetExecutionContext, warehouse: Warehouse, policy: Policy):
    """Common problems (共性问题) for 通报整治: category groups rising across many compounds
    of a street or district over the last three months against the three before, and
    streets where one group concentrates — only those that pass the configured
    false-discovery level, with their effect sizes, intervals and q-values."""
    as_of = as_of_of(context)
    cfg = policy.rules.common_problems
    # Only the two periods compared, and only the columns counted: the rest of the event
    # history stays in DuckDB.
    previous_end = _months_before(as_of, cfg.period_months)
    since = _months_before(previous_end, cfg.period_months)  # where the earlier period starts
    with warehouse.reading():
        events = warehouse.read(
            "core.attributed_events", columns=["compound_id", "category_group", "method", "occurred_at"],
            where="compound_id IS NOT NULL AND CAST(occurred_at AS DATE) > ? AND CAST(occurred_at AS DATE) <= ?",
            params=[since, as_of],
        )
        # A rise is measured against a whole earlier period: when the records start inside it
        # (a new city, a new source), there is no baseline and only concentrations are tested.
        first = warehouse.query("SELECT min(CAST(occurred_at AS DATE)) FROM core.attributed_events").item()
        complete = first is not None and first <= since + timedelta(days=7)
    if not complete:
        context.log.info(f"records start {first}: no full period before {previous_end}, rises are not tested")
    problems = common_problems(
        period_stats(events, as_of, cfg.period_months),
        period_stats(events, previous_end, cfg.period_months) if complete else None,
        warehouse.read("core.compounds"),
        false_discovery_rate=cfg.false_discovery_rate, confidence=cfg.confidence,
        min_compounds=cfg.min_compounds,
    ).with_columns(pl.lit(as_of).alias("as_of"))
    with warehouse.transaction() as w:
        w.replace_partition("marts.common_problems", problems, "as_of", as_of)
    return dg.MaterializeResult(metadata={**frame_metadata(problems),
                                          "false_discovery_rate": cfg.false_discovery_rate})


def _months_before(day: date, months: int) -> date:
    return pl.select(pl.lit(day).dt.offset_by(f"-{months}mo")).item()


@dg.asset(
    key=["marts", "plaques"],
    group_name="outputs",
    kinds={"duckdb", "polars"},
    owners=OWNERS,
    partitions_def=rating_dates,
    deps=[ratings],
    pool=WAREHOUSE_POOL,
)
def plaques(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: RunFolders, policy: Policy):
    """The plaque registry as of the rating date (serial, stars, status, why it changed) and
    the print orders of the date's batch — new plaques, replacements, plaques to collect —
    each plaque's QR URL signed with the current key. No print file is made here: a printer
    makes them with `safestar plaques pull`."""
    as_of = as_of_of(context)
    settings = plaque_settings(os.environ, demo=folders.demo, base_url=folders.public_base_url, out_dir=folders.out)
    ensure_recorded(folders.out, settings.keyring, as_of)  # a different secret refuses to sign
    rules = policy.rules
    with warehouse.reading():
        before = warehouse.read(
            "marts.plaques", where="as_of = (SELECT max(as_of) FROM marts.plaques WHERE as_of < ?)", params=[as_of],
        )
        plan = plan_plaques(
            before.drop("as_of", "demo", strict=False) if before is not None and before.height else None,
            # Only the ratings the plan needs, not every past date (see plan_history_sql).
            warehouse.query(plan_history_sql(plaques="marts.plaques" if warehouse.has_table("marts.plaques") else None),
                            plan_history_params(as_of)),
            warehouse.read("core.compounds"),
            as_of=as_of, stability_days=rules.plaque_stability_days,
        )
    orders = print_orders(plan.actions, batch_id=plan.batch_id, settings=settings, as_of=as_of)
    with warehouse.transaction() as w:
        # `demo`: the publication's plaques were signed with the demo key (pages say 样例).
        w.replace_partition("marts.plaques", plan.registry.with_columns(
            pl.lit(as_of).alias("as_of"), pl.lit(settings.demo).alias("demo")), "as_of", as_of)
        w.replace_partition("marts.plaque_actions", orders, "as_of", as_of)
    counts = dict(plan.actions.group_by("action").len().iter_rows()) if plan.actions.height else {}
    return dg.MaterializeResult(metadata={
        **frame_metadata(plan.actions),
        "batch": plan.batch_id if plan.actions.height else "none",
        "key_id": settings.keyring.current.id, "demo": settings.demo,
        **{f"action/{k}": int(v) for k, v in counts.items()},
    })


@dg.asset(
    key=["outputs", "public_site"],
    group_name="outputs",
    kinds={"sqlite"},
    owners=OWNERS,
    partitions_def=rating_dates,
    deps=[ratings, plaques, dg.AssetKey(["marts", "compound_need_figures"])],
    pool=WAREHOUSE_POOL,
)
def public_site(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: RunFolders, policy: Policy):
    """The public data of the rating date in one read-only file (``public.sqlite``): ratings,
    suppressed public figures (this month's needs and check-ins too), trends, the plaque
    registry, published appeal replies. The
    web service (``safestar serve``) renders every public page from it on request; no page
    is written here."""
    as_of = as_of_of(context)
    with warehouse.reading():
        keyring = plaque_settings(os.environ, demo=folders.demo, base_url=folders.public_base_url,
                                  out_dir=folders.out).keyring
        rules = policy.rules
        current = _on(warehouse, "marts.ratings", as_of)
        registry = _on(warehouse, "marts.plaques", as_of).drop("as_of", "demo", strict=False)
        lapses = warehouse.query(
            "SELECT compound_id, CAST(as_of + CAST(round(value) AS INTEGER) AS DATE) AS lapse_on FROM marts.explanations "
            "WHERE as_of = ? AND kind = 'lift' AND key LIKE 'downgrade:%' AND value IS NOT NULL", [as_of])
        tables = public_tables(
            as_of=as_of, ratings=current, compounds=warehouse.read("core.compounds"),
            stats=_on(warehouse, "marts.public_stats", as_of), monthly=_on(warehouse, "marts.public_monthly", as_of),
            history=_history(warehouse, as_of, since=trend_months(as_of)[0]),
            suppress_below=rules.public.suppress_below, group_labels=policy.taxonomy.groups,
            downgrade_labels={k: v.label for k, v in rules.downgrade.items()},
            plaques=registry, plaque_paths={s: keyring.url("", s) for s in registry["serial"].to_list()},
            needs=_on(warehouse, "marts.compound_need_figures", as_of), appeals=_appeals(context, folders), lapses=lapses,
        )
    path = write_publication(folders.staging(context.partition_key) / PUBLICATION_FILE, tables, {
        "as_of": as_of.isoformat(), "suppress_below": str(rules.public.suppress_below),
        "demo": "1" if folders.demo else "0", "ruleset_version": rules.version, "rules": public_rules(rules),
    })
    return dg.MaterializeResult(metadata={
        "publication": str(path), "compounds": tables["compounds"].height, "plaques": tables["plaques"].height,
        "months_withheld": int(tables["compounds"]["months_withheld"].sum()),
    })


def _appeals(context, folders: RunFolders) -> pl.DataFrame | None:
    """Valid appeals (申诉) with their right-to-reply texts (回应说明), for the public pages;
    unusable appeal rows are reported and left out, never published."""
    appeals = read_decision_file(folders.data, "appeals.csv")
    if appeals is None:
        return None
    good, bad = split_appeals(appeals)
    for row, reason in bad.select("row", "reason").iter_rows():
        context.log.warning(f"appeals.csv row {row} left out: {reason}")
    return good


@dg.asset(
    key=["outputs", "map"],
    group_name="outputs",
    kinds={"geojson", "html"},
    owners=OWNERS,
    partitions_def=rating_dates,
    deps=[ratings, common_problems_table],
    pool=WAREHOUSE_POOL,
)
def map_layer(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: RunFolders):
    """The electronic map (一图): compounds by stars as GeoJSON (WGS-84 and a GCJ-02 copy),
    common-problem hotspots, district outlines, and an offline map viewer."""
    with warehouse.reading():
        as_of = as_of_of(context)
        compounds = warehouse.read("core.compounds")
        leading = leading_group(_on(warehouse, "marts.public_stats", as_of))
        # The outlines are parsed and snapped again only when the file or the compounds changed.
        outlines = folders.data / "compounds.geojson"
        cached = folders.out / ".cache" / "map"
        digest = cached_file_sha256(outlines, cached / "outlines.sha256.json") if outlines.exists() else "no outlines"
        cache = GeometryCache(cached, digest)
        features = build_features(compounds, lambda: read_polygons(folders.data), _on(warehouse, "marts.ratings", as_of),
                                  leading, cache=cache)
        map_dir = folders.staging(context.partition_key) / "map"
        outlines = json.loads(DISTRICT_OUTLINES.read_text(encoding="utf-8")) if DISTRICT_OUTLINES.exists() else None
        extra = {}
        for key, name in (("street_outlines", "streets.geojson"), ("grid_outlines", "grids.geojson")):
            try:  # optional overlays: an unusable file is named and left out, the map still comes
                extra[key] = read_outlines(folders.data / name)
            except ValueError as exc:
                context.log.warning(str(exc))
        paths = write_map_layers(map_dir, features, _on(warehouse, "marts.common_problems", as_of).drop("as_of"),
                                 outlines, **extra)
        try:
            basemap = Basemap.from_env(os.environ)
        except ValueError as exc:  # a misconfigured basemap must not hold the night's map back
            context.log.warning(f"{exc}; the map is written without a basemap")
            basemap = Basemap()
        # the layer is still in memory: the viewer packs it from there instead of re-reading it
        paths.append(write_map_viewer(map_dir, basemap=basemap, compounds=features))
        return dg.MaterializeResult(metadata={"features": len(features.rows), "files": len(paths),
                                              "basemap": basemap.url or "none", "basemap_crs": basemap.crs})


@dg.asset(
    key=["outputs", "rankings"],
    group_name="outputs",
    kinds={"csv", "excel", "html"},
    owners=OWNERS,
    partitions_def=rating_dates,
    deps=[ratings],
    pool=WAREHOUSE_POOL,
)
def rankings(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: RunFolders):
    """City, district and street rankings by safety index, and the five-star share per
    district (the programme's headline figure), as CSV, Excel and HTML."""
    with warehouse.reading():
        as_of = as_of_of(context)
        tables = build_rankings(_on(warehouse, "marts.ratings", as_of), warehouse.read("core.compounds"))
        # The workbook (the slowest file, read by no later step) is written meanwhile by a
        # second process; the publication step waits for it.
        paths = write_rankings(folders.staging(context.partition_key) / "rankings", tables,
                               write_book=partial(background.hand_off, "the rankings workbook", write_workbook))
        return dg.MaterializeResult(metadata={"files": len(paths)})


@dg.asset(
    key=["outputs", "analyst_report"],
    group_name="outputs",
    kinds={"html"},
    owners=OWNERS,
    partitions_def=rating_dates,
    deps=[ratings, intake_counts, common_problems_table, dg.AssetKey(["marts", "data_quality"]),
          dg.AssetKey(["marts", "source_completeness"])],
    pool=WAREHOUSE_POOL,
)
def analyst_report(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: RunFolders, policy: Policy):
    """The nightly 研判 report for analysts: headline figures, stars per district, changes,
    veto and downgrade alerts, common problems, data quality, review queue, trends."""
    with warehouse.reading():
        as_of = as_of_of(context)
        quality = warehouse.read("marts.data_quality")
        path = render_report(
            folders.staging(context.partition_key) / "report", as_of=as_of,
            ratings=_on(warehouse, "marts.ratings", as_of), trend=warehouse.query(trend_counts_sql(), [as_of]),
            changes=_on(warehouse, "marts.rating_changes", as_of), explanations=_on(warehouse, "marts.explanations", as_of),
            quality=quality, match_rates=warehouse.read("marts.match_rates"),
            review_size=warehouse.count("core.review_queue"),  # the size only: the queue stays in DuckDB
            problems=_on(warehouse, "marts.common_problems", as_of).drop("as_of"), intake=_on(warehouse, "marts.intake_counts", as_of),
            sources=_on(warehouse, "marts.source_completeness", as_of),
            problem_settings=policy.rules.common_problems,
        )
        quality.write_csv(folders.staging(context.partition_key) / "data_quality.csv")
        write_people_csv(quality, folders.staging(context.partition_key) / PEOPLE_CSV["data_quality"])
        return dg.MaterializeResult(metadata={"report": str(path)})


@dg.asset(
    key=["outputs", "publication"],
    group_name="outputs",
    kinds={"filesystem"},
    owners=OWNERS,
    partitions_def=rating_dates,
    deps=[ratings, plaques, public_site, map_layer, rankings, analyst_report],
)
def publication(context: dg.AssetExecutionContext, folders: RunFolders):
    """The rating date's outputs switched live in one atomic rename: readers see the last
    good publication or the new one, never a half-written folder."""
    background.wait_all()  # files handed to a second process (the rankings workbook)
    target = publish(folders.out, context.partition_key)
    context.log.info(f"published {target}")
    return dg.MaterializeResult(metadata={"path": str(target)})
