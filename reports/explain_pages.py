"""The analyst report's explanation pages (``explain/<compound_id>.html``) in bulk.

A full run explains tens of thousands of compounds; rendering ``report_explain.html`` once
per page costs ~60 µs of Jinja each. The template stays the one source of the page: it is
rendered once per *shape* of page (rules or not, a change or not, …) with a marker in place
of every value, and each page is that text with its values put in — escaped and filtered as
the template does (``tests/reports/test_explain_pages.py`` compares with a plain render).
"""
from __future__ import annotations

import re
from datetime import date

from jinja2 import Environment
from markupsafe import escape

_MARK = re.compile("\ue000([a-z_.0-9]+)\ue001")


def _mark(name: str) -> str:
    return f"\ue000{name}\ue001"


class _Number(float):
    """A marker that also passes the ``num`` filter (which formats floats)."""

    def __new__(cls, name: str):
        obj = super().__new__(cls, 0.0)
        obj.mark = _mark(name)
        return obj

    def __format__(self, spec: str) -> str:
        return self.mark


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
            r = {f: _mark(f"r.{f}") for f in R_FIELDS}
            r["rules_zh"] = r["rules_zh"] if has_rules else ""
            r["safety_index"] = _Number("r.safety_index")
            change = None
            if has_change:
                change = {f: _mark(f"c.{f}") for f in CHANGE_FIELDS}
                change["stars_before"] = change["stars_before"] if has_before else None
                change["previous_as_of"] = change["previous_as_of"] if has_previous else None
            lines = [{"kind_zh": _mark("l.kind_zh"), "key_zh": _mark("l.key_zh"), "value": _Number("l.value"),
                      "detail": _mark("l.detail")}] if has_lines else []
            text = self.template.render(as_of=_mark("as_of"), r=r, change=change, lines=lines)
            head, line, tail = text, "", ""
            if has_lines:  # the one line's row: from its <tr> to its </tr>
                first, last = text.index(_mark("l.kind_zh")), text.index(_mark("l.detail"))
                start = text.rindex("<tr>", 0, first)
                end = text.index("</tr>", last) + len("</tr>")
                head, line, tail = text[:start], text[start:end], text[end:]
            self._shapes[key] = (_MARK.split(head), _MARK.split(line), _MARK.split(tail))
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
        out = [_fill(head, values)]
        for ln in lines:
            out.append(_fill(line, {"l.kind_zh": escape(ln["kind_zh"]), "l.key_zh": escape(ln["key_zh"]),
                                    "l.value": escape(self.num(ln["value"], 2)),
                                    "l.detail": escape(ln["detail"] or "")}))
        out.append(_fill(tail, values))
        return "".join(out)


def _fill(parts: list[str], values: dict) -> str:
    """Literal text and marker names (alternating, as ``re.split`` left them) joined."""
    return "".join(p if k % 2 == 0 else values[p] for k, p in enumerate(parts))
