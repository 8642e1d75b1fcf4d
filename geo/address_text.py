"""Chinese address text: one canonical form for addresses and compound names.

An address such as `福建省厦门市思明区湖滨北路十二号湖滨花园3栋2单元501室` and the registry's
`湖滨北路12号` / `湖滨花园` should meet on the same keys. `normalize_address` reduces both
sides to one canonical form with Polars string expressions (no per-row Python);
`address_keys` splits a normalised address into road + house number and the rest.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import polars as pl

XIAMEN_PREFIXES = ["福建省", "福建", "厦门市", "厦门", "思明区", "湖里区", "集美区", "海沧区", "同安区", "翔安区"]

# Full-width ASCII block (U+FF01–U+FF5E) maps onto ASCII by a fixed offset.
_FULL = [chr(c) for c in range(0xFF01, 0xFF5F)] + ["\u3000", "〇", "—", "－", "―"]
_HALF = [chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)] + [" ", "零", "-", "-", "-"]

_CN_DIGITS = "零一二两三四五六七八九"
_CN_NUM = f"[{_CN_DIGITS}十百千]+"
_CN_VALUE = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}

# Building / unit / room / floor markers: everything from the first one on is not part of
# the compound's address.
_SUB_ADDRESS = rf"(?:[0-9A-Z]+|{_CN_NUM})(?:号楼|栋|幢|座|单元|室|层|楼|#).*$"
# After a house number, trailing room codes like `3-501` or `之一`.
_AFTER_NUMBER = r"(\d+号)(?:之[\p{Han}0-9]+|[0-9A-Z]+(?:-[0-9A-Z]+)+)$"
# Generic compound words that records use interchangeably (湖滨花园 / 湖滨小区 / 湖滨苑).
_GENERIC_SUFFIX = r"(?:[一二三四五六七八九十0-9]+期)?(?:花园小区|小区|花园|家园|新村|公寓|苑)?(?:[一二三四五六七八九十0-9]+期)?$"
# Words that place a record near, not in, a spot (`东海新村门口`): the spot is what matters.
_QUALIFIER = r"(?:附近|门口|旁边|对面|周边|一带|楼下)$"
_ROAD_NO = r"([\p{Han}A-Z0-9]*?(?:大道|路|街|巷|道|里))(\d+(?:-\d+)?)号"


def chinese_numeral_to_int(text: str) -> int | None:
    """Value of a Chinese numeral (十二 → 12, 一百零五 → 105, 五零三 → 503); None if not one."""
    if not text or any(ch not in _CN_VALUE and ch not in _CN_UNIT for ch in text):
        return None
    if not any(ch in _CN_UNIT for ch in text):
        return int("".join(str(_CN_VALUE[ch]) for ch in text))  # read digit by digit
    total, digit = 0, None
    for ch in text:
        if ch in _CN_VALUE:
            digit = _CN_VALUE[ch]
        else:
            total += (1 if digit is None else digit) * _CN_UNIT[ch]
            digit = None
    return total + (digit or 0)


def _arabise_house_numbers(s: pl.Series) -> pl.Series:
    """Chinese numerals right before 号 become digits; Python runs only over distinct numerals."""
    pattern = rf"({_CN_NUM})号"
    run = s.str.extract(pattern, 1)
    uniq = run.drop_nulls().unique()
    if uniq.len() == 0:
        return s
    mapping = {u: str(v) for u in uniq.to_list() if (v := chinese_numeral_to_int(u)) is not None}
    if not mapping:
        return s
    frame = pl.DataFrame({"s": s, "run": run})
    out = frame.select(
        pl.when(pl.col("run").is_in(list(mapping)))
        .then(
            pl.concat_str(
                pl.col("s").str.extract(rf"^(.*?){_CN_NUM}号", 1),
                pl.col("run").replace_strict(mapping, default=pl.col("run")),
                pl.lit("号"),
                pl.col("s").str.extract(rf"^.*?{_CN_NUM}号(.*)$", 1),
            )
        )
        .otherwise(pl.col("s"))
    ).to_series()
    return out.rename(s.name)


def _prefix_regex(prefixes: Iterable[str]) -> str:
    alts = sorted({p for p in prefixes if p}, key=len, reverse=True)
    return "^(?:" + "|".join(re.escape(p) for p in alts) + ")+"


def normalize_address(
    s: pl.Series, prefixes: Sequence[str] | None = None, *, unify_names: bool = True
) -> pl.Series:
    """Canonical form of Chinese addresses or compound names, for exact and fuzzy matching.

    Rules, in order: full-width → half-width and upper case; whitespace and punctuation
    dropped (`-` and `#` kept, they carry numbers); leading province/city/district names
    stripped (`prefixes`, default Xiamen's; the matcher adds the registry's streets and
    communities); Chinese numerals before 号 → digits; building/unit/room/floor suffixes
    (栋 幢 座 号楼 单元 室 层) dropped; trailing 附近/门口/旁边… dropped; with `unify_names`,
    a trailing generic word (小区 花园 家园 新村 公寓 苑) and phase (一期) dropped too.
    Nulls stay null.
    """
    prefix_re = _prefix_regex(list(prefixes) if prefixes is not None else XIAMEN_PREFIXES)
    out = (
        s.cast(pl.String)
        .str.replace_many(_FULL, _HALF)
        .str.to_uppercase()
        .str.replace_all(r"[^\p{Han}A-Z0-9\-#]", "")
        .str.replace(prefix_re, "")
    )
    out = _arabise_house_numbers(out)
    out = out.str.replace(_QUALIFIER, "").str.replace(_SUB_ADDRESS, "").str.replace(_AFTER_NUMBER, "${1}")
    if unify_names:
        out = unify_name(out)
    return out.rename(s.name)


def unify_name(normalised: pl.Series) -> pl.Series:
    """The stem of a normalised name: 湖滨花园 / 湖滨小区 / 湖滨苑二期 → 湖滨."""
    return normalised.str.replace(_GENERIC_SUFFIX, "")


def address_keys(normalised: pl.Series) -> pl.DataFrame:
    """Road + house number key (`湖滨北路12`) and the rest (usually the compound name), as
    written (`rest_full`) and as a stem (`rest`). Takes `normalize_address(…, unify_names=False)`."""
    road = normalised.str.extract(_ROAD_NO, 1)
    number = normalised.str.extract(_ROAD_NO, 2)
    rest_full = normalised.str.replace(_ROAD_NO, "")
    return pl.DataFrame(
        {
            "road_key": road + number,
            "road": road,
            "rest_full": rest_full.replace("", None),
            "rest": unify_name(rest_full).replace("", None),
        }
    )


