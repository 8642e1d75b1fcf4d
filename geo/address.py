"""Matching free-text Chinese addresses to the compound registry.

`AddressMatcher` tries exact keys first — the name or alias as written, its stem
(花园/小区/苑 variants), road + house number — and, failing those, a fuzzy score against
blocked candidates with rapidfuzz, accepting only a clear winner above a threshold. The
text rules live in `geo.address_text`; `normalize_address` is re-exported here.
"""
from __future__ import annotations

import re

import numpy as np
import polars as pl
from pandera.typing.polars import DataFrame
from rapidfuzz import fuzz, process

from geo.address_text import (  # noqa: F401 - normalize_address and friends are public here too
    XIAMEN_PREFIXES,
    address_keys,
    chinese_numeral_to_int,
    normalize_address,
    unify_name,
)
from schemas.registry import Compound

_CANDIDATE_FLOOR = 50.0  # fuzzy scores below this are noise, not candidates
_GRAM_SPAN = 12  # names are short; later characters add little to blocking


def _skip_bigrams(frame: pl.DataFrame, col: str) -> pl.DataFrame:
    """Rows of `frame` × their character pairs at distance 1 and 2 (`湖滨花` → 湖滨, 湖花, 滨花).
    One wrong character leaves most pairs intact, so a typo'd name still shares a key."""
    text = pl.col(col)
    grams = [
        pl.concat_str(text.str.slice(i, 1), text.str.slice(i + g, 1))
        for i in range(_GRAM_SPAN) for g in (1, 2)
    ]
    return (
        frame.with_columns(pl.concat_list(grams).list.unique().alias("gram"))
        .explode("gram")
        .filter(pl.col("gram").str.len_chars() == 2)
    )


_MAX_TIED = 20  # candidates listed when many compounds tie for an address
_PAIR_CHUNK = 1_000_000  # pairs scored at a time, to bound memory


def _road_block_keys(col: str) -> list[pl.Expr]:
    """House number and the first two characters of the road: the fuzzy blocking keys."""
    return [
        pl.col(col).str.extract(r"(\d+(?:-\d+)?)$", 1).alias("number"),
        pl.col(col).str.slice(0, 1).alias("c0"),
        pl.col(col).str.slice(1, 1).alias("c1"),
    ]


def _score_chunk(pairs: pl.DataFrame) -> pl.DataFrame:
    scores = process.cpdist(
        pairs.get_column("text").to_list(), pairs.get_column("ref").to_list(), scorer=fuzz.ratio, workers=-1
    )
    # Pairs scoring under half are noise, not candidates: drop them before ranking.
    return pairs.select("qi", "compound_id", pl.Series("score", scores, dtype=pl.Float64)).filter(
        pl.col("score") >= _CANDIDATE_FLOOR
    )


