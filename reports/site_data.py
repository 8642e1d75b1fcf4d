"""The public data of a rating date: every figure a public page may show, already
suppressed (vectorised, no I/O).

Only ratings, the registry's public fields, the public aggregates, the plaque registry and
the published appeal replies go in; events never. Small counts are suppressed HERE, before
any page or chart sees them: a count of incidents under the threshold is stored as null
("少量"), and a compound's monthly counts are withheld altogether when, read together with its
category table, they would pin a hidden count to one value (``pinned``: the reasoning an
attacker would do, see tests/site/test_suppression.py). The month's needs and check-ins come
suppressed from ``governance.figures.compound_month_figures`` and are refused if they are not.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import date

import polars as pl

from governance.figures import small_public_counts
from schemas.decisions import Appeal
from schemas.governance import CompoundNeedFigures
from plaques.registry import REGISTRY_SCHEMA
from schemas.plaques import Plaque
from schemas.public import CompoundMonthly, CompoundPublicStats
from schemas.ratings import Rating
from schemas.registry import Compound
from reports.templating import BIDI_CONTROLS

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,80}$")
# The month's needs and check-ins as the page shows them (marts.compound_need_figures).
NEED_COUNTS = ["needs_received", "needs_closed", "checkins"]
NEED_COLUMNS = {"compound_id": pl.String, **dict.fromkeys(NEED_COUNTS, pl.Int64),
                "on_time_share": pl.Float64, "satisfaction_share": pl.Float64}
TEXT_COLUMNS = ["name", "aliases", "district", "street", "community", "reply_text", "label"]


def public_rules(rules) -> str:
    """What the 评定说明 page states about the rules the ratings were made with (JSON, for the
    publication's meta): star thresholds, window, veto and downgrade kinds, plaque stability."""
    return json.dumps({
        "thresholds": {str(k): v for k, v in sorted(rules.stars.thresholds.items(), reverse=True)},
        "floor": rules.stars.floor, "window_months": rules.window.months,
        "veto": [rules.label(c) for c in rules.veto.categories],
        "downgrades": [{"label": d.label, "steps": d.steps} for d in rules.downgrade.values()],
        "plaque_stability_days": rules.plaque_stability_days, "suppress_below": rules.public.suppress_below,
    }, ensure_ascii=False, sort_keys=True)


def page_slug(compound_id: str) -> str:
    """The URL name of a compound's page: the id itself when URL- and path-safe."""
    if _SAFE_ID.match(compound_id):
        return compound_id
    return "x" + hashlib.sha1(compound_id.encode("utf-8")).hexdigest()[:16]


def street_slug(district: str, street: str) -> str:
    """Stable URL name of a street's list."""
    return hashlib.sha1(f"{district}|{street}".encode()).hexdigest()[:10]


def trend_months(as_of: date) -> list[date]:
    """The first days of the 12 months ending with the month of ``as_of``."""
    idx = as_of.year * 12 + as_of.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(idx - 11, idx + 1)]


def suppressed(n: pl.Expr, below: int) -> pl.Expr:
    """``n`` with the counts 1 .. below-1 replaced by null (0 and larger counts stay)."""
    return pl.when((n > 0) & (n < below)).then(None).otherwise(n)


def pinned(shown: pl.Expr, hidden: pl.Expr, other_lo: pl.Expr, other_hi: pl.Expr, below: int) -> pl.Expr:
    """Whether a hidden cell of a table (shown sum ``shown``, ``hidden`` cells each 1..below-1)
    is pinned to one value once the table's total is known to lie in [other_lo, other_hi]
    (the range another table of the same incidents gives)."""
    top = below - 1
    lo = pl.max_horizontal(shown + hidden, other_lo)
    hi = pl.min_horizontal(shown + top * hidden, other_hi)
    cell_lo = pl.max_horizontal(pl.lit(1), lo - shown - top * (hidden - 1))
    cell_hi = pl.min_horizontal(pl.lit(top), hi - shown - (hidden - 1))
    return (hidden > 0) & (cell_lo >= cell_hi)


