"""The public static site: one page per compound, a searchable index, street lists.

Built only from ratings, the registry's public fields and the public aggregates
(schemas/public.py); the output is plain files any static host can serve. The same
inputs give the same bytes.
"""
from __future__ import annotations

import hashlib
import json
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import polars as pl
import yaml
from markupsafe import Markup, escape
from pandera.typing.polars import DataFrame

from intake.vocab import NEED_CATEGORIES, NEED_TEXT_MAX, REFUSAL_ZH
from reports.site_data import (
    SUPPRESSED,
    area_comparison,
    compound_base,
    group_counts,
    monthly_trend,
    side_tables,
    trend_months,
)
from reports.site_env import render_template, site_env
from reports.site_page import (
    Pattern,
    cn_month,
    esc,
    format_each,
    link_files,
    new_folder,
    page_pattern,
    part,
    write_files,
)
from reports.site_svg import sparklines, star_row
from schemas.public import CompoundMonthly, CompoundPublicStats
from schemas.ratings import Rating
from schemas.registry import Compound

TIPS_FILE = Path(__file__).with_name("site_tips.yaml")
TAXONOMY_FILE = Path(__file__).resolve().parents[1] / "config" / "taxonomy.yaml"
MAX_PAGE_BYTES = 100 * 1024
# Per-compound hashes of everything a compound's page shows: a nightly run re-renders only
# the pages whose figures changed and reuses (hard-links) the others from the last release.
FINGERPRINTS = "_fingerprints.json"
STREET_PAGE_ROWS = 200
PAGE_CHUNK = 4096  # compound pages filled and written per batch (bounds memory)
SEARCH_FIELDS = ["id", "name", "aliases", "district", "street", "stars", "status", "slug"]


@lru_cache(maxsize=1)
def site_texts() -> dict:
    """The tips, notes and labels of ``reports/site_tips.yaml``."""
    return yaml.safe_load(TIPS_FILE.read_text(encoding="utf-8"))


def default_group_names() -> dict[str, str]:
    """Group → public label from ``config/taxonomy.yaml`` (group itself when absent)."""
    if not TAXONOMY_FILE.exists():
        return {}
    groups = (yaml.safe_load(TAXONOMY_FILE.read_text(encoding="utf-8")) or {}).get("groups") or {}
    return {g: (v or {}).get("public", g) for g, v in groups.items()}


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{round(x * 100)}%"


def compound_page(slug: str) -> str:
    """Where a compound's page lives in the site: one file per compound in one folder. (A
    folder per page would cost a night 100,000 new folders in the new release, the file
    system's slowest operation; a reused page is one hard link.)"""
    return f"c/{slug}.html"


def street_slug(district: str, street: str) -> str:
    """Stable folder name of a street's list page."""
    return hashlib.sha1(f"{district}|{street}".encode()).hexdigest()[:10]


def _plaque_href(url: str | None, root: str) -> str | None:
    """A site-relative link to the plaque's verification page, whatever host it names."""
    if not url:
        return None
    path = urlsplit(url).path if "://" in url else url
    path = path if path.endswith("/") or path.endswith(".html") else path + "/"
    # Verification pages live under the site's own p/ folder, whatever prefix the
    # printed URL carries, so the link works on any host and under any path.
    at = path.rfind("/p/")
    if at >= 0:
        return root + path[at + 1:]
    return root + path.lstrip("/") if path.startswith("/") else path


def _note(status: str, rules: str) -> str | None:
    notes = site_texts()["notes"]
    if status == "vetoed":
        return notes["vetoed"]
    if status == "not_rated":
        return notes["not_rated"]
    if status != "downgraded":
        return None
    labels = site_texts()["downgrade_labels"]
    kinds = []
    for rule in (rules or "").split("|"):
        kind, _, key = rule.partition(":")
        if kind == "downgrade" and key in labels and labels[key] not in kinds:
            kinds.append(labels[key])
    return notes["downgraded"] + (notes["downgraded_kinds"].format(kinds="、".join(kinds)) if kinds else "")


