"""The synthetic compound registry: ids, names, aliases, divisions, grids, addresses, sizes.

Real districts/streets/communities (from `realdata`), synthetic compounds placed on
cells inside the real district outlines. Everything is drawn from one numpy Generator,
so the same seed gives the same registry.
"""
from __future__ import annotations

import numpy as np
import polars as pl

from generator import layout, words
from generator.realdata import district_shapes, divisions
from generator.text import gather_str


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split `total` into integer parts proportional to `weights` (largest remainder)."""
    raw = total * weights / weights.sum()
    base = np.floor(raw).astype(np.int64)
    rest = total - base.sum()
    base[np.argsort(-(raw - base), kind="stable")[:rest]] += 1
    return base


def _pick(rng: np.random.Generator, items: list[str], n: int, p: list[float] | None = None) -> pl.Series:
    if p is not None:
        w = np.asarray(p, dtype=float)
        return gather_str(items, rng.choice(len(items), n, p=w / w.sum()))
    return gather_str(items, rng.integers(0, len(items), n))


def _names(rng: np.random.Generator, comm_stem: pl.Series) -> pl.DataFrame:
    """Draw brand/core/suffix name parts; one in eight take the community's own name as core."""
    n = comm_stem.len()
    brand = _pick(rng, words.BRANDS, n)
    use_brand = pl.Series(rng.random(n) < 0.3)
    core = _pick(rng, words.CORES, n)
    use_comm = pl.Series(rng.random(n) < 0.12)
    suffix = _pick(rng, words.SUFFIXES, n, words.SUFFIX_WEIGHTS)
    return pl.DataFrame({"brand": brand, "use_brand": use_brand, "core": core,
                         "use_comm": use_comm, "suffix": suffix, "stem": comm_stem}).select(
        brand=pl.when("use_brand").then("brand").otherwise(pl.lit("")),
        core=pl.when("use_comm").then("stem").otherwise("core"),
        suffix="suffix",
    )


MAX_GRIDS_PER_STREET = 999  # three digits per street (grid code Hd012)


def _grid_codes(district_letter: str, district_streets: pl.Series, street_codes: pl.Series,
                grid_key: np.ndarray) -> pl.Series:
    """Grid codes of the rule grid systems use: the district's upper-case letter, the
    street's lower-case letter (its place among the district's streets by official code)
    and the grid's three-digit number inside the street, in Hilbert order (e.g. Hd012)."""
    streets = sorted(set(district_streets.to_list()))
    if len(streets) > 26:
        raise ValueError(f"district {district_letter} has {len(streets)} streets; grid codes allow 26")
    frame = pl.DataFrame({"street": street_codes, "key": grid_key})
    frame = frame.with_columns(
        letter=pl.col("street").replace_strict({s: chr(ord("a") + i) for i, s in enumerate(streets)}),
        no=pl.col("key").rank("dense").over("street"))
    if frame["no"].max() > MAX_GRIDS_PER_STREET:
        raise ValueError("too many grids in one street for three-digit grid numbers")
    return frame.select(pl.format("{}{}{}", pl.lit(district_letter), "letter",
                                  pl.col("no").cast(pl.String).str.zfill(3)).alias("grid_code"))["grid_code"]


