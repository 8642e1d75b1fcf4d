"""The demo city: registry, five departments' exports, ground truth — from one seed.

`generate_city` is the public entry point (`python -m generator`, `safestar generate`).
Same seed and knobs give byte-identical files. No network, no clock: nothing depends on
the time of the run.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from generator import badrows, events, grids, layout, planting, realdata, registry, sources, text, truth, words, writers

REGISTRY_COLUMNS = ["compound_id", "name", "aliases", "district", "district_code", "street", "community",
                    "grid_code", "address", "households", "population", "lon", "lat", "coord_sys"]
COORD_SHARE = {"police": 0.93, "procuratorate": 0.6, "court": 0.5, "justice": 0.7, "petition": 0.85}
GENERATOR_VERSION = 1
MIN_COMPOUNDS = 30


def generate_city(out_dir: Path, *, seed: int = 7, n_compounds: int = 2300, n_events: int = 60000,
                  months: int = 13, end: date = date(2026, 11, 20),
                  progress: Callable[[str], None] | None = None) -> dict:
    """Write a complete demo data directory into `out_dir` and return a summary.

    Replaces `sources/<source>/` of the five sources and `truth/` if they exist; leaves
    any other content of `out_dir` (e.g. `decisions/`) alone.

    The summary holds counts per source and per file, bad rows and revoked records per
    source, and the planted compound ids (as in truth/planted.json).
    """
    if n_compounds < MIN_COMPOUNDS or n_events < 0 or months < 1:
        raise ValueError(f"need at least {MIN_COMPOUNDS} compounds (the planted outcomes use about 25), "
                         f"a non-negative number of events and at least one month")
    say = progress or (lambda _msg: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # A previous city in the same folder may have had other months or files: start clean
    # in the folders the generator owns (analyst decisions/ and anything else stay).
    for owned in [out / "sources" / s for s in sources.BUILDERS] + [out / "truth"]:
        if owned.is_dir():
            shutil.rmtree(owned)
    # spawn(8)'s first seven children are spawn(7)'s: adding the staff's stream kept every city.
    rng_reg, rng_plant, rng_bg, rng_geo, rng_text, rng_src, rng_bad, rng_staff = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8))
    win = events.make_window(end, months)

    say(f"registry: placing {n_compounds} compounds")
    reg, shp = registry.build_registry(rng_reg, n_compounds)
    roles = planting.choose(rng_plant, reg)
    nr = pl.Series(np.isin(np.arange(reg.height), roles["not_rated"]))
    reg = reg.with_columns(households=pl.when(nr).then(None).otherwise("households"),
                           population=pl.when(nr).then(None).otherwise("population"))
    protected = np.asarray(sorted(i for tag, idx in roles.items() if tag != "not_rated" for i in idx))

    say(f"events: drawing about {n_events} records over {months} months to {end}")
    recs = events.background(rng_bg, reg, n_events, win, protected)
    recs = pl.concat([recs, planting.planted_records(rng_plant, roles, win, int(recs["incident"].max() or 0) + 1)])
    recs = _attach_case_numbers(recs)
    recs = _attach_places(recs, reg, shp, rng_geo, rng_text)

    summary: dict = {"out_dir": str(out), "seed": seed, "compounds": reg.height, "records": {}, "files": {},
                     "bad_rows": {}, "revoked": {}}
    truth_parts = []
    for name, build in sources.BUILDERS.items():
        say(f"sources: writing {name}")
        rf, spec = build(rng_src, recs.filter(pl.col("source") == name))
        rf = badrows.plant_bad_rows(rng_bad, rf, spec)
        rf = rf.with_columns(line=pl.int_range(1, pl.len() + 1).over("file"))
        folder = out / "sources" / name
        folder.mkdir(parents=True, exist_ok=True)
        for file in rf["file"].unique(maintain_order=True).to_list():
            part = sources.export_frame(rf.filter(pl.col("file") == file), spec, file)
            _write(part, folder / file, spec)
            summary["files"][f"sources/{name}/{file}"] = part.height
        (folder / "mapping.yaml").write_text(_yaml(spec.mapping()), encoding="utf-8")
        summary["records"][name] = rf.height
        summary["bad_rows"][name] = int(rf["bad_reason"].is_not_null().sum())
        summary["revoked"][name] = int(rf["revoked"].sum())
        # Keep only what truth needs: the text columns of ten million rows are gigabytes.
        truth_parts.append(rf.select(*truth.SOURCE_COLUMNS).with_columns(source=pl.lit(name)))
        del rf

    say("registry: writing compounds.csv, compounds.geojson, grids.csv and staff.csv")
    reg.select(REGISTRY_COLUMNS).write_csv(out / "compounds.csv")
    grid_frame = grids.build_grids(reg)
    grid_frame.write_csv(out / "grids.csv")
    grids.build_staff(rng_staff, grid_frame, words.DISTRICT_LETTER).write_csv(out / "staff.csv")
    grid_fc, street_fc = grids.outlines(reg, shp["cell_lon"], shp["cell_lat"],
                                        {name: geom for name, (_, geom, _) in realdata.district_shapes().items()})
    for name, fc in (("grids.geojson", grid_fc), ("streets.geojson", street_fc)):
        (out / name).write_text(json.dumps(fc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    _write_geojson(reg, shp, out / "compounds.geojson")

    say("truth: records, expected statuses, planted outcomes")
    records = truth.records_table(pl.concat(truth_parts, how="diagonal_relaxed"))
    tdir = out / "truth"
    tdir.mkdir(exist_ok=True)
    records.write_parquet(tdir / "records.parquet", compression="zstd", statistics=False)
    truth.expected_status(records, reg, win).write_parquet(tdir / "expected_status.parquet",
                                                           compression="zstd", statistics=False)
    planted = planting.expected_planted(roles, reg, recs, win)
    (tdir / "planted.json").write_text(json.dumps(planted, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    city = {"generator_version": GENERATOR_VERSION, "seed": seed, "n_compounds": n_compounds,
            "n_events": n_events, "months": months, "start": win.start.isoformat(), "end": win.end.isoformat(),
            "first_as_of": win.first_as_of.isoformat(), "second_as_of": win.second_as_of.isoformat()}
    (out / "city.json").write_text(json.dumps(city, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    summary.update(city=city, planted=planted)
    say(f"done: {reg.height} compounds, {sum(summary['records'].values())} records in {len(summary['files'])} files")
    return summary


def _attach_case_numbers(recs: pl.DataFrame) -> pl.DataFrame:
    """Police case numbers (案件编号) for criminal police records, shared by their chain."""
    crim = list(events.catalog.CRIMINAL)
    pol = (recs.filter((pl.col("source") == "police") & pl.col("code").is_in(crim))
           .sort("at", "incident")
           .select("incident", case_no=pl.format("A350200{}{}", pl.col("at").dt.year(),
                                                 (pl.int_range(pl.len()).over(pl.col("at").dt.year()) + 1)
                                                 .cast(pl.String).str.zfill(7))))
    return recs.join(pol, on="incident", how="left", maintain_order="left")


def _attach_places(recs: pl.DataFrame, reg: pl.DataFrame, shp: dict, rng_geo: np.random.Generator,
                   rng_text: np.random.Generator) -> pl.DataFrame:
    """True WGS-84 point (or none), address text, summary text and fake people per record."""
    comp = reg.select(pl.col("idx").alias("cidx"), "compound_id", "district", "district_code", "street",
                      "road", "road_no", "name", "aliases", "suffix", "has_polygon")
    recs = recs.join(comp, on="cidx", how="left", maintain_order="left")
    n = recs.height
    share = recs["source"].replace_strict(COORD_SHARE, return_dtype=pl.Float64).to_numpy()
    planted = recs["planted"].is_not_null().to_numpy()
    civil = (recs["kind"] == "civil").to_numpy()
    has_xy = ((rng_geo.random(n) < share) | planted) & ~civil
    cidx = recs["cidx"].to_numpy()
    lon, lat = layout.points_in_shapes(shp["cell_lon"], shp["cell_lat"], shp, cidx, rng_geo,
                                       spread=recs["spread"].to_numpy())
    # Compounds without a polygon: a point within ~15 m of the registry centroid.
    nopoly = ~recs["has_polygon"].to_numpy()
    if nopoly.any():
        c_lon, c_lat = reg["lon"].to_numpy()[cidx[nopoly]], reg["lat"].to_numpy()[cidx[nopoly]]
        lon[nopoly] = c_lon + rng_geo.uniform(-15, 15, nopoly.sum()) / layout.metres_per_deg_lon(c_lat)
        lat[nopoly] = c_lat + rng_geo.uniform(-15, 15, nopoly.sum()) / layout.M_PER_DEG_LAT
    lon[~has_xy] = np.nan
    lat[~has_xy] = np.nan
    address = text.addresses(rng_text, recs, planted)
    person, phone = text.person_names(rng_text, n), text.masked_phones(rng_text, n)
    return recs.with_columns(
        lon_w=pl.Series(lon).fill_nan(None), lat_w=pl.Series(lat).fill_nan(None), address=address,
        description=text.descriptions(recs["code"], address, person, phone),
        officer=text.person_names(rng_text, n), person=person, phone=phone,
    )


class _QuotingDumper(yaml.SafeDumper):
    """Quotes digit-only strings (category codes like 0108), which YAML 1.2 would read as ints."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "'" if value.isdigit() else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_QuotingDumper.add_representer(str, _str_representer)