class AddressMatcher:
    """Matches free-text addresses to compounds of a registry (exact keys, then fuzzy)."""

    def __init__(
        self,
        compounds: DataFrame[Compound],
        *,
        threshold: float = 85.0,
        top_n: int = 5,
        max_block: int = 500,
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
        def norm(series: pl.Series) -> pl.Series:
            return normalize_address(series.cast(pl.String), self.prefixes, unify_names=False)

        names = pl.DataFrame({"compound_id": ids, "key_full": norm(c.get_column(Compound.name)), "kind": "name"})
        alias_raw = (
            c.select(pl.col(Compound.compound_id).cast(pl.String), pl.col(Compound.aliases).cast(pl.String).str.split("|"))
            .explode(Compound.aliases)
            .filter(pl.col(Compound.aliases).str.strip_chars().str.len_chars() > 0)
        ) if Compound.aliases in c.columns else pl.DataFrame({"compound_id": [], "aliases": []}, schema={"compound_id": pl.String, "aliases": pl.String})
        aliases = pl.DataFrame(
            {
                "compound_id": alias_raw.get_column(Compound.compound_id),
                "key_full": norm(alias_raw.get_column(Compound.aliases)),
                "kind": "alias",
            }
        )
        # Names and aliases are one lookup, as written (`key_full`) and as a stem (`key`);
        # a key shared by several compounds is ambiguous.
        both = pl.concat([names, aliases])
        self._names = (
            both.with_columns(unify_name(both.get_column("key_full")).alias("key"))
            .filter(pl.col("key_full").str.len_chars() > 0)
            .unique(["compound_id", "key_full"], keep="first", maintain_order=True)
        )
        addr = norm(c.get_column(Compound.address)) \
            if Compound.address in c.columns else pl.Series([None] * c.height, dtype=pl.String)
        ak = address_keys(addr)
        self._roads = pl.DataFrame({"compound_id": ids, "road_key": ak["road_key"], "road": ak["road"]})
        # The district an address names (before prefixes are stripped) settles names that
        # several districts share.
        if Compound.district in c.columns:
            self._district_of = pl.DataFrame({"compound_id": ids, "c_district": c.get_column(Compound.district).cast(pl.String)})
            names_ = sorted({d for d in self._district_of["c_district"].drop_nulls().to_list() if len(d) >= 2}, key=len, reverse=True)
        else:
            self._district_of = pl.DataFrame(schema={"compound_id": pl.String, "c_district": pl.String})
            names_ = []
        self._district_re = "(" + "|".join(re.escape(d) for d in names_) + ")" if names_ else None
        # Blocking keys for the fuzzy pass: skip-bigrams of each name (rare ones only), and
        # the house number of each registry address.
        name_grams = _skip_bigrams(self._names, "key").join(
            _skip_bigrams(self._names, "key").group_by("gram").len().filter(pl.col("len") <= max_block).drop("len"),
            on="gram",
        )
        self._name_grams = name_grams
        self._road_blocks = self._roads.drop_nulls("road_key").with_columns(_road_block_keys("road_key"))

    # ---- exact ------------------------------------------------------------------------
    @staticmethod
    def _lookup(q: pl.DataFrame, qcol: str, table: pl.DataFrame, tcol: str, detail: str, score: float) -> pl.DataFrame:
        """Every (query, compound) pair sharing a key; `detail` may name the table's `kind`
        column as `{kind}` (name / alias)."""
        hits = (
            q.select("qi", pl.col(qcol).alias("k")).filter(pl.col("k").str.len_chars() > 0)
            .join(table.select(pl.col(tcol).alias("k"), "compound_id", *(["kind"] if "kind" in table.columns else [])),
                  on="k", how="inner")
        )
        if "kind" in hits.columns:
            hits = hits.with_columns(pl.format(detail.replace("{kind}", "{}"), "kind").alias("detail"))
        else:
            hits = hits.with_columns(pl.lit(detail).alias("detail"))
        return hits.unique(["qi", "compound_id"], keep="first").select("qi", "compound_id", "detail", pl.lit(score).alias("score"))

    def match(self, addresses: pl.Series) -> pl.DataFrame:
        """One row per input: `compound_id` (null unless accepted), `score` (0–100),
        `method_detail` (`+`-joined exact kinds: name, alias, name_variant, alias_variant,
        road_number; or fuzzy, ambiguous, below_threshold, no_match, empty), `candidates` (`id:score|…`, best first)."""
        n = addresses.len()
        raw = addresses.cast(pl.String)
        norm_all = normalize_address(raw, self.prefixes, unify_names=False)
        dist_all = (raw.str.extract(self._district_re, 1) if self._district_re else pl.repeat(None, n, dtype=pl.String, eager=True))
        inputs = pl.DataFrame({"norm": norm_all, "dist": dist_all.fill_null("")})
        # Work on distinct normalised strings: real exports repeat addresses a lot.
        uniq = inputs.unique(maintain_order=True).filter(pl.col("norm").str.len_chars() > 0)
        keys = address_keys(uniq.get_column("norm"))
        q = uniq.with_columns(
            pl.Series("qi", np.arange(uniq.height)),
            unify_name(uniq.get_column("norm")).alias("stem"),
        ).hstack(keys)

        # Exact keys, strongest first: the name as written, its stem (花园/小区/苑 variants),
        # road + house number.
        scored = pl.concat(
            [
                self._lookup(q, "norm", self._names, "key_full", "{kind}", 100.0),
                self._lookup(q, "rest_full", self._names, "key_full", "{kind}", 100.0),
                self._lookup(q, "stem", self._names, "key", "{kind}_variant", 98.0),
                self._lookup(q, "rest", self._names, "key", "{kind}_variant", 98.0),
                self._lookup(q, "road_key", self._roads, "road_key", "road_number", 95.0),
            ]
        )
        scored = self._with_district(scored, q)
        best = self._decide_exact(scored)
        pending = q.join(best.select("qi"), on="qi", how="anti")
        fuzzy = self._fuzzy_pass(pending)
        result = pl.concat([best, fuzzy], how="diagonal_relaxed")

        table = (
            q.select("qi", "norm", "dist")
            .join(result, on="qi", how="left")
            .drop("qi")
        )
        out = (
            inputs
            .join(table, on=["norm", "dist"], how="left", maintain_order="left")
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

    def _with_district(self, hits: pl.DataFrame, q: pl.DataFrame) -> pl.DataFrame:
        """Adds `in_district`: 1 when the address names no district or the candidate's."""
        return (
            hits.join(q.select("qi", "dist"), on="qi", how="left")
            .join(self._district_of, on="compound_id", how="left")
            .with_columns(((pl.col("dist") == "") | (pl.col("dist") == pl.col("c_district"))).fill_null(False)
                          .cast(pl.Int8).alias("in_district"))
            .drop("dist", "c_district")
        )

    def _decide_exact(self, scored: pl.DataFrame) -> pl.DataFrame:
        """From all exact hits per query, the decision: agreed, ambiguous or conflicting."""
        if scored.height == 0:
            return pl.DataFrame(schema={"qi": pl.Int64, "compound_id": pl.String, "score": pl.Float64,
                                        "method_detail": pl.String, "candidates": pl.String})
        family = pl.when(pl.col("detail") == "road_number").then(pl.lit("road")).otherwise(pl.lit("name"))
        per = (
            scored.group_by("qi", "compound_id")
            .agg(
                pl.col("score").max(),
                pl.col("detail").unique().sort().str.join("+")
                .str.replace("alias+alias_variant", "alias", literal=True)
                .str.replace("name+name_variant", "name", literal=True),
                # independent kinds of evidence: the name (as written or as a stem) and the
                # road + house number
                family.n_unique().alias("families"),
                (pl.col("detail") == "road_number").any().cast(pl.Int8).alias("road"),
                pl.when(pl.col("detail").str.ends_with("_variant")).then(1)
                .when(pl.col("detail") != "road_number").then(2).otherwise(0).max().alias("strength"),
                pl.col("in_district").max(),
            )
            .sort(["qi", "families", "in_district", "road", "strength", "score", "compound_id"],
                  descending=[False, True, True, True, True, True, False])
        )
        top = lambda c: pl.col(c).first()
        second = lambda c: pl.col(c).get(1, null_on_oob=True)
        agg = per.group_by("qi", maintain_order=True).agg(
            top("compound_id").alias("top_id"),
            top("score").alias("top_score"),
            top("detail").alias("top_detail"),
            *[top(c).alias(f"top_{c}") for c in ("families", "in_district", "road", "strength")],
            *[second(c).alias(f"second_{c}") for c in ("families", "in_district", "road", "strength")],
            # candidates for the reviewer, by score: the top n, or every compound tied at
            # the top (up to _MAX_TIED), so the true one is on the list
            pl.concat_str(pl.col("compound_id"), pl.lit(":"), pl.col("score").round(0).cast(pl.Int64).cast(pl.String))
            .sort_by(["score", "compound_id"], descending=[True, False])
            .filter(pl.int_range(pl.len()) < pl.max_horizontal(
                pl.lit(self.top_n), (pl.col("score") == pl.col("score").max()).sum().clip(upper_bound=_MAX_TIED)))
            .str.join("|").alias("candidates"),
        )
        # The winner must beat the runner-up on more kinds of evidence (瑞景 is two
        # compounds, but only one is at 瑞景路8号), on the district the address names, or —
        # with the same kinds of evidence — on the name as written over a mere stem. A name
        # that says A against a road + number that says B stays ambiguous.
        same_fam = pl.col("top_families") == pl.col("second_families")
        same_dist = pl.col("top_in_district") == pl.col("second_in_district")
        clear = (
            pl.col("second_families").is_null()
            | (pl.col("top_families") > pl.col("second_families"))
            | (same_fam & (pl.col("top_in_district") > pl.col("second_in_district")))
            | (same_fam & same_dist & (pl.col("top_road") == pl.col("second_road"))
               & (pl.col("top_strength") > pl.col("second_strength")))
        )
        return agg.select(
            "qi",
            pl.when(clear).then(pl.col("top_id")).alias("compound_id"),
            # Several compounds for one address: keep it for review, scored below any threshold.
            pl.when(clear).then(pl.col("top_score")).otherwise(50.0).alias("score"),
            pl.when(clear).then(pl.col("top_detail")).otherwise(pl.lit("ambiguous")).alias("method_detail"),
            "candidates",
        )

    # ---- fuzzy -------------------------------------------------------------------------
    def _fuzzy_pass(self, pending: pl.DataFrame) -> pl.DataFrame:
        """Blocked fuzzy scoring. A name part is compared only with names sharing a
        character pair (see `_skip_bigrams`); a road + number only with registry addresses
        of the same house number. Scores are rapidfuzz `ratio` (0–100)."""
        schema = {"qi": pl.Int64, "compound_id": pl.String, "score": pl.Float64,
                  "method_detail": pl.String, "candidates": pl.String}
        q_names = pending.select("qi", pl.col("rest").alias("text")).filter(pl.col("text").str.len_chars() >= 2)
        name_pairs = (
            _skip_bigrams(q_names, "text").select("qi", "text", "gram")
            .join(self._name_grams.select("gram", "compound_id", pl.col("key").alias("ref")), on="gram")
            .unique(["qi", "compound_id", "ref"])
        )
        # Same house number and the same first or second character of the road: one wrong
        # character in the road name still meets its compound.
        q_roads = pending.select("qi", pl.col("road_key").alias("text"), *_road_block_keys("road_key")).drop_nulls("number")
        road_pairs = pl.concat([
            q_roads.join(self._road_blocks.select("number", key, "compound_id", pl.col("road_key").alias("ref")),
                         on=["number", key]).select("qi", "text", "compound_id", "ref")
            for key in ("c0", "c1")
        ]).filter(pl.col("text") != pl.col("ref")).unique(["qi", "compound_id"])
        pairs = pl.concat([name_pairs.select("qi", "text", "compound_id", "ref"), road_pairs])
        if pairs.height == 0:
            return pl.DataFrame(schema=schema)
        per = (
            pl.concat([_score_chunk(chunk) for chunk in pairs.iter_slices(_PAIR_CHUNK)])
            .group_by("qi", "compound_id").agg(pl.col("score").max())
        )
        per = self._with_district(per, pending).sort(
            ["qi", "score", "in_district", "compound_id"], descending=[False, True, True, False]
        )
        if per.height == 0:
            return pl.DataFrame(schema=schema)
        agg = per.group_by("qi", maintain_order=True).agg(
            pl.col("compound_id").first().alias("top_id"),
            pl.col("score").first().alias("top_score"),
            pl.col("score").get(1, null_on_oob=True).alias("second"),
            pl.col("in_district").first().alias("top_in"),
            pl.col("in_district").get(1, null_on_oob=True).alias("second_in"),
            pl.concat_str(pl.col("compound_id"), pl.lit(":"), pl.col("score").round(0).cast(pl.Int64).cast(pl.String))
            .head(self.top_n).str.join("|").alias("candidates"),
        )
        clear = (pl.col("top_score") >= self.threshold) & (
            pl.col("second").is_null()
            | (pl.col("top_score") > pl.col("second"))
            | ((pl.col("top_score") == pl.col("second")) & (pl.col("top_in") > pl.col("second_in")))
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