def build_registry(rng: np.random.Generator, n_compounds: int) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """The registry frame (schemas.registry.Compound columns plus helper columns) and shapes.

    Helper columns (dropped before writing): `idx` (row position), `has_polygon`, `road`,
    `road_no`, `name_core`, `name_suffix`, `name_brand`, `district_code`.
    The shapes dict holds per-compound polygon parameters (see `layout.compound_shapes`).
    """
    all_streets = divisions().select("district", "street_code").unique()
    div = divisions().filter(pl.col("weight") > 0)
    shapes = district_shapes()
    dnames = list(words.DISTRICT_WEIGHT)
    per_district = _allocate(n_compounds, np.array([words.DISTRICT_WEIGHT[d] for d in dnames]))

    frames, cell_lon, cell_lat, cell_m = [], [], [], []
    for dname, n_d in zip(dnames, per_district):
        if n_d == 0:
            continue
        _, geom, label = shapes[dname]
        comms = div.filter(pl.col("district") == dname).sort("street_code", "community_code")
        w = comms["weight"].to_numpy() * rng.lognormal(0.0, 0.5, comms.height)
        counts = rng.multinomial(n_d, w / w.sum())
        cells = layout.place_cells(geom, label, int(n_d), words.DISTRICT_SPREAD[dname], rng)
        cell_lon.append(cells["lon"])
        cell_lat.append(cells["lat"])
        cell_m.append(np.full(n_d, cells["cell_m"]))
        comm_idx = np.repeat(np.arange(comms.height), counts)
        # Grids: consecutive runs of 3–8 compounds inside one community (Hilbert order keeps
        # them compact); runs wide enough for large knobs that a street keeps under
        # MAX_GRIDS_PER_STREET grids (a street has at most n/run + one per community).
        per_street = pl.DataFrame({"s": comms["street_code"], "n": counts}).group_by("s").agg(pl.col("n").sum())
        g_min = max(3, int(np.ceil(int(per_street["n"].max()) / (MAX_GRIDS_PER_STREET - 100))))
        run = rng.integers(g_min, g_min + 6, comms.height)[comm_idx]
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[comm_idx]
        within = np.arange(n_d) - starts
        sel = comms[comm_idx]
        grid_codes = _grid_codes(words.DISTRICT_LETTER[dname], all_streets.filter(pl.col("district") == dname)["street_code"],
                                 sel["street_code"],
                                 comm_idx.astype(np.int64) * 1_000_000 + within // run)
        roads = words.ROADS[dname]
        base_road = rng.integers(0, len(roads), comms.height)[comm_idx]
        road = (base_road + rng.integers(0, 3, n_d)) % len(roads)
        frames.append(pl.DataFrame({
            "district": sel["district"], "district_code": sel["district_code"], "street": sel["street"],
            "community": sel["community_short"],
            "grid_code": grid_codes,
            "road": gather_str(roads, road), "road_no": rng.integers(1, 700, n_d),
        }))
    reg = pl.concat(frames)
    n = reg.height
    lon_c = np.concatenate(cell_lon)
    lat_c = np.concatenate(cell_lat)
    shp = layout.compound_shapes(np.concatenate(cell_m), rng)

    stem = reg["community"].str.replace(r"(社区|村)$", "")
    parts = _names(rng, stem)
    reg = pl.concat([reg, parts], how="horizontal")
    reg = _dedupe_names(reg, rng)
    reg = _dedupe_addresses(reg, rng)

    households = np.clip(np.round(rng.lognormal(np.log(420), 0.8, n)), 30, 3000).astype(np.int64)
    tiny = rng.random(n) < 0.01
    households[tiny] = rng.integers(30, 37, tiny.sum())
    population = np.round(households * rng.uniform(2.3, 3.2, n)).astype(np.int64)
    pop_missing = rng.random(n) < 0.03
    has_polygon = rng.random(n) >= 0.02

    lon = lon_c + shp["ox"] / layout.metres_per_deg_lon(lat_c)
    lat = lat_c + shp["oy"] / layout.M_PER_DEG_LAT
    reg = reg.with_columns(
        idx=pl.int_range(0, n, dtype=pl.Int64),
        compound_id=pl.format("XM{}", pl.int_range(1, n + 1).cast(pl.String).str.zfill(6)),
        name=pl.concat_str("brand", "core", "suffix"),
        address=pl.concat_str("road", pl.col("road_no").cast(pl.String), pl.lit("号")),
        households=pl.Series(households),
        population=pl.when(pl.Series(pop_missing)).then(None).otherwise(pl.Series(population)),
        lon=pl.Series(lon).round(7), lat=pl.Series(lat).round(7),
        coord_sys=pl.lit("WGS84"),
        has_polygon=pl.Series(has_polygon),
    )
    reg = reg.with_columns(aliases=_aliases(reg, rng))
    return reg, {**shp, "cell_lon": lon_c, "cell_lat": lat_c}


def _dedupe_names(reg: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Redraw names that repeat within a district (a careful analyst could not tell such
    compounds apart by name); last resort, add a distinguishing phase."""
    for attempt in range(12):
        full = pl.concat_str("brand", "core", "suffix")
        dup = reg.select((pl.int_range(pl.len()).over(["district", full]) > 0).alias("d"))["d"]
        k = int(dup.sum())
        if k == 0:
            return reg
        if attempt < 10:
            core = _pick(rng, words.CORES, k)
            suffix = _pick(rng, words.SUFFIXES, k, words.SUFFIX_WEIGHTS)
            idx = np.flatnonzero(dup.to_numpy())
            reg = reg.with_columns(
                core=reg["core"].scatter(idx, core), suffix=reg["suffix"].scatter(idx, suffix))
        else:
            rank = reg.select(pl.int_range(pl.len()).over(["district", full]).alias("r"))["r"]
            reg = reg.with_columns(suffix=pl.when(rank > 0)
                                   .then(pl.format("{}{}区", pl.col("suffix"), rank + 1))
                                   .otherwise(pl.col("suffix")))
    return reg


def _dedupe_addresses(reg: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Redraw house numbers so no two compounds of a district share road and number."""
    for _ in range(50):
        dup = reg.select((pl.int_range(pl.len()).over(["district", "road", "road_no"]) > 0).alias("d"))["d"]
        k = int(dup.sum())
        if k == 0:
            return reg
        idx = np.flatnonzero(dup.to_numpy())
        reg = reg.with_columns(road_no=reg["road_no"].scatter(idx, rng.integers(1, 1500, k)))
    return reg


def _aliases(reg: pl.DataFrame, rng: np.random.Generator) -> pl.Series:
    """`|`-joined aliases: brandless short name, 花园↔小区 variant, phases, an old name."""
    n = reg.height
    short = pl.when(pl.col("brand") != "").then(pl.concat_str("core", "suffix"))
    swap = (pl.when(pl.col("suffix") == "花园").then(pl.concat_str("brand", "core", pl.lit("小区")))
            .when(pl.col("suffix") == "小区").then(pl.concat_str("brand", "core", pl.lit("花园")))
            .when(pl.col("suffix") == "新村").then(pl.concat_str("core", pl.lit("小区"))))
    phases = pl.when(pl.Series(rng.random(n) < 0.25)).then(
        pl.concat_str(pl.col("name"), pl.lit("一期|"), pl.col("name"), pl.lit("二期")))
    old = pl.when(pl.Series(rng.random(n) < 0.08)).then(
        pl.concat_str(_pick(rng, words.CORES, n), pl.lit("新村")))
    bare = pl.when(pl.Series(rng.random(n) < 0.3) & pl.col("suffix").is_in(["小区", "花园", "苑", "新村"])
                   & (pl.col("brand") == "")).then(pl.col("core"))
    long = reg.select("idx", "street", "name", alias=pl.concat_list(short, swap, phases, old, bare)
                      .list.drop_nulls()).explode("alias").filter(pl.col("alias") != "")
    # An alias equal to another compound's name in the same street would make the alias
    # ambiguous by construction; real registries avoid that too.
    taken = reg.select("street", alias="name")
    long = (long.join(taken, on=["street", "alias"], how="anti", maintain_order="left")
            .unique(["idx", "alias"], keep="first", maintain_order=True))
    agg = long.group_by("idx", maintain_order=True).agg(pl.col("alias").str.join("|"))
    return reg.select("idx").join(agg, on="idx", how="left", maintain_order="left")["alias"]