def _yaml(data: dict) -> str:
    return yaml.dump(data, Dumper=_QuotingDumper, allow_unicode=True, sort_keys=False)


def _write(df: pl.DataFrame, path: Path, spec: sources.SourceSpec) -> None:
    numeric = [h for h in ("经度", "纬度", "登记时间") if h in df.columns]
    if spec.kind == "csv":
        writers.write_csv(df, path, spec.encoding)
    elif spec.kind == "xlsx":
        writers.write_xlsx(df, path, numeric=[h for h in numeric if h != "登记时间"], sheet="受案登记")
    else:
        writers.write_jsonl(df, path, numeric=numeric)


def _write_geojson(reg: pl.DataFrame, shp: dict, path: Path) -> None:
    """RFC 7946 FeatureCollection of compound polygons (counter-clockwise rings, WGS-84)."""
    rings = layout.polygon_rings(shp["cell_lon"], shp["cell_lat"], shp)
    n = reg.height
    hexa = shp["hexagon"]
    # Rectangles keep 4 corners + closing point, hexagons 6 + closing point.
    keep = np.where(hexa[:, None], np.ones(7, bool), np.array([1, 1, 1, 1, 0, 0, 1], bool))
    idx = np.repeat(np.arange(n), 7)[keep.ravel()]
    pts = pl.DataFrame({"i": idx, "x": rings[..., 0].ravel()[keep.ravel()], "y": rings[..., 1].ravel()[keep.ravel()]})
    coords = pts.group_by("i", maintain_order=True).agg(
        pl.format("[{},{}]", pl.col("x").round(7), pl.col("y").round(7)).str.join(",").alias("c"))
    feats = (reg.select("compound_id", "name", "has_polygon").with_row_index("i")
             .with_columns(pl.col("i").cast(pl.Int64))
             .join(coords.with_columns(pl.col("i").cast(pl.Int64)), on="i", how="left", maintain_order="left")
             .filter("has_polygon")
             .select(pl.concat_str(pl.lit('{"type":"Feature","properties":{"compound_id":"'), "compound_id",
                                   pl.lit('","name":"'), "name",
                                   pl.lit('"},"geometry":{"type":"Polygon","coordinates":[['), "c",
                                   pl.lit("]]}}")).alias("f")))
    body = ",\n".join(feats["f"].to_list())
    path.write_text('{"type":"FeatureCollection","features":[\n' + body + "\n]}\n", encoding="utf-8")
