"""Explanation pages filled in bulk are byte for byte the template rendered page by page."""
from __future__ import annotations

from datetime import date

import pytest

from reports.analyst import jinja_env
from reports.explain_pages import ExplainPages

AS_OF = date(2026, 11, 1)
BASE = {"name": "<怡景苑> & \"花园\"", "compound_id": "XM000001", "district": "思明区", "street": None,
        "stars": 3, "status": "downgraded", "status_zh": "降星", "rules_zh": "降星·入室盗窃",
        "ruleset_version": "v1", "safety_index": 71.65}
LINES = [{"kind_zh": "规则", "key_zh": "降星·入室盗窃", "value": None, "detail": "police:P1 & <P2>"},
         {"kind_zh": "类别", "key_zh": "盗窃", "value": 1234.5, "detail": None},
         {"kind_zh": "来源", "key_zh": "公安", "value": 0.0, "detail": ""}]


@pytest.mark.parametrize("r, change, lines", [
    (BASE, {"change": "down", "change_zh": "降星", "stars_before": 4, "stars_after": 3,
            "previous_as_of": date(2026, 10, 1)}, LINES),
    (dict(BASE, rules_zh="", safety_index=None), None, []),
    (dict(BASE, rules_zh=None, name=None), {"change": "new", "change_zh": "新参评", "stars_before": None,
                                            "stars_after": 3, "previous_as_of": None}, LINES[:1]),
    (BASE, {"change": "up", "change_zh": "升星", "stars_before": 0, "stars_after": 1,
            "previous_as_of": date(2026, 10, 1)}, LINES[1:]),
])
def test_bulk_page_is_the_rendered_template(r, change, lines):
    env = jinja_env()
    expected = env.get_template("report_explain.html").render(as_of=AS_OF, r=r, change=change, lines=lines)
    pages = ExplainPages(env, AS_OF)
    assert pages.render(r, change, lines) == expected
    assert pages.render(r, change, lines) == expected, "a cached page shape gives the same page"


def test_lines_filled_in_bulk_match_lines_filled_one_by_one():
    import polars as pl

    env = jinja_env()
    pages = ExplainPages(env, AS_OF)
    frame = pl.DataFrame([dict(ln, compound_id=cid) for cid in ("A", "B") for ln in LINES],
                         schema_overrides={"value": pl.Float64, "detail": pl.String})
    rows = pages.line_rows(frame.select("compound_id", "kind_zh", "key_zh", "value", "detail"))
    change = {"change": "down", "change_zh": "降星", "stars_before": 4, "stars_after": 3, "previous_as_of": None}
    for cid in ("A", "B"):
        assert pages.render(BASE, change, rows[cid]) == pages.render(BASE, change, LINES)
