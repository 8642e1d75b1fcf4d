"""Every template of the public site renders hostile text inert: markup, quotes and
bidirectional overrides in any public field come out as plain text."""
from __future__ import annotations

from pathlib import Path

import polars as pl

import reports
from intake.store import StoredNeed
from reports.site import page_paths, render
from reports.site_store import Publication
from reports.templating import render_template
from tests.site import frames

HOSTILE = "<script>window.__pwned=1</script>\"'><img src=x onerror=\"window.__pwned=2\">\u202egnp.exe\u2066&amp;"
SHOWN = "&lt;script&gt;window.__pwned=1&lt;/script&gt;&#34;&#39;&gt;&lt;img src=x onerror=&#34;window.__pwned=2&#34;&gt;gnp.exe&amp;amp;"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"
TEMPLATES = {"site_base.html", "site_index.html", "site_compound.html", "site_street.html", "site_plaque.html",
             "site_404.html", "site_about.html", "site_appeal.html", "site_receipt.html", "site_refusal.html"}


def hostile_publication(folder) -> Publication:
    text = pl.lit(HOSTILE)
    compounds = frames.compounds().with_columns(
        (pl.lit(HOSTILE) + pl.col("compound_id")).alias("name"), text.alias("aliases"), text.alias("district"),
        text.alias("street"), text.alias("community"))
    ratings = frames.ratings().with_columns((pl.lit(HOSTILE) + pl.col("compound_id")).alias("name"),
                                            text.alias("district"), text.alias("street"))
    appeals = frames.appeals().with_columns(text.alias("reply_text"))
    return Publication(frames.publication(folder, compounds=compounds, ratings=ratings, appeals=appeals,
                                          history=ratings, group_labels={g: HOSTILE for g in frames.GROUPS}))


def test_the_test_covers_every_site_template():
    folder = Path(reports.__file__).with_name("templates")
    assert {p.name for p in folder.glob("site_*")} == TEMPLATES


def test_every_page_shows_hostile_text_as_text(tmp_path):
    pub = hostile_publication(tmp_path)
    bodies = {path: render(pub, path).body for path in page_paths(pub) if not path.endswith(".svg")}
    bodies["404"] = render(pub, "/nothing").body
    bodies["receipt"] = render_template("site_receipt.html", receipt_url=None, need=StoredNeed(
        "N20261123-000001", "k", "XM-001", HOSTILE, HOSTILE, "2026-11-23"))
    bodies["refusal"] = render_template("site_refusal.html", message=HOSTILE, error=HOSTILE)
    compound_pages = [p for p in bodies if p.startswith("/c/")]
    assert len(compound_pages) == 5 and any(p.startswith("/s/") for p in bodies) and any(p.startswith("/p/") for p in bodies)
    for path, body in bodies.items():
        if path == "/search.json":
            continue
        assert "<script>window" not in body and "<img src=x" not in body and 'onerror="' not in body, path
        assert not any(c in body for c in BIDI), path
        if path.startswith(("/c/", "/s/")) or path in ("receipt", "refusal", "/index.html"):
            assert SHOWN in body, path
    assert SHOWN in bodies["/c/XM-004.html"].split('class="reply"')[1]  # the published reply
    assert SHOWN in bodies["/c/XM-001.html"].split('id="h-groups"')[1]  # the category labels
    # search.json is data for the index's script, which inserts it with textContent.
    assert "\\u202e" not in bodies["/search.json"] and "<script>" in bodies["/search.json"]


def test_hostile_text_cannot_break_the_chart(tmp_path):
    pub = hostile_publication(tmp_path)
    svg = render(pub, "/c/XM-001.trend.svg").body
    assert "<script" not in svg and "window.__pwned" not in svg