def _tips(leading: list[str] | None) -> list[str]:
    tips = site_texts()["tips"]
    chosen = [t for g in (leading or []) for t in tips.get(g, [])]
    return chosen or tips["general"]


def _pattern_values(frame: pl.DataFrame, as_of: date, intake_url: str, needs_given: bool) -> pl.DataFrame:
    """Every compound page's slot values (escaped markup), computed column-wise."""
    parts = site_env().get_template("site_parts.html").module
    months = trend_months(as_of)
    once = (lambda func: (lambda s: format_each(s, func)))  # Python formatting per distinct value
    stars = once(lambda d: str(star_row(d["stars"], d["status"])))(frame.select(pl.struct("stars", "status")).to_series())
    note = once(lambda d: _note(d["status"], d["rules"]))(frame.select(pl.struct("status", "rules")).to_series())
    tips = once(lambda g: "".join(str(parts.tip(t)) for t in _tips(g)))(frame["leading"])
    href = once(lambda u: _plaque_href(u, "../"))(frame["url"])
    num = once(_num)
    month = (
        frame.select(pl.col("n_events").alias("n"), pl.col("month_index").alias("v"))
        .with_row_index("_r").explode("n", "v")
        .with_columns(pl.int_range(pl.len()).over("_r").alias("_i"))
    )
    month = month.with_columns(
        pl.Series([cn_month(m) for m in months]).gather(month["_i"]).alias("label"),
        pl.when((pl.col("n") > 0) & (pl.col("n") < 3)).then(pl.lit("少量")).otherwise(pl.col("n").cast(pl.String)).alias("n"),
        num(month["v"]).alias("index"),
    ).group_by("_r", maintain_order=True).agg(
        part("month_row", "label", "n", "index").fill({"label": pl.col("label"), "n": pl.col("n"), "index": pl.col("index")})
        .str.join("").alias("month_rows")
    ).sort("_r")
    groups = (
        frame.select(pl.col("groups")).with_row_index("_r").explode("groups").unnest("groups")
        .filter(pl.col("label").is_not_null())
        .group_by("_r", maintain_order=True).agg(
            part("group_row", "label", "shown").fill({"label": esc(pl.col("label")), "shown": esc(pl.col("shown"))})
            .str.join("").alias("rows"))
    )
    groups = frame.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_r")).join(groups, on="_r", how="left")
    compare_row = part("compare_row", "name", "avg", "five")
    index_text = num(frame["safety_index"])
    five_self = (pl.when(pl.col("status") == "not_rated").then(pl.lit("—"))
                 .when(pl.col("stars") == 5).then(pl.lit("是")).otherwise(pl.lit("否")))
    needs = part("needs_line", "n").fill({"n": pl.col("n_needs_month").cast(pl.String)}) if needs_given else pl.lit("")
    reply = pl.col("reply_text")
    return frame.select(
        "compound_id", "slug",
        esc(pl.col("name")).alias("name"),
        pl.concat_str(esc(pl.col("district")),
                      pl.when(pl.col("street") != "").then(pl.lit(" · ") + esc(pl.col("street"))).otherwise(pl.lit("")),
                      pl.when(pl.col("community") != "").then(pl.lit(" · ") + esc(pl.col("community"))).otherwise(pl.lit(""))
                      ).alias("place"),
        stars.alias("stars_html"),
        index_text.alias("index_text"),
        pl.when(note.is_not_null()).then(part("note", "text").fill({"text": esc(pl.lit(note))})).otherwise(pl.lit("")).alias("note"),
        sparklines("n_events", "month_index", months, frame).alias("trend_svg"),
        month["month_rows"],
        pl.when(groups["rows"].is_not_null())
        .then(part("groups_table", "rows", "suppressed_word").fill({"rows": pl.lit(groups["rows"]), "suppressed_word": str(escape(SUPPRESSED))}))
        .otherwise(pl.lit(str(parts.no_groups()))).alias("groups"),
        compare_row.fill({"name": "本小区", "avg": pl.lit(index_text), "five": five_self}).alias("compare_self"),
        pl.concat_str(
            compare_row.fill({"name": pl.when(pl.col("street") != "").then(esc(pl.col("street"))).otherwise(pl.lit("所在街道")),
                              "avg": pl.lit(num(frame["street_avg"])), "five": pl.lit(format_each(frame["street_five"], _pct))}),
            compare_row.fill({"name": pl.when(pl.col("district") != "").then(esc(pl.col("district"))).otherwise(pl.lit("所在区")),
                              "avg": pl.lit(num(frame["district_avg"])), "five": pl.lit(format_each(frame["district_five"], _pct))}),
            compare_row.fill({"name": "全市", "avg": pl.lit(num(frame["city_avg"])), "five": pl.lit(format_each(frame["city_five"], _pct))}),
        ).alias("compare_areas"),
        tips.alias("tips"),
        pl.when(reply.is_not_null() & (reply != "")).then(part("reply", "text").fill({"text": esc(reply)}))
        .otherwise(pl.lit("")).alias("reply"),
        pl.col("n_month").cast(pl.String).alias("n_checkins"),
        pl.when(href.is_not_null()).then(part("plaque_link", "href").fill({"href": esc(pl.lit(href))}))
        .otherwise(pl.lit("")).alias("plaque_link"),
        esc(pl.col("compound_id")).alias("compound_id_html"),
        needs.alias("needs_line"),
    )


