"""The public static site: one page per compound, a searchable index, street lists.

Built only from ratings, the registry's public fields and the public aggregates
(schemas/public.py); the output is plain files any static host can serve. The same
inputs give the same bytes.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import date
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import polars as pl
import yaml
from pandera.typing.polars import DataFrame

from intake.vocab import CHECKIN_KINDS, NEED_CATEGORIES, NEED_TEXT_MAX, REFUSAL_ZH
from reports.site_data import (SUPPRESSED, area_comparison, compound_base, group_counts,
                               monthly_trend, side_tables)
from reports.site_env import render_template
from reports.site_svg import sparkline, star_row
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


def street_slug(district: str, street: str) -> str:
    """Stable folder name of a street's list page."""
    return hashlib.sha1(f"{district}|{street}".encode("utf-8")).hexdigest()[:10]


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


def _compound_context(row: dict, as_of: date, intake_url: str, needs_given: bool) -> dict:
    root = "../../"
    months = row["month"]
    month_rows = [
        {"label": f"{m.year}年{m.month}月",
         "n": ("少量" if 0 < n < 3 else str(n)),
         "index": _num(v)}
        for m, n, v in zip(months, row["n_events"], row["month_index"])
    ]
    compare = [
        {"name": "本小区", "avg": _num(row["safety_index"]),
         "five": ("是" if row["stars"] == 5 else "否") if row["status"] != "not_rated" else "—"},
        {"name": row["street"] or "所在街道", "avg": _num(row["street_avg"]), "five": _pct(row["street_five"])},
        {"name": row["district"] or "所在区", "avg": _num(row["district_avg"]), "five": _pct(row["district_five"])},
        {"name": "全市", "avg": _num(row["city_avg"]), "five": _pct(row["city_five"])},
    ]
    return {
        "c": row,
        "root": root,
        "as_of_text": _cn_date(as_of),
        "as_of": as_of.isoformat(),
        "stars_html": star_row(row["stars"], row["status"]),
        "index_text": _num(row["safety_index"]),
        "groups": row["groups"] or [],
        "suppressed_word": SUPPRESSED,
        "tips": _tips(row["leading"]),
        "note": _note(row["status"], row["rules"]),
        "reply_text": row["reply_text"],
        "n_checkins": row["n_month"],
        "n_needs": row["n_needs_month"] if needs_given else None,
        "trend_svg": sparkline(months, row["n_events"], row["month_index"]),
        "month_rows": month_rows,
        "compare": compare,
        "plaque_href": _plaque_href(row["url"], root),
        "need_categories": NEED_CATEGORIES,
        "checkin_kinds": CHECKIN_KINDS,
        "refusal_zh": REFUSAL_ZH,
        "text_max": NEED_TEXT_MAX,
        "intake_url": intake_url.rstrip("/"),
    }


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


def _street_pages(folder: Path, district: str, street: str, rows: list[dict], as_of: date,
                  written: list[Path]) -> None:
    """A street's compound list, split into pages of ``STREET_PAGE_ROWS`` to stay small:
    ``s/<slug>/`` then ``s/<slug>/2/``, ``3/`` …"""
    chunks = [rows[i:i + STREET_PAGE_ROWS] for i in range(0, len(rows), STREET_PAGE_ROWS)] or [[]]
    for k, chunk in enumerate(chunks, start=1):
        root = "../../" if k == 1 else "../../../"
        here = "" if k == 1 else "../"  # from page k back to the street's folder
        html = render_template(
            "site_street.html", root=root, district=district, street=street, rows=chunk, n_total=len(rows),
            page=k, n_pages=len(chunks), as_of_text=_cn_date(as_of),
            prev_href=None if k == 1 else (here if k == 2 else f"{here}{k - 1}/"),
            next_href=None if k == len(chunks) else f"{here}{k + 1}/",
        )
        _write(folder / "index.html" if k == 1 else folder / str(k) / "index.html", html, written)


PAGE_FIELDS = ("compound_id", "name", "district", "street", "community")


