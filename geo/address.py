"""Chinese address normalisation and matching of addresses to the compound registry.

An address such as `福建省厦门市思明区湖滨北路十二号湖滨花园3栋2单元501室` and the registry's
`湖滨北路12号` / `湖滨花园` should meet on the same keys. `normalize_address` reduces both
sides to one canonical form (Polars string expressions, no per-row Python); `AddressMatcher`
then tries exact keys (name, alias, road + house number) and, failing those, a fuzzy score
against blocked candidates with rapidfuzz, accepting only a clear winner above a threshold.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl
from pandera.typing.polars import DataFrame
from rapidfuzz import fuzz, process

from schemas.registry import Compound

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
_GENERIC_SUFFIX = r"(?:花园小区|小区|花园|家园|新村|公寓|苑)$"
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


def normalize_address(s: pl.Series, prefixes: Sequence[str] | None = None) -> pl.Series:
    """Canonical form of Chinese addresses or compound names, for exact and fuzzy matching.

    Rules, in order: full-width → half-width and upper case; whitespace and punctuation
    dropped (`-` and `#` kept, they carry numbers); leading province/city/district names
    stripped (`prefixes`, default Xiamen's; the matcher adds the registry's streets and
    communities); Chinese numerals before 号 → digits; building/unit/room/floor suffixes
    (栋 幢 座 号楼 单元 室 层) dropped; a trailing generic word (小区 花园 家园 苑 …) dropped.
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
    return (
        out.str.replace(_SUB_ADDRESS, "")
        .str.replace(_AFTER_NUMBER, "${1}")
        .str.replace(_GENERIC_SUFFIX, "")
        .rename(s.name)
    )


def address_keys(normalised: pl.Series) -> pl.DataFrame:
    """Road + house number key (`湖滨北路12`) and the rest (usually the compound name)."""
    road = normalised.str.extract(_ROAD_NO, 1)
    number = normalised.str.extract(_ROAD_NO, 2)
    rest = normalised.str.replace(_ROAD_NO, "").str.replace(_GENERIC_SUFFIX, "")
    return pl.DataFrame(
        {
            "road_key": road + number,
            "road": road,
            "rest": rest.replace("", None),
        }
    )


