"""The analyst report and its explanation pages read entirely in Chinese (issue 19: the explain
pages mixed in "it would hold 4 stars", "weighted harm"). Only identifiers stay as they are:
compound ids, event ids (``source:record``) and the ruleset version."""
from __future__ import annotations

import re
from html.parser import HTMLParser

ID = re.compile(r"\b(police|procuratorate|court|justice|petition|intake):[^\s<，；、]+|\bXM\d+\b|规则版本 [0-9a-f]+")
LATIN = re.compile(r"[A-Za-z]{2,}")
ALLOWED = {"JSON"}  # a quarantine reason names the file format


class _Visible(HTMLParser):
    """The text a reader sees: no style, script or chart markup, no attributes."""

    def __init__(self):
        super().__init__()
        self.text, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script", "svg")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script", "svg")

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def english_words(html: str) -> set[str]:
    parser = _Visible()
    parser.feed(html)
    return set(LATIN.findall(ID.sub(" ", " ".join(parser.text)))) - ALLOWED


def test_report_and_explanation_pages_are_in_chinese(small_city):
    report = small_city["out"] / small_city["second"].isoformat() / "report"
    pages = [report / "index.html", *sorted((report / "explain").glob("*.html"))]
    assert len(pages) > 10
    found = {p.name: words for p in pages if (words := english_words(p.read_text(encoding="utf-8")))}
    assert not found, f"English on analyst pages: {dict(list(found.items())[:5])}"
    explained = "".join(p.read_text(encoding="utf-8") for p in pages[1:])
    assert "将为" in explained and "按严重程度加权" in explained and "平均平安指数" in explained


def test_the_checker_finds_english():
    assert english_words("<p>it would hold 4 stars</p><svg><text>axis</text></svg>") == {"it", "would", "hold", "stars"}
    assert english_words("<td>2 起：police:P1、court:（2026）闽0203刑初5号</td><p>XM000001 规则版本 ab12</p>") == set()