def page_fingerprint(context: dict) -> str:
    """Hash of what a compound's page displays, its rating date excluded."""
    shown = {k: v for k, v in context.items() if k not in ("c", "as_of", "as_of_text")}
    shown["c"] = {k: context["c"].get(k) for k in PAGE_FIELDS}
    data = json.dumps(shown, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha1(data.encode("utf-8")).hexdigest()[:20]


def _reuse_unchanged(previous: Path, site_dir: Path, pages: pl.DataFrame, prints: dict[str, str]) -> set[str]:
    """Hard-link the pages of compounds whose fingerprint matches the previous site's."""
    try:
        before = json.loads((previous / FINGERPRINTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    reused = set()
    for compound_id, slug in pages.select("compound_id", "slug").iter_rows():
        old = previous / "c" / slug / "index.html"
        if compound_id not in prints or before.get(compound_id) != prints[compound_id] or not old.exists():
            continue
        new = site_dir / "c" / slug / "index.html"
        new.parent.mkdir(parents=True, exist_ok=True)
        if new.exists():
            new.unlink()
        try:
            os.link(old, new)  # _write replaces files by rename, so a link never changes the old release
        except OSError:
            shutil.copy2(old, new)
        reused.add(compound_id)
    return reused


def _search_index(pages: pl.DataFrame, as_of: date) -> str:
    rows = pages.select(
        "compound_id", "name", "aliases", "district", "street",
        pl.col("stars").cast(pl.Int64), "status", "slug",
    ).rows()
    # The slug is only sent when it differs from the id, to keep the file small.
    compact = [list(r[:7]) + ([r[7]] if r[7] != r[0] else []) for r in rows]
    return json.dumps({"as_of": as_of.isoformat(), "fields": SEARCH_FIELDS, "rows": compact},
                      ensure_ascii=False, separators=(",", ":"))


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
    ``previous`` (the last published site): compound pages whose figures are unchanged
    since then are reused as they are (their rating date is the date of those figures)."""
    site_dir = Path(site_dir)
    ratings, stats, monthly = Rating.validate(ratings), CompoundPublicStats.validate(stats), CompoundMonthly.validate(monthly)
    compounds = Compound.validate(compounds)
    _require(plaques, ["compound_id", "serial", "url"], "plaques")
    _require(checkins, ["compound_id", "n_month"], "checkins")
    _require(replies, ["compound_id", "reply_text"], "replies")
    _require(needs, ["compound_id", "n_needs_month"], "needs")
    labels = default_group_names()
    labels.update(group_names or {})
    base = compound_base(ratings, compounds, as_of)
    pages = (
        area_comparison(base)
        .join(group_counts(stats, as_of, list(labels), labels), on="compound_id", how="left")
        .join(monthly_trend(base, monthly, history, as_of), on="compound_id", how="left")
        .pipe(side_tables, plaques, checkins, replies, needs)
        .sort("compound_id")
    )
    written: list[Path] = []
    todo = pages if only is None else pages.filter(pl.col("compound_id").is_in(sorted(only)))
    contexts = {row["compound_id"]: _compound_context(row, as_of, intake_url, needs is not None)
                for row in todo.iter_rows(named=True)}
    prints = {cid: page_fingerprint(ctx) for cid, ctx in contexts.items()}
    reused = _reuse_unchanged(Path(previous), site_dir, pages, prints) if previous is not None else set()
    if only is None:
        _write(site_dir / FINGERPRINTS, json.dumps(prints, sort_keys=True, separators=(",", ":")), written)
    for compound_id, context in contexts.items():
        if compound_id not in reused:
            html = render_template("site_compound.html", **context)
            _write(site_dir / "c" / context["c"]["slug"] / "index.html", html, written)

    streets = (
        pages.select("district", "street", "compound_id", "name", "slug", "stars", "status", "safety_index")
        .sort("district", "street", "name", "compound_id")
        .group_by("district", "street", maintain_order=True)
        .agg(pl.struct(pl.exclude("district", "street")).alias("rows"))
    )
    districts: dict[str, list[dict]] = {}
    for s in streets.iter_rows(named=True):
        slug = street_slug(s["district"], s["street"])
        rows = [dict(r, stars_html=star_row(r["stars"], r["status"]), index_text=_num(r["safety_index"]))
                for r in s["rows"]]
        _street_pages(site_dir / "s" / slug, s["district"], s["street"], rows, as_of, written)
        districts.setdefault(s["district"], []).append({"street": s["street"], "slug": slug, "n": len(rows)})

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