# The slots of site_compound.html filled per compound; the rating date is filled per run.
# A page is reused while the slots it shows about its own compound are unchanged: it keeps
# its rating date, and says its area averages (street, district, city: they move a little
# almost every night, for every compound of the area) are those of that date.
PAGE_SLOTS = ["name", "place", "stars_html", "index_text", "note", "trend_svg", "month_rows", "groups",
              "compare_self", "compare_areas", "tips", "reply", "n_checkins", "plaque_link", "compound_id", "needs_line"]
DATE_SLOTS = ["as_of", "as_of_text"]
AS_OF_PAGE_DATE = ["compare_areas"]


def _page_pattern(intake_url: str) -> Pattern:
    return page_pattern(
        "site_compound.html", PAGE_SLOTS + DATE_SLOTS, root="../", suppressed_word=SUPPRESSED,
        need_categories=NEED_CATEGORIES, refusal_zh=REFUSAL_ZH,
        text_max=NEED_TEXT_MAX, intake_url=intake_url.rstrip("/"),
        # The officers' check-in page is the intake service's, beside its API.
        officer_url=intake_url.rstrip("/").removesuffix("/api") + "/officer/",
    )


def _fingerprints(values: pl.DataFrame, pattern: Pattern) -> pl.Series:
    """A 128-bit hash of what each page shows about its compound (rating date and area
    averages aside) and of the page's markup (a template change re-renders every page)."""
    shown = values.select(pl.lit(pattern.digest).alias("_markup"),
                          *[pl.col("compound_id_html" if s == "compound_id" else s)
                            for s in PAGE_SLOTS if s not in AS_OF_PAGE_DATE])
    a, b = shown.hash_rows(seed=11), shown.hash_rows(seed=29)
    return pl.select(pl.concat_str(pl.lit(a).cast(pl.String), pl.lit("-"), pl.lit(b).cast(pl.String))).to_series()


def _require(frame: pl.DataFrame | None, columns: list[str], name: str) -> None:
    missing = [c for c in columns if frame is not None and c not in frame.columns]
    if missing:
        raise ValueError(f"{name} frame lacks column(s) {', '.join(missing)}; expected {', '.join(columns)}")