def _base(ratings: pl.DataFrame, compounds: pl.DataFrame, as_of: date) -> pl.DataFrame:
    r = ratings.filter(pl.col(Rating.as_of) == as_of).select(
        Rating.compound_id, Rating.name, Rating.district, Rating.street, Rating.safety_index, Rating.stars,
        Rating.status, Rating.rules)
    c = compounds.select(
        Compound.compound_id, pl.col(Compound.name).alias("reg_name"), pl.col(Compound.aliases).fill_null(""),
        pl.col(Compound.district).alias("reg_district"), pl.col(Compound.street).alias("reg_street"),
        pl.col(Compound.community).fill_null(""))
    return c.join(r, on="compound_id", how="full", coalesce=True).select(
        "compound_id",
        pl.coalesce("name", "reg_name").alias("name"),
        pl.col("aliases").fill_null(""),
        pl.coalesce("district", "reg_district").fill_null("").alias("district"),
        pl.coalesce("street", "reg_street").fill_null("").alias("street"),
        pl.col("community").fill_null(""),
        "safety_index",
        pl.col("stars").fill_null(0).cast(pl.Int8),
        pl.col("status").fill_null("not_rated"),
        pl.col("rules").fill_null(""),
    ).with_columns(
        pl.col("compound_id").map_elements(page_slug, return_dtype=pl.String).alias("slug"),
        pl.struct("district", "street").map_elements(lambda d: street_slug(d["district"], d["street"]),
                                                     return_dtype=pl.String).alias("street_slug"),
    ).sort("compound_id")