class AddressMatcher:
    """Matches free-text addresses to compounds of a registry (exact keys, then fuzzy)."""

    def __init__(
        self,
        compounds: DataFrame[Compound],
        *,
        threshold: float = 85.0,
        top_n: int = 3,
        max_block: int = 2000,
    ) -> None:
        self.threshold = float(threshold)
        self.top_n = top_n
        self.max_block = max_block
        c = compounds
        ids = c.get_column(Compound.compound_id).cast(pl.String)
        prefixes = set(XIAMEN_PREFIXES)
        for col in (Compound.district, Compound.street, Compound.community):
            if col in c.columns:
                vals = c.get_column(col).drop_nulls().unique().to_list()
                # Only full names (思明区, 筼筜街道, 湖滨社区) are prefixes; bare stems are too
                # likely to begin a compound name.
                prefixes.update(v for v in vals if len(v) >= 3)
        self.prefixes = sorted(prefixes)
        norm = lambda col: normalize_address(c.get_column(col).cast(pl.String), self.prefixes)  # noqa: E731

        names = pl.DataFrame({"compound_id": ids, "key": norm(Compound.name), "kind": "name"})
        alias_raw = (
            c.select(pl.col(Compound.compound_id).cast(pl.String), pl.col(Compound.aliases).cast(pl.String).str.split("|"))
            .explode(Compound.aliases)
            .filter(pl.col(Compound.aliases).str.strip_chars().str.len_chars() > 0)
        ) if Compound.aliases in c.columns else pl.DataFrame({"compound_id": [], "aliases": []}, schema={"compound_id": pl.String, "aliases": pl.String})
        aliases = pl.DataFrame(
            {
                "compound_id": alias_raw.get_column(Compound.compound_id),
                "key": normalize_address(alias_raw.get_column(Compound.aliases), self.prefixes),
                "kind": "alias",
            }
        )
        # Names and aliases are one lookup; a key shared by several compounds is ambiguous.
        self._names = (
            pl.concat([names, aliases])
            .filter(pl.col("key").str.len_chars() > 0)
            .unique(["compound_id", "key"], keep="first", maintain_order=True)
        )
        addr = normalize_address(c.get_column(Compound.address).cast(pl.String), self.prefixes) \
            if Compound.address in c.columns else pl.Series([None] * c.height, dtype=pl.String)
        ak = address_keys(addr)
        self._roads = pl.DataFrame({"compound_id": ids, "road_key": ak["road_key"], "road": ak["road"]})
        # Name text + road of each compound, for the fuzzy pass.
        self._fuzzy = self._names.join(
            self._roads.select("compound_id", "road"), on="compound_id", how="left"
        ).with_columns(
            pl.col("key").str.slice(0, 2).alias("head"),
            pl.col("key").str.slice(-2, 2).alias("tail"),
        )

    # ---- exact ------------------------------------------------------------------------
    @staticmethod
    def _lookup(q: pl.DataFrame, qcol: str, table: pl.DataFrame, tcol: str, detail: str) -> pl.DataFrame:
        """Per query row: the unique compound for the key, or all candidates if ambiguous."""
        hits = (
            q.select("qi", pl.col(qcol).alias("k")).drop_nulls("k")
            .join(table.select(pl.col(tcol).alias("k"), "compound_id", *(["kind"] if "kind" in table.columns else [])),
                  on="k", how="inner")
        )
        if "kind" in hits.columns:
            hits = hits.with_columns(pl.col("kind").alias("detail"))
        else:
            hits = hits.with_columns(pl.lit(detail).alias("detail"))
        return hits.unique(["qi", "compound_id"], keep="first").select("qi", "compound_id", "detail")

    def match(self, addresses: pl.Series) -> pl.DataFrame:
        """One row per input: `compound_id` (null unless accepted), `score` (0–100),
        `method_detail` (name, alias, road_number, alias+name, fuzzy, ambiguous,
        below_threshold, no_match, empty), `candidates` (`id:score|…`, best first)."""
        n = addresses.len()
        norm_all = normalize_address(addresses.cast(pl.String), self.prefixes)
        # Work on distinct normalised strings: real exports repeat addresses a lot.
        uniq = norm_all.unique(maintain_order=True).drop_nulls()
        uniq = uniq.filter(uniq.str.len_chars() > 0)
        keys = address_keys(uniq)
        q = pl.DataFrame({"qi": np.arange(uniq.len()), "norm": uniq}).hstack(keys)

        scored = pl.concat(
            [
                self._lookup(q, "norm", self._names, "key", "name").with_columns(pl.lit(100.0).alias("score")),
                self._lookup(q, "rest", self._names, "key", "name").with_columns(pl.lit(100.0).alias("score")),
                self._lookup(q, "road_key", self._roads, "road_key", "road_number").with_columns(pl.lit(95.0).alias("score")),
            ]
        )
        best = self._decide_exact(scored)
        pending = q.join(best.select("qi"), on="qi", how="anti")
        fuzzy = self._fuzzy_pass(pending)
        result = pl.concat([best, fuzzy], how="diagonal_relaxed")

        table = (
            q.select("qi", "norm")
            .join(result, on="qi", how="left")
            .drop("qi")
        )
        out = (
            pl.DataFrame({"norm": norm_all})
            .join(table, on="norm", how="left", maintain_order="left")
            .select(
                pl.col("compound_id").cast(pl.String),
                pl.col("score").fill_null(0.0).cast(pl.Float64),
                pl.when(pl.col("norm").is_null() | (pl.col("norm") == ""))
                .then(pl.lit("empty"))
                .otherwise(pl.col("method_detail").fill_null("no_match"))
                .cast(pl.String)
                .alias("method_detail"),
                pl.col("candidates").cast(pl.String),
            )
        )
        assert out.height == n
        return out

    def _decide_exact(self, scored: pl.DataFrame) -> pl.DataFrame:
        """From all exact hits per query, the decision: agreed, ambiguous or conflicting."""
        if scored.height == 0:
            return pl.DataFrame(schema={"qi": pl.Int64, "compound_id": pl.String, "score": pl.Float64,
                                        "method_detail": pl.String, "candidates": pl.String})
        per = (
            scored.group_by("qi", "compound_id")
            .agg(pl.col("score").max(), pl.col("detail").unique().sort().str.join("+"))
            .sort(["qi", "score", "compound_id"], descending=[False, True, False])
        )
        agg = per.group_by("qi", maintain_order=True).agg(
            pl.col("compound_id").first().alias("top_id"),
            pl.col("score").first().alias("top_score"),
            pl.col("detail").first().alias("top_detail"),
            pl.len().alias("n_ids"),
            pl.concat_str(pl.col("compound_id"), pl.lit(":"), pl.col("score").round(0).cast(pl.Int64).cast(pl.String))
            .head(self.top_n).str.join("|").alias("candidates"),
        )
        return agg.select(
            "qi",
            pl.when(pl.col("n_ids") == 1).then(pl.col("top_id")).alias("compound_id"),
            # Several compounds for one address: keep it for review, scored below any threshold.
            pl.when(pl.col("n_ids") == 1).then(pl.col("top_score")).otherwise(50.0).alias("score"),
            pl.when(pl.col("n_ids") == 1).then(pl.col("top_detail")).otherwise(pl.lit("ambiguous")).alias("method_detail"),
            "candidates",
        )

    # ---- fuzzy -------------------------------------------------------------------------
    def _fuzzy_pass(self, pending: pl.DataFrame) -> pl.DataFrame:
        """Blocked fuzzy scoring: compare only with compounds sharing the road, or the first
        or last two characters of the name, so a typo anywhere still meets its compound."""
        schema = {"qi": pl.Int64, "compound_id": pl.String, "score": pl.Float64,
                  "method_detail": pl.String, "candidates": pl.String}
        q = pending.with_columns(
            pl.coalesce("rest", "norm").alias("text"),
        ).filter(pl.col("text").str.len_chars() >= 2).with_columns(
            pl.col("text").str.slice(0, 2).alias("head"),
            pl.col("text").str.slice(-2, 2).alias("tail"),
        )
        if q.height == 0 or self._fuzzy.height == 0:
            return pl.DataFrame(schema=schema)
        c = self._fuzzy.with_row_index("ci")
        blocks = []
        for key in ("head", "tail", "road"):
            sizes = c.group_by(key).len().filter(pl.col("len") <= self.max_block).drop("len")
            blocks.append(
                q.select("qi", "text", key).drop_nulls(key)
                .join(c.join(sizes, on=key).select("ci", key), on=key)
                .select("qi", "text", "ci")
            )
        pairs = pl.concat(blocks).unique(["qi", "ci"])
        if pairs.height == 0:
            return pl.DataFrame(schema=schema)
        pairs = pairs.join(c.select("ci", "compound_id", "key"), on="ci")
        scores = process.cpdist(
            pairs.get_column("text").to_list(), pairs.get_column("key").to_list(),
            scorer=fuzz.ratio, workers=-1,
        )
        per = (
            pairs.with_columns(pl.Series("score", scores, dtype=pl.Float64))
            .group_by("qi", "compound_id").agg(pl.col("score").max())
            .sort(["qi", "score", "compound_id"], descending=[False, True, False])
        )
        agg = per.group_by("qi", maintain_order=True).agg(
            pl.col("compound_id").first().alias("top_id"),
            pl.col("score").first().alias("top_score"),
            pl.col("score").get(1, null_on_oob=True).alias("second"),
            pl.concat_str(pl.col("compound_id"), pl.lit(":"), pl.col("score").round(0).cast(pl.Int64).cast(pl.String))
            .head(self.top_n).str.join("|").alias("candidates"),
        )
        clear = (pl.col("top_score") >= self.threshold) & (
            pl.col("second").is_null() | (pl.col("top_score") > pl.col("second"))
        )
        return agg.select(
            "qi",
            pl.when(clear).then(pl.col("top_id")).alias("compound_id"),
            pl.col("top_score").alias("score"),
            pl.when(clear).then(pl.lit("fuzzy"))
            .when(pl.col("top_score") >= self.threshold).then(pl.lit("ambiguous"))
            .otherwise(pl.lit("below_threshold")).alias("method_detail"),
            "candidates",
        )