def _write(path: Path, text: str, written: list[Path]) -> None:
    """Write ``text`` unless the file already holds these bytes (keeps mtimes for sync)."""
    data = text.encode("utf-8")
    if len(data) > MAX_PAGE_BYTES and path.suffix == ".html":
        raise ValueError(f"{path} would be {len(data)} bytes, over the {MAX_PAGE_BYTES}-byte page budget")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != data:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)  # atomic: the server never reads half a page
    written.append(path)


def _street_pages(site_dir: Path, pages: pl.DataFrame, as_of: date, written: list[Path]) -> dict[str, list[dict]]:
    """Each street's compound list, split into pages of ``STREET_PAGE_ROWS`` to stay small:
    ``s/<slug>/`` then ``s/<slug>/2/``, ``3/`` …; returns the streets of each district."""
    row = part("street_row", "root", "slug", "name", "stars_html", "index_text")
    rows = (
        pages.select("district", "street", "compound_id", "name", "slug", "stars", "status", "safety_index")
        .sort("district", "street", "name", "compound_id")
        .with_columns((pl.int_range(pl.len()).over("district", "street") // STREET_PAGE_ROWS + 1).alias("page"))
    )
    stars = format_each(rows.select(pl.struct("stars", "status")).to_series(), lambda d: str(star_row(d["stars"], d["status"])))
    rows = rows.with_columns(row.fill({
        "root": pl.when(pl.col("page") == 1).then(pl.lit("../../")).otherwise(pl.lit("../../../")),
        "slug": esc(pl.col("slug")), "name": esc(pl.col("name")),
        "stars_html": pl.lit(stars), "index_text": pl.lit(format_each(rows["safety_index"], _num)),
    }).alias("html"))
    chunks = (
        rows.group_by("district", "street", "page", maintain_order=True)
        .agg(pl.col("html").str.join(""), pl.len().alias("n"))
        .with_columns(pl.col("n").sum().over("district", "street").alias("n_total"),
                      pl.col("page").max().over("district", "street").alias("n_pages"))
    )
    districts: dict[str, list[dict]] = {}
    for district, street, k, html, _, n_total, n_pages in chunks.iter_rows():
        slug = street_slug(district, street)
        folder = site_dir / "s" / slug
        here = "" if k == 1 else "../"  # from page k back to the street's folder
        page = render_template(
            "site_street.html", root="../../" if k == 1 else "../../../", district=district, street=street,
            rows=Markup(html), n_total=n_total, page=k, n_pages=n_pages, as_of_text=_cn_date(as_of),
            prev_href=None if k == 1 else (here if k == 2 else f"{here}{k - 1}/"),
            next_href=None if k == n_pages else f"{here}{k + 1}/",
        )
        _write(folder / "index.html" if k == 1 else folder / str(k) / "index.html", page, written)
        if k == 1:
            districts.setdefault(district, []).append({"street": street, "slug": slug, "n": n_total})
    return districts


def _unchanged(previous: Path, values: pl.DataFrame) -> pl.Series:
    """Which rows of ``values`` show what their page in the previous site showed (same
    fingerprint); all False when that site has no readable fingerprints."""
    none = pl.Series("unchanged", [False] * values.height)
    try:
        before = json.loads((previous / FINGERPRINTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return none
    if not isinstance(before, dict):
        return none
    old = pl.DataFrame({"compound_id": list(before), "_before": [str(v) for v in before.values()]},
                       schema={"compound_id": pl.String, "_before": pl.String})
    return (values.select("compound_id", "fingerprint").join(old, on="compound_id", how="left", maintain_order="left")
            .select((pl.col("_before") == pl.col("fingerprint")).fill_null(False).alias("unchanged")).to_series())


def _link_pages(previous: Path, site_dir: Path, slugs: list[str]) -> list[bool]:
    """Hard-link these pages of the previous site into this one (its page folder exists);
    which ones were linked. One thread: the links share one folder, whose lock serialises them."""
    return link_files([str(previous / compound_page(s)) for s in slugs],
                      [str(site_dir / compound_page(s)) for s in slugs], workers=1, fresh=True)


def _write_compound_pages(site_dir: Path, values: pl.DataFrame, pattern: Pattern, as_of: date,
                          files: ThreadPoolExecutor, fresh: bool) -> tuple[list[Path], list[Future]]:
    """Fill the page pattern for every row of ``values``, in chunks (bounded memory), and hand
    each chunk's pages to the ``files`` thread to write; returns their paths in row order and
    the writes under way. ``fresh``: the page folder was made by this run and holds none of
    these pages."""
    fill = pattern.fill({**{s: pl.col("compound_id_html" if s == "compound_id" else s) for s in PAGE_SLOTS},
                         "as_of": as_of.isoformat(), "as_of_text": _cn_date(as_of)})
    written: list[Path] = []
    writes: list[Future] = []
    for start in range(0, values.height, PAGE_CHUNK):
        chunk = values.slice(start, PAGE_CHUNK).select("slug", fill.alias("html"))
        sizes = chunk["html"].str.len_bytes()
        if sizes.max() > MAX_PAGE_BYTES:
            at = int(sizes.arg_max())
            path = site_dir / compound_page(chunk["slug"][at])
            raise ValueError(f"{path} would be {sizes[at]} bytes, over the {MAX_PAGE_BYTES}-byte page budget")
        paths = [site_dir / compound_page(s) for s in chunk["slug"]]
        writes.append(files.submit(write_files, [str(p) for p in paths], chunk["html"].cast(pl.Binary).to_list(), 1,
                                   fresh))
        written += paths
    return written, writes


def _search_index(pages: pl.DataFrame, as_of: date) -> str:
    rows = pages.select(
        "compound_id", "name", "aliases", "district", "street",
        pl.col("stars").cast(pl.Int64), "status", "slug",
    ).rows()
    # The slug is only sent when it differs from the id, to keep the file small.
    compact = [list(r[:7]) + ([r[7]] if r[7] != r[0] else []) for r in rows]
    return json.dumps({"as_of": as_of.isoformat(), "fields": SEARCH_FIELDS, "rows": compact},
                      ensure_ascii=False, separators=(",", ":"))


def site_pages(*, as_of: date, ratings: DataFrame[Rating], compounds: DataFrame[Compound],
               stats: DataFrame[CompoundPublicStats], monthly: DataFrame[CompoundMonthly],
               history: DataFrame[Rating], plaques: pl.DataFrame | None = None,
               checkins: pl.DataFrame | None = None, replies: pl.DataFrame | None = None,
               group_names: dict[str, str] | None = None, needs: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per compound page with everything it shows (``render_site``'s inputs)."""
    ratings, stats, monthly = Rating.validate(ratings), CompoundPublicStats.validate(stats), CompoundMonthly.validate(monthly)
    compounds = Compound.validate(compounds)
    _require(plaques, ["compound_id", "serial", "url"], "plaques")
    _require(checkins, ["compound_id", "n_month"], "checkins")
    _require(replies, ["compound_id", "reply_text"], "replies")
    _require(needs, ["compound_id", "n_needs_month"], "needs")
    labels = default_group_names()
    labels.update(group_names or {})
    base = compound_base(ratings, compounds, as_of)
    return (
        area_comparison(base)
        .join(group_counts(stats, as_of, list(labels), labels), on="compound_id", how="left")
        .join(monthly_trend(base, monthly, history, as_of), on="compound_id", how="left")
        .pipe(side_tables, plaques, checkins, replies, needs)
        .sort("compound_id")
    )


def render_site(site_dir: Path, *, as_of: date, ratings: DataFrame[Rating], compounds: DataFrame[Compound],
                stats: DataFrame[CompoundPublicStats], monthly: DataFrame[CompoundMonthly],
                history: DataFrame[Rating], plaques: pl.DataFrame | None = None,
                checkins: pl.DataFrame | None = None, replies: pl.DataFrame | None = None,
                group_names: dict[str, str] | None = None, intake_url: str = "/api",
                only: set[str] | None = None, needs: pl.DataFrame | None = None,
                previous: Path | None = None) -> list[Path]:
    """Render the public site into ``site_dir``; returns every file rendered.

    ``only`` re-renders just those compounds' pages (plus the index, street lists and
    search.json, whose bytes are rewritten only when they change). Groups with no
    counted incident are not listed; 1–2 read "少量". ``needs`` (optional, the first
    frame of ``intake.export.read_intake``) adds the residents' needs this month.
    ``previous`` (the last published site): compound pages whose own figures are unchanged
    since then are reused as they are (hard links); such a page keeps the rating date of its
    figures and says so, and shows the area averages of that date."""
    site_dir = Path(site_dir)
    pages = site_pages(as_of=as_of, ratings=ratings, compounds=compounds, stats=stats, monthly=monthly,
                       history=history, plaques=plaques, checkins=checkins, replies=replies,
                       group_names=group_names, needs=needs)
    written: list[Path] = []
    todo = pages if only is None else pages.filter(pl.col("compound_id").is_in(sorted(only)))
    pattern = _page_pattern(intake_url)
    values = _pattern_values(todo, as_of, intake_url, needs is not None)
    values = values.with_columns(_fingerprints(values, pattern).alias("fingerprint"))
    (site_dir / "c").parent.mkdir(parents=True, exist_ok=True)
    fresh = new_folder(str(site_dir / "c"))  # a new folder: its pages are created, never compared
    if only is None:
        prints = dict(zip(values["compound_id"].to_list(), values["fingerprint"].to_list()))
        _write(site_dir / FINGERPRINTS, json.dumps(prints, sort_keys=True, separators=(",", ":")), written)
    reuse = _unchanged(Path(previous), values) if previous is not None else pl.Series([False] * values.height)
    values = values.with_row_index("_r")
    # All compound pages share one folder, whose lock serialises making entries in it:
    # threads would only contend for it (measured: 4 threads spend 10x the kernel time of
    # one). So one thread links the unchanged pages and writes the changed ones, while this
    # one fills the next chunk of pages and writes the street lists.
    with ThreadPoolExecutor(max_workers=1) as files:
        same = values.filter(reuse).select("_r", "slug")
        linking = files.submit(_link_pages, Path(previous), site_dir, same["slug"].to_list()) if same.height else None
        pages_written, writes = _write_compound_pages(site_dir, values.filter(~reuse), pattern, as_of, files, fresh)
        others: list[Path] = []
        districts = _street_pages(site_dir, pages, as_of, others)
        linked = linking.result() if linking is not None else []
        gone = same.filter(~pl.Series(linked, dtype=pl.Boolean))  # no longer in the previous site: render
        if gone.height:
            more, also = _write_compound_pages(site_dir, values.filter(pl.col("_r").is_in(gone["_r"])),
                                               pattern, as_of, files, fresh)
            pages_written, writes = pages_written + more, writes + also
            order = {p: i for i, p in enumerate(site_dir / compound_page(s) for s in values["slug"])}
            pages_written.sort(key=order.__getitem__)
        for write in writes:
            write.result()  # raise any error of the writes
    written += pages_written + others

    summary = (
        pages.group_by("district").agg(
            pl.len().alias("n"),
            (pl.col("status") != "not_rated").sum().alias("n_rated"),
            (pl.col("stars") == 5).sum().alias("n_five"),
            pl.col("safety_index").mean().alias("avg"),
        ).sort("district")
    )
    district_rows = [dict(r, five_pct=_pct(r["n_five"] / r["n_rated"] if r["n_rated"] else None), avg_text=_num(r["avg"]))
                     for r in summary.iter_rows(named=True)]
    _write(site_dir / "search.json", _search_index(pages, as_of), written)
    _write(site_dir / "index.html", render_template(
        "site_index.html", root="", as_of_text=_cn_date(as_of), districts=districts,
        district_rows=district_rows, n_compounds=pages.height,
        n_five=int((pages["stars"] == 5).sum()),
    ), written)
    return written