def _areas(base: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Average index and five-star share per street, district and city (rated compounds
    only): ``base`` with them joined, and one row per district plus the city (district null)."""
    rated = pl.col("status") != "not_rated"
    aggs = [pl.col("safety_index").filter(rated).mean().alias("avg"),
            (pl.col("stars") == 5).filter(rated).mean().alias("five")]
    street = base.group_by("district", "street").agg(aggs)
    with_areas = (
        base.join(street.rename({"avg": "street_avg", "five": "street_five"}), on=["district", "street"], how="left")
        .join(base.group_by("district").agg(aggs).rename({"avg": "district_avg", "five": "district_five"}),
              on="district", how="left")
    )
    counts = [pl.len().alias("n"), rated.sum().alias("n_rated"), (pl.col("stars") == 5).sum().alias("n_five"), *aggs]
    districts = pl.concat([base.group_by("district").agg(counts).sort("district"),
                           base.select(pl.lit(None, pl.String).alias("district"), *counts)], how="vertical_relaxed")
    return with_areas, districts


def _groups(stats: pl.DataFrame, as_of: date, labels: dict[str, str], below: int) -> pl.DataFrame:
    """compound_id, ord, group, label, n (null = under the threshold) of the groups with at
    least one counted incident, in display order: exact counts largest first, then the
    suppressed ones in the fixed group order (so their order does not tell a 1 from a 2)."""
    order = {g: i for i, g in enumerate(labels)}
    s = (
        stats.filter((pl.col(CompoundPublicStats.as_of) == as_of) & (pl.col(CompoundPublicStats.n) > 0))
        .group_by(CompoundPublicStats.compound_id, CompoundPublicStats.category_group)
        .agg(pl.col(CompoundPublicStats.n).sum().cast(pl.Int64))
        .rename({"category_group": "group"})
    )
    return (
        s.with_columns(
            suppressed(pl.col("n"), below).alias("n"),
            pl.col("group").replace_strict(order, default=len(order), return_dtype=pl.Int32).alias("g_ord"),
            pl.col("group").replace_strict(labels, default=pl.col("group"), return_dtype=pl.String).alias("label"),
        )
        .sort(["compound_id", "n", "g_ord", "group"], descending=[False, True, False, False], nulls_last=True)
        .with_columns(pl.int_range(pl.len()).over("compound_id").cast(pl.Int32).alias("ord"))
        .select("compound_id", "ord", "group", "label", "n")
    )


def _months(base: pl.DataFrame, monthly: pl.DataFrame, history: pl.DataFrame, as_of: date,
            below: int) -> pl.DataFrame:
    """compound_id, month, n (suppressed), safety_index: 12 months per compound."""
    months = pl.DataFrame({"month": trend_months(as_of)}, schema={"month": pl.Date})
    grid = base.select("compound_id").join(months, how="cross")
    m = monthly.filter(pl.col(CompoundMonthly.as_of) == as_of).group_by(
        CompoundMonthly.compound_id, CompoundMonthly.month
    ).agg(pl.col(CompoundMonthly.n_events).sum(), pl.col(CompoundMonthly.safety_index).last())
    h = (
        history.filter(pl.col(Rating.as_of) <= as_of)
        .with_columns(pl.col(Rating.as_of).dt.truncate("1mo").alias("month"))
        .sort(Rating.as_of)
        .group_by(Rating.compound_id, "month")
        .agg(pl.col(Rating.safety_index).last().alias("hist_index"))
    )
    return (
        grid.join(m, on=["compound_id", "month"], how="left")
        .join(h, on=["compound_id", "month"], how="left")
        .select("compound_id", "month", pl.col("n_events").fill_null(0).cast(pl.Int64).alias("n_raw"),
                pl.coalesce("safety_index", "hist_index").alias("safety_index"))
        .sort("compound_id", "month")
    )


def _withheld(groups: pl.DataFrame, months: pl.DataFrame, below: int) -> pl.DataFrame:
    """compound_id, months_withheld: True where the monthly counts, read with the category
    table, would pin a hidden count (either table's)."""
    top = below - 1

    def sums(frame: pl.DataFrame, n: str, prefix: str) -> pl.DataFrame:
        return frame.group_by("compound_id").agg(
            pl.col(n).fill_null(0).sum().cast(pl.Int64).alias(f"{prefix}_shown"),
            pl.col(n).is_null().sum().cast(pl.Int64).alias(f"{prefix}_hidden"))

    a = sums(groups, "n", "a")
    b = sums(months.with_columns(suppressed(pl.col("n_raw"), below).alias("n")), "n", "b")
    both = a.join(b, on="compound_id", how="full", coalesce=True).fill_null(0)
    a_lo, a_hi = pl.col("a_shown") + pl.col("a_hidden"), pl.col("a_shown") + top * pl.col("a_hidden")
    b_lo, b_hi = pl.col("b_shown") + pl.col("b_hidden"), pl.col("b_shown") + top * pl.col("b_hidden")
    return both.select(
        "compound_id",
        (pinned(pl.col("a_shown"), pl.col("a_hidden"), b_lo, b_hi, below)
         | pinned(pl.col("b_shown"), pl.col("b_hidden"), a_lo, a_hi, below)).alias("months_withheld"),
    )


def _need_figures(needs: pl.DataFrame | None, below: int) -> pl.DataFrame:
    """The suppressed needs figures (null: under the threshold), ``known`` where a row exists."""
    if needs is None or needs.is_empty():
        return pl.DataFrame(schema={**NEED_COLUMNS, "known": pl.Boolean})
    leaks = small_public_counts(CompoundNeedFigures.validate(needs), below)
    if leaks.height:
        raise ValueError(f"the needs figures of {leaks.height} compounds (first {leaks['compound_id'][0]}) show "
                         "or give away a count under the threshold; rebuild marts.compound_need_figures")
    return needs.select(*NEED_COLUMNS, known=pl.lit(True))


def _plaques(registry: pl.DataFrame | None, paths: dict[str, str]) -> pl.DataFrame:
    """Every plaque ever issued with its public status: ``current``, ``superseded`` (with the
    compound's current plaque) or ``withdrawn`` (a superseded plaque whose replacement was
    withdrawn since reads as withdrawn: the wall should not carry it either way)."""
    registry = pl.DataFrame(schema=REGISTRY_SCHEMA) if registry is None else registry
    active = registry.filter(pl.col(Plaque.status) == "active").select(
        Plaque.compound_id, pl.col(Plaque.serial).alias("current_serial"), pl.col(Plaque.stars).alias("current_stars"))
    status = pl.col(Plaque.status)
    superseded = (status == "superseded") & pl.col("current_serial").is_not_null()
    return registry.join(active, on=Plaque.compound_id, how="left").select(
        Plaque.serial, Plaque.compound_id, pl.col(Plaque.stars).cast(pl.Int8),
        pl.col(Plaque.rating_year).cast(pl.Int32), pl.col(Plaque.issued_on).cast(pl.Date),
        pl.col(Plaque.status_changed_on).cast(pl.Date),
        pl.when(status == "active").then(pl.lit("current")).when(superseded).then(pl.lit("superseded"))
        .otherwise(pl.lit("withdrawn")).alias("status"),
        pl.when(superseded).then(pl.col("current_serial")).alias("current_serial"),
        pl.when(superseded).then(pl.col("current_stars")).cast(pl.Int8).alias("current_stars"),
        pl.col(Plaque.serial).replace_strict(paths, default=None, return_dtype=pl.String).alias("path"),
    ).sort("serial")


def public_tables(*, as_of: date, ratings: pl.DataFrame, compounds: pl.DataFrame, stats: pl.DataFrame,
                  monthly: pl.DataFrame, history: pl.DataFrame, suppress_below: int,
                  group_labels: dict[str, str], downgrade_labels: dict[str, str],
                  plaques: pl.DataFrame | None = None, plaque_paths: dict[str, str] | None = None,
                  needs: pl.DataFrame | None = None, appeals: pl.DataFrame | None = None,
                  lapses: pl.DataFrame | None = None) -> dict[str, pl.DataFrame]:
    """The tables of the publication file (see ``reports.site_store``), suppressed.

    ``plaques``: the plaque registry of the date, ``plaque_paths`` serial -> URL path of its
    page; ``needs``: this month's public needs figures (schemas.governance.CompoundNeedFigures,
    already suppressed; a compound without a row had none); ``appeals``: valid appeals
    (schemas.decisions.Appeal); ``lapses``: compound_id, lapse_on (when its downgrades lapse if
    nothing new is recorded)."""
    below = suppress_below
    ratings, stats = Rating.validate(ratings), CompoundPublicStats.validate(stats)
    monthly, compounds = CompoundMonthly.validate(monthly), Compound.validate(compounds)
    base = _base(ratings, compounds, as_of)
    base, districts = _areas(base)
    groups = _groups(stats, as_of, group_labels, below)
    months = _months(base, monthly, history, as_of, below)
    withheld = _withheld(groups, months, below)
    base = base.join(withheld, on="compound_id", how="left").with_columns(pl.col("months_withheld").fill_null(False))
    months = months.join(base.select("compound_id", "months_withheld"), on="compound_id").select(
        "compound_id", pl.col("month").dt.strftime("%Y-%m").alias("month"),
        pl.when(pl.col("months_withheld")).then(None).otherwise(suppressed(pl.col("n_raw"), below)).alias("n"),
        pl.col("months_withheld").alias("withheld"), "safety_index")

    # Downgrade kinds by their public labels (config/rules.yaml), in the rules' order.
    fired = pl.col("rules").str.split("|")
    kinds = pl.concat_list([pl.when(fired.list.contains(f"downgrade:{k}")).then(pl.lit(label))
                            for k, label in downgrade_labels.items()] or [pl.lit(None, pl.String)]
                           ).list.drop_nulls().list.join("、")
    lapses = lapses if lapses is not None else pl.DataFrame(schema={"compound_id": pl.String, "lapse_on": pl.Date})
    base = base.join(lapses.group_by("compound_id").agg(pl.col("lapse_on").max()), on="compound_id", how="left")
    base = base.with_columns(
        pl.when(kinds != "").then(kinds).alias("downgrade_kinds"),
        pl.when(pl.col("status") == "vetoed").then(pl.lit(date(as_of.year + 1, 1, 1)))
        .when(pl.col("status") == "downgraded").then(pl.col("lapse_on")).alias("lapse_on"))

    base = base.join(_need_figures(needs, below), on="compound_id", how="left").with_columns(
        pl.when(pl.col("known").is_null()).then(0).otherwise(pl.col(c)).alias(c) for c in NEED_COUNTS)
    plaque_table = _plaques(plaques, plaque_paths or {})
    current = (plaque_table.filter(pl.col("status") == "current").sort("serial").unique("compound_id", keep="first")
               .select("compound_id", plaque_serial="serial", plaque_path="path"))
    base = base.join(current, on="compound_id", how="left")

    if appeals is None:
        appeals = pl.DataFrame(schema={c: col.dtype.type for c, col in Appeal.to_schema().columns.items()})
    reply = pl.col("reply_text").str.strip_chars()
    base = base.join(appeals.sort("filed_at").group_by("compound_id", maintain_order=True).agg(
        pl.col("filed_at").last().alias("appeal_filed"), pl.col("status").last().alias("appeal_status"),
        pl.col("outcome").last().alias("appeal_outcome"), reply.filter(reply != "").str.join("\n\n").alias("reply_text"),
    ), on="compound_id", how="left").with_columns(pl.when(pl.col("reply_text") != "").then("reply_text").alias("reply_text"))

    # Tips follow the leading groups as the page shows them (never the hidden counts).
    leading = groups.filter(pl.col("ord") < 2).group_by("compound_id").agg(
        pl.col("group").sort_by("ord").str.join("|").alias("leading"))
    base = base.join(leading, on="compound_id", how="left")
    streets = base.group_by("street_slug", "district", "street").agg(pl.len().alias("n")).sort("district", "street")
    compounds_out = base.select(
        "compound_id", "slug", "name", "aliases", "district", "street", "community", "street_slug",
        "safety_index", "stars", "status", "downgrade_kinds", "lapse_on", "months_withheld",
        "street_avg", "street_five", "district_avg", "district_five", "plaque_serial", "plaque_path",
        *list(NEED_COLUMNS)[1:],
        "appeal_filed", "appeal_status", "appeal_outcome", "reply_text", "leading",
    ).sort("compound_id")
    out = {"compounds": compounds_out, "groups": groups.drop("group"), "months": months.drop("withheld"),
           "streets": streets, "districts": districts, "plaques": plaque_table}
    # Bidirectional overrides and isolates: escaping leaves them, and they would let a name
    # reorder the text around it on the page. Public text never needs them.
    return {k: v.with_columns(pl.col(c).str.replace_all(BIDI_CONTROLS.pattern, "") for c in TEXT_COLUMNS
                              if c in v.columns)
            for k, v in out.items()}
