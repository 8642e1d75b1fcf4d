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
    """Rows of `frame` × their distinct character pairs at distance 1 and 2 starting in the
    first `_GRAM_SPAN` characters (`湖滨花` → 湖滨, 湖花, 滨花). One wrong character leaves
    most pairs intact, so a typo'd name still shares a key.

    Built on the characters of all rows laid end to end (NumPy offsets, one gather per
    distance) rather than one slice expression per position: the registry's 170,000 names
    take a fifth of the time."""
    chars = frame.get_column(col).cast(pl.String).str.split("")
    lens = chars.list.len().fill_null(0).to_numpy().astype(np.int64)
    flat = chars.filter(pl.Series(lens > 0)).list.explode()  # every character, row after row
    row = np.repeat(np.arange(lens.size), lens)
    pos = np.arange(row.size) - np.repeat(np.cumsum(lens) - lens, lens)
    length = np.repeat(lens, lens)
    parts = []
    for g in (1, 2):
        i = np.flatnonzero((pos < _GRAM_SPAN) & (pos + g < length))  # pairs inside one row
        parts.append(pl.DataFrame({"_row": row[i], "gram": flat.gather(i) + flat.gather(i + g)},
                                  schema={"_row": pl.UInt32, "gram": pl.String}))
    pairs = pl.concat(parts).unique(maintain_order=True)
    return frame.with_row_index("_row").join(pairs, on="_row", maintain_order="right").drop("_row")


_MAX_TIED = 20  # candidates listed when many compounds tie for an address
_KEEP_IN_DISTRICT = 2  # compounds of a key kept per district: the winner and the runner-up
# Exact evidence of one compound for one address, as bits (`method_detail` names them).
_NAME, _ALIAS, _NAME_VARIANT, _ALIAS_VARIANT, _ROAD = 1, 2, 4, 8, 16


def _detail_of(mask: int) -> str:
    """The `+`-joined kinds of a bit mask, as the string-based exact pass wrote them."""
    kinds = [k for k, b in (("alias", _ALIAS), ("alias_variant", _ALIAS_VARIANT), ("name", _NAME),
                            ("name_variant", _NAME_VARIANT), ("road_number", _ROAD)) if mask & b]
    return "+".join(kinds).replace("alias+alias_variant", "alias", 1).replace("name+name_variant", "name", 1)


