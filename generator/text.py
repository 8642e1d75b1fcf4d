"""Free text of the records: addresses spelled many ways, fake people, case summaries.

All column-wise (Polars expressions over gathered lookup tables), so ten million records
cost seconds, and all drawn from the caller's numpy Generator, so they are reproducible.
"""
from __future__ import annotations

import numpy as np
import polars as pl

from generator import catalog, words

_DIGITS = "零一二三四五六七八九"
_FULLWIDTH = [chr(0xFF10 + i) for i in range(10)]


def chinese_number(n: int) -> str:
    """1..9999 in Chinese numerals as house numbers are read out (十二, 一百零五, 二千零一十)."""
    if n < 10:
        return _DIGITS[n]
    if n < 20:
        return "十" + (_DIGITS[n % 10] if n % 10 else "")
    out, zero = "", False
    for unit, val in (("千", 1000), ("百", 100), ("十", 10), ("", 1)):
        d = (n // val) % 10
        if d:
            if zero and out:
                out += "零"
            out += _DIGITS[d] + unit
            zero = False
        elif out:
            zero = True
    return out


_CN_TABLE = [""] + [chinese_number(i) for i in range(1, 1000)]


def gather_str(items: list[str], idx: np.ndarray) -> pl.Series:
    """items[idx] as a String Series (much faster than going through numpy unicode arrays)."""
    return pl.Series(items, dtype=pl.String).gather(pl.Series(idx))


def person_names(rng: np.random.Generator, n: int) -> pl.Series:
    """Fake Chinese names: a common surname and one or two given-name characters."""
    sur = gather_str(words.SURNAMES, rng.integers(0, len(words.SURNAMES), n))
    g1 = gather_str(words.GIVEN, rng.integers(0, len(words.GIVEN), n))
    g2 = gather_str(words.GIVEN + [""], np.where(rng.random(n) < 0.6, rng.integers(0, len(words.GIVEN), n),
                                              len(words.GIVEN)))
    return pl.select(pl.concat_str(sur, g1, g2).alias("name"))["name"]


def masked_phones(rng: np.random.Generator, n: int) -> pl.Series:
    """Mobile numbers with the middle four digits masked, like 138****1234."""
    head = gather_str(["13", "15", "17", "18", "19"], rng.integers(0, 5, n))
    mid = pl.Series(rng.integers(0, 10, n)).cast(pl.String)
    tail = pl.Series(rng.integers(0, 10000, n)).cast(pl.String).str.zfill(4)
    return pl.select(pl.concat_str(head, mid, pl.lit("****"), tail).alias("phone"))["phone"]


def _fullwidth(e: pl.Expr) -> pl.Expr:
    return e.str.replace_many([str(i) for i in range(10)], _FULLWIDTH)


def addresses(rng: np.random.Generator, comp: pl.DataFrame, exact: np.ndarray) -> pl.Series:
    """An address per record, spelled the way clerks type them.

    `comp` holds per record the compound's `district`, `road`, `road_no`, `name`, `aliases`
    and `suffix`. Where `exact` is true the address is the registry's road-and-number plus
    the compound name (used for planted records); otherwise about 40% deviate: prefixes
    (厦门市/区), full-width digits, Chinese numerals, aliases, 小区/花园 swaps,
    building/unit/room suffixes, or the name alone.
    """
    n = comp.height
    pre_u, num_u, body_u, tail_u = (pl.Series(rng.random(n)) for _ in range(4))
    bld = pl.Series(rng.integers(1, 30, n)).cast(pl.String)
    unit = pl.Series(rng.integers(1, 5, n)).cast(pl.String)
    room = pl.Series(rng.integers(1, 33, n) * 100 + rng.integers(1, 9, n)).cast(pl.String)
    alias_pick = pl.Series(rng.integers(0, 1 << 20, n))
    cn_no = gather_str(_CN_TABLE, np.clip(comp["road_no"].to_numpy(), 0, 999))
    ex = pl.Series(exact)

    no = pl.col("road_no").cast(pl.String)
    number = (pl.when(ex | (num_u < 0.8)).then(no)
              .when(num_u < 0.9).then(_fullwidth(no))
              .otherwise(cn_no))
    prefix = (pl.when(ex | (pre_u < 0.45)).then(pl.lit(""))
              .when(pre_u < 0.65).then(pl.lit("厦门市"))
              .when(pre_u < 0.85).then(pl.concat_str(pl.lit("厦门市"), "district"))
              .when(pre_u < 0.95).then(pl.col("district"))
              .otherwise(pl.concat_str(pl.lit("福建省厦门市"), "district")))
    alias_list = pl.col("aliases").fill_null("").str.split("|").list.eval(pl.element().filter(pl.element() != ""))
    alias = alias_list.list.get(pl.lit(alias_pick) % alias_list.list.len().clip(1), null_on_oob=True)
    swapped = (pl.when(pl.col("suffix") == "花园").then(pl.col("name").str.replace("花园$", "小区"))
               .when(pl.col("suffix") == "小区").then(pl.col("name").str.replace("小区$", "花园"))
               .otherwise(pl.col("name")))
    road = pl.concat_str("road", number, pl.lit("号"))
    body = (pl.when(ex | (body_u < 0.45)).then(pl.concat_str(road, "name"))
            .when(body_u < 0.65).then(road)
            .when(body_u < 0.75).then(pl.concat_str(road, pl.coalesce(alias, "name")))
            .when(body_u < 0.85).then(pl.concat_str(road, swapped))
            .when(body_u < 0.93).then(pl.coalesce(alias, "name"))
            .otherwise(pl.col("name")))
    tail = (pl.when(ex | (tail_u < 0.6)).then(pl.lit(""))
            .when(tail_u < 0.8).then(pl.concat_str(bld, pl.lit("号楼"), unit, pl.lit("单元"), room, pl.lit("室")))
            .when(tail_u < 0.9).then(pl.concat_str(bld, pl.lit("栋"), room))
            .when(tail_u < 0.95).then(pl.lit("门口"))
            .otherwise(pl.lit("附近")))
    return comp.select(pl.concat_str(prefix, body, tail).alias("address"))["address"]


def descriptions(codes: pl.Series, places: pl.Series, names: pl.Series, phones: pl.Series) -> pl.Series:
    """Synthetic 简要案情 naming a (fake) person with a masked phone number."""
    parts = {g: t.replace("{n}", "\x00").replace("{p}", "\x00").replace("{a}", "\x00").split("\x00")
             for g, t in catalog.TEMPLATES.items()}
    group = codes.replace_strict(catalog.GROUP, default="治安", return_dtype=pl.String)
    piece = [group.replace_strict({g: p[i] for g, p in parts.items()}, return_dtype=pl.String) for i in range(4)]
    df = pl.DataFrame({"p0": piece[0], "n": names, "p1": piece[1], "ph": phones,
                       "p2": piece[2], "a": places, "p3": piece[3]})
    return df.select(pl.concat_str("p0", "n", "p1", "ph", "p2", "a", "p3").alias("d"))["d"]
