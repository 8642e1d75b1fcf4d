"""The analyst report's explanation pages (``explain/<compound_id>.html``) in bulk.

A full run explains tens of thousands of compounds; rendering ``report_explain.html`` once
per page costs ~60 µs of Jinja each. The template stays the one source of the page: it is
rendered once per *shape* of page (rules or not, a change or not, …) with a marker in place
of every value, and each page is that text with its values put in — escaped and filtered as
the template does (``tests/reports/test_explain_pages.py`` compares with a plain render).
"""
from __future__ import annotations

from datetime import date

import polars as pl
from jinja2 import Environment
from markupsafe import escape

from reports.bulk_render import Number, fill, mark, skeleton

R_FIELDS = ["name", "compound_id", "district", "street", "stars", "status", "status_zh", "rules_zh",
            "ruleset_version"]
CHANGE_FIELDS = ["change", "change_zh", "stars_before", "stars_after", "previous_as_of"]


class ExplainPages:
    """Pages of ``report_explain.html`` for many compounds at a time."""

    def __init__(self, env: Environment, as_of: date):
        self.env = env
        self.template = env.get_template("report_explain.html")
        self.num = env.filters["num"]
        self.as_of = as_of
        self._shapes: dict[tuple, tuple[list[str], list[str], list[str]]] = {}

    def _shape(self, key: tuple) -> tuple[list[str], list[str], list[str]]:
        """(head, line, tail) split into literal text and marker names, for one page shape."""
        if key not in self._shapes:
            has_rules, has_change, has_before, has_previous, has_lines = key
            r = {f: mark(f"r.{f}") for f in R_FIELDS}
            r["rules_zh"] = r["rules_zh"] if has_rules else ""
            r["safety_index"] = Number("r.safety_index")
            change = None
            if has_change:
                change = {f: mark(f"c.{f}") for f in CHANGE_FIELDS}
                change["stars_before"] = change["stars_before"] if has_before else None
                change["previous_as_of"] = change["previous_as_of"] if has_previous else None
            lines = [{"kind_zh": mark("l.kind_zh"), "key_zh": mark("l.key_zh"), "value": Number("l.value"),
                      "detail": mark("l.detail")}] if has_lines else []
            text = self.template.render(as_of=mark("as_of"), r=r, change=change, lines=lines)
            head, line, tail = text, "", ""
            if has_lines:  # the one line's row: from its <tr> to its </tr>
                first, last = text.index(mark("l.kind_zh")), text.index(mark("l.detail"))
                start = text.rindex("<tr>", 0, first)
                end = text.index("</tr>", last) + len("</tr>")
                head, line, tail = text[:start], text[start:end], text[end:]
            self._shapes[key] = (skeleton(head), skeleton(line), skeleton(tail))
        return self._shapes[key]

    def render(self, r: dict, change: dict | None, lines: list[dict]) -> str:
        """One page, as ``template.render(as_of=…, r=r, change=change, lines=lines)``."""
        key = (bool(r.get("rules_zh")), bool(change),
               bool(change) and change.get("stars_before") is not None,
               bool(change) and bool(change.get("previous_as_of")), bool(lines))
        head, line, tail = self._shape(key)
        values = {"as_of": escape(self.as_of), "r.safety_index": escape(self.num(r.get("safety_index")))}
        for f in R_FIELDS:
            values[f"r.{f}"] = escape(r.get(f))
        for f in CHANGE_FIELDS if change else ():
            values[f"c.{f}"] = escape(change.get(f))
        out = [fill(head, values)]
        if isinstance(lines, str):  # the rows already filled in bulk (``line_rows``)
            out.append(lines)
        else:
            for ln in lines:
                out.append(fill(line, {"l.kind_zh": escape(ln["kind_zh"]), "l.key_zh": escape(ln["key_zh"]),
                                        "l.value": escape(self.num(ln["value"], 2)),
                                        "l.detail": escape(ln["detail"] or "")}))
        out.append(fill(tail, values))
        return "".join(out)

    def line_rows(self, lines: pl.DataFrame) -> dict[str, str]:
        """compound_id → its lines' rows, filled in bulk from ``lines`` (compound_id,
        kind_zh, key_zh, value, detail; rows in page order)."""
        if lines.height == 0:
            return {}
        parts = self._shape((False, False, False, False, True))[1]
        nums = lines["value"].unique()
        num_text = {v: str(escape(self.num(v, 2))) for v in nums.to_list()}
        esc = [pl.col(c).cast(pl.String).str.replace_many(list(_HTML), list(_HTML.values()))
               for c in ("kind_zh", "key_zh")]
        cols = {
            "l.kind_zh": esc[0], "l.key_zh": esc[1],
            "l.value": pl.col("value").replace_strict(num_text, default=None, return_dtype=pl.String)
            .fill_null(str(escape(self.num(None, 2)))),
            "l.detail": pl.col("detail").fill_null("").str.replace_many(list(_HTML), list(_HTML.values())),
        }
        row = pl.concat_str([pl.lit(p) if k % 2 == 0 else cols[p] for k, p in enumerate(parts)])
        joined = (lines.select("compound_id", row.alias("row"))
                  .group_by("compound_id", maintain_order=True).agg(pl.col("row").str.join("")))
        return dict(joined.iter_rows())


_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"}