_DETAILS = {m: _detail_of(m) for m in range(1, 32)}
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
        # (built on first use: most addresses of a night never get to the fuzzy pass)
        self._name_grams_table: pl.DataFrame | None = None
        self._road_blocks = self._roads.drop_nulls("road_key").with_columns(_road_block_keys("road_key"))
        self._build_exact_tables()
        # Results of earlier calls by (normalised address, district named): a matcher built
        # once for a run matches each distinct address once, however many slices repeat it.
        self._memo: pl.DataFrame | None = None

    # ---- exact ------------------------------------------------------------------------
    def _build_exact_tables(self) -> None:
        """Integer codes for the exact pass: compounds numbered in `compound_id` order (so
        number order is id order), districts numbered, and for each name key only the
        compounds that can matter to an address (see `_exact_pass`)."""
        ids = pl.concat([self._names.get_column("compound_id"), self._roads.get_column("compound_id")]).unique().sort()
        self._cid = ids
        code = pl.DataFrame({"compound_id": ids, "ci": pl.int_range(ids.len(), eager=True, dtype=pl.Int64)})
        districts = self._district_of.drop_nulls("c_district").unique("compound_id", keep="first", maintain_order=True)
        self._dcode = {d: i for i, d in enumerate(sorted(districts.get_column("c_district").unique().to_list()))}
        code = code.join(
            districts.select("compound_id", pl.col("c_district").replace_strict(self._dcode, return_dtype=pl.Int64).alias("cd")),
            on="compound_id", how="left",
        ).with_columns(pl.col("cd").fill_null(-1))
        self._code = code
        self._entries = self._names.join(code, on="compound_id").select(
            "ci", "cd", (pl.col("kind") == "alias").alias("is_alias"), "key_full", "key")
        self._road_of = self._roads.join(code, on="compound_id").select("ci", "road_key").drop_nulls("road_key")
        self._by_key = {col: self._reduced(col) for col in ("key_full", "key")}

    def _reduced(self, col: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        """For each key: its first `_KEEP` compounds by id, and its first `_KEEP_IN_DISTRICT`
        of each district. A compound beyond both is outranked, for every address naming the
        key, by kept compounds with the same evidence — see `_exact_pass`."""
        d = (
            self._entries.filter(pl.col(col).str.len_chars() > 0)
            .select(pl.col(col).alias("k"), "ci", "cd").unique(["k", "ci"])
            .sort("k", "ci")
            .with_columns(
                pl.int_range(pl.len()).over("k").alias("rank"),
                pl.int_range(pl.len()).over("k", "cd").alias("rank_d"),
            )
        )
        keep = max(self.top_n, _MAX_TIED)
        return (d.filter(pl.col("rank") < keep).select("k", "ci"),
                d.filter(pl.col("rank_d") < _KEEP_IN_DISTRICT).select("k", "cd", "ci"))

    def match(self, addresses: pl.Series) -> pl.DataFrame:
        """One row per input: `compound_id` (null unless accepted), `score` (0–100),
        `method_detail` (`+`-joined exact kinds: name, alias, name_variant, alias_variant,
        road_number; or fuzzy, ambiguous, below_threshold, no_match, empty), `candidates` (`id:score|…`, best first)."""
        n = addresses.len()
        raw = addresses.cast(pl.String)
        norm_all = normalize_address(raw, self.prefixes, unify_names=False)
        dist_all = (raw.str.extract(self._district_re, 1) if self._district_re else pl.repeat(None, n, dtype=pl.String, eager=True))
        inputs = pl.DataFrame({"norm": norm_all, "dist": dist_all.fill_null("")})
        # Work on distinct normalised strings, each matched once per matcher: real exports
        # repeat addresses a lot. An address's result depends on nothing but itself.
        uniq = inputs.unique().filter(pl.col("norm").str.len_chars() > 0)
        if self._memo is not None:
            uniq = uniq.join(self._memo.select("norm", "dist"), on=["norm", "dist"], how="anti")
        found = self._match_distinct(uniq.sort("norm", "dist"))
        self._memo = found if self._memo is None else pl.concat([self._memo, found])
        out = (
            inputs
            .join(self._memo, on=["norm", "dist"], how="left", maintain_order="left")
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

    def _match_distinct(self, uniq: pl.DataFrame) -> pl.DataFrame:
        """`norm, dist` (distinct, non-empty) → the same plus `compound_id, score,
        method_detail, candidates`."""
        keys = address_keys(uniq.get_column("norm"))
        q = uniq.with_columns(
            pl.Series("qi", np.arange(uniq.height)),
            unify_name(uniq.get_column("norm")).alias("stem"),
        ).hstack(keys)
        best = self._exact_pass(q)
        pending = q.join(best.select("qi"), on="qi", how="anti")
        fuzzy = self._fuzzy_pass(pending)
        result = pl.concat([best, fuzzy], how="diagonal_relaxed")
        return (
            q.select("qi", "norm", "dist")
            .join(result, on="qi", how="left")
            .select("norm", "dist", pl.col("compound_id").cast(pl.String), pl.col("score").cast(pl.Float64),
                    pl.col("method_detail").cast(pl.String), pl.col("candidates").cast(pl.String))
        )

    def _with_district(self, hits: pl.DataFrame, q: pl.DataFrame) -> pl.DataFrame:
        """Adds `in_district`: 1 when the address names no district or the candidate's."""
        return (
            hits.join(q.select("qi", "dist"), on="qi", how="left")
            .join(self._district_of, on="compound_id", how="left")
            .with_columns(((pl.col("dist") == "") | (pl.col("dist") == pl.col("c_district"))).fill_null(False)
                          .cast(pl.Int8).alias("in_district"))
            .drop("dist", "c_district")
        )

    def _exact_pass(self, q: pl.DataFrame) -> pl.DataFrame:
        """Exact keys, strongest first: the name as written (score 100), its stem (花園/小区/苑
        variants, 98), road + house number (95). Per address and compound the evidence is a
        bit mask; the decision follows `_decide`.

        A name key can be shared by hundreds of compounds (嘉禾, 莲花 …). Only a key's first
        `max(top_n, _MAX_TIED)` compounds by id and its first `_KEEP_IN_DISTRICT` per district
        are looked at: any other compound naming the key has, in its list, at least two kept
        compounds of its own district with as strong evidence and a smaller id (so it is
        neither winner nor runner-up) and at least `_MAX_TIED` kept ones scoring as high with
        a smaller id (so it is not among the candidates listed). Road + number keys are
        few per compound and kept whole; a kept compound's evidence is then gathered from all
        of its names, so nothing it has is lost."""
        qd = (
            pl.when(pl.col("dist") == "").then(-2)
            .otherwise(pl.col("dist").replace_strict(self._dcode, default=-1, return_dtype=pl.Int64))
        )
        q = q.with_columns(qd.alias("qd"))
        name_lookups = [("norm", "key_full"), ("rest_full", "key_full"), ("stem", "key"), ("rest", "key")]
        pairs = []
        for qcol, tcol in name_lookups:
            first, per_district = self._by_key[tcol]
            k = q.select("qi", "qd", pl.col(qcol).alias("k")).filter(pl.col("k").str.len_chars() > 0)
            pairs.append(k.join(first, on="k").select("qi", "ci"))
            pairs.append(k.join(per_district, left_on=["k", "qd"], right_on=["k", "cd"]).select("qi", "ci"))
        roads = q.select("qi", pl.col("road_key")).filter(pl.col("road_key").str.len_chars() > 0)
        pairs.append(roads.join(self._road_of, on="road_key").select("qi", "ci"))
        kept = pl.concat(pairs).unique()
        if kept.height == 0:
            return pl.DataFrame(schema={"qi": pl.Int64, "compound_id": pl.String, "score": pl.Float64,
                                        "method_detail": pl.String, "candidates": pl.String})

        # All the evidence of each kept compound: every name entry, and its road + number.
        qk = q.select("qi", "qd", "norm", "rest_full", "stem", "rest", "road_key")
        hit = lambda a, b: (pl.col(a) == pl.col(b)).fill_null(False) & (pl.col(a).str.len_chars() > 0)
        def variant(qcol: str) -> pl.Expr:
            # One kind per lookup, the name before the alias (as the key table lists them).
            name = (hit(qcol, "key") & ~pl.col("is_alias")).any()
            alias = (hit(qcol, "key") & pl.col("is_alias")).any()
            return pl.when(name).then(_NAME_VARIANT).when(alias).then(_ALIAS_VARIANT).otherwise(0)
        full = hit("norm", "key_full") | hit("rest_full", "key_full")
        names = (
            kept.join(qk, on="qi").join(self._entries.drop("cd"), on="ci")
            .group_by("qi", "ci")
            .agg(
                (pl.when(full & ~pl.col("is_alias")).then(_NAME).otherwise(0).max()
                 | pl.when(full & pl.col("is_alias")).then(_ALIAS).otherwise(0).max()
                 | variant("stem") | variant("rest")).alias("mask")
            )
        )
        road = (
            kept.join(roads, on="qi").join(self._road_of, on=["ci", "road_key"])
            .select("qi", "ci", pl.lit(_ROAD).alias("mask"))
        )
        per = (
            pl.concat([names, road], how="vertical_relaxed")
            .group_by("qi", "ci").agg(pl.col("mask").sum())  # disjoint bits: the sum is the union
            .filter(pl.col("mask") > 0)
            .join(q.select("qi", "qd"), on="qi")
            .join(self._code.select("ci", "cd"), on="ci")
        )
        return self._decide(per)

    def _decide(self, per: pl.DataFrame) -> pl.DataFrame:
        """From the evidence of each (address, compound), the decision: agreed, ambiguous or
        conflicting. `per`: qi, ci, mask, qd (the district the address names: -2 none), cd."""
        mask = pl.col("mask")
        name_fam = (mask & (_NAME | _ALIAS | _NAME_VARIANT | _ALIAS_VARIANT)) > 0
        road = (mask & _ROAD) > 0
        per = per.select(
            "qi", "ci", "mask",
            # independent kinds of evidence: the name (as written or as a stem) and the road +
            # house number
            (name_fam.cast(pl.Int8) + road.cast(pl.Int8)).alias("families"),
            ((pl.col("qd") == -2) | (pl.col("qd") == pl.col("cd"))).cast(pl.Int8).alias("in_district"),
            road.cast(pl.Int8).alias("road"),
            pl.when((mask & (_NAME | _ALIAS)) > 0).then(2).when(name_fam).then(1).otherwise(0)
            .cast(pl.Int8).alias("strength"),
            pl.when((mask & (_NAME | _ALIAS)) > 0).then(100.0).when(name_fam).then(98.0).otherwise(95.0).alias("score"),
        )
        ranked = per.sort(["qi", "families", "in_district", "road", "strength", "score", "ci"],
                          descending=[False, True, True, True, True, True, False])
        features = ("families", "in_district", "road", "strength")
        agg = ranked.group_by("qi", maintain_order=True).agg(
            pl.col("ci").first().alias("top_ci"),
            pl.col("score").first().alias("top_score"),
            pl.col("mask").first().alias("top_mask"),
            *[pl.col(c).first().alias(f"top_{c}") for c in features],
            *[pl.col(c).get(1, null_on_oob=True).alias(f"second_{c}") for c in features],
        )
        # Candidates for the reviewer, by score: the top n, or every compound tied at the top
        # (up to _MAX_TIED), so the true one is on the list.
        by_score = per.select("qi", "ci", "score").sort(["qi", "score", "ci"], descending=[False, True, False])
        shown = pl.max_horizontal(pl.lit(self.top_n),
                                  (pl.col("score") == pl.col("score").max()).sum().over("qi").clip(upper_bound=_MAX_TIED))
        cands = (
            by_score.filter(pl.int_range(pl.len()).over("qi") < shown)
            .with_columns(pl.col("ci").replace_strict(pl.int_range(self._cid.len(), eager=True), self._cid,
                                                      return_dtype=pl.String).alias("cid"))
            .group_by("qi", maintain_order=True)
            .agg(pl.concat_str(pl.col("cid"), pl.lit(":"), pl.col("score").round(0).cast(pl.Int64).cast(pl.String))
                 .str.join("|").alias("candidates"))
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
        top_id = pl.col("top_ci").replace_strict(pl.int_range(self._cid.len(), eager=True), self._cid,
                                                 return_dtype=pl.String)
        return agg.join(cands, on="qi", how="left").select(
            "qi",
            pl.when(clear).then(top_id).alias("compound_id"),
            # Several compounds for one address: keep it for review, scored below any threshold.
            pl.when(clear).then(pl.col("top_score")).otherwise(50.0).alias("score"),
            pl.when(clear).then(pl.col("top_mask").replace_strict(_DETAILS, return_dtype=pl.String))
            .otherwise(pl.lit("ambiguous")).alias("method_detail"),
            "candidates",
        )

    # ---- fuzzy -------------------------------------------------------------------------
    @property
    def _name_grams(self) -> pl.DataFrame:
        if self._name_grams_table is None:
            grams = _skip_bigrams(self._names, "key")
            self._name_grams_table = grams.join(
                grams.group_by("gram").len().filter(pl.col("len") <= self.max_block).drop("len"), on="gram",
            )
        return self._name_grams_table

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
