"""Many copies of a small template filled in bulk: the template is rendered once per shape
(per outcome of its ``{% if %}``s) with a marker for every value, then each copy is that
text with its values put in. The template stays the one source of the markup; the values
must be given as the template would have written them (escaped, filtered), which the
callers' tests check against plain renders."""
from __future__ import annotations

import re

import polars as pl
from jinja2 import Template

# markers are letters, so they pass the ``fname`` filter and HTML escaping unchanged
_MARK = re.compile("龘([a-z_.]+)龘")


def mark(name: str) -> str:
    return f"龘{name}龘"


class Number(float):
    """A marker that also passes the ``num`` filter (which formats floats)."""

    def __new__(cls, name: str):
        obj = super().__new__(cls, 0.0)
        obj.mark = mark(name)
        return obj

    def __format__(self, spec: str) -> str:
        return self.mark


def skeleton(text: str) -> list[str]:
    """Rendered text split into literal parts (even positions) and marker names (odd)."""
    return _MARK.split(text)


def fill(parts: list[str], values: dict) -> str:
    """One copy: the literal parts with the values of the markers put in."""
    return "".join(p if k % 2 == 0 else values[p] for k, p in enumerate(parts))


def fill_rows(template: Template, shapes: dict, shape: pl.Series, values: dict[str, list[str]]) -> str:
    """Copies of ``template`` for many rows, joined: ``shapes`` maps each shape value to the
    marker context that renders it, ``shape`` gives each row's shape, ``values`` each
    marker's text per row (already escaped)."""
    if shape.len() == 0:
        return ""
    frame = pl.DataFrame({name: pl.Series(v, dtype=pl.String) for name, v in values.items()} | {"_shape": shape})
    out = None
    for key, context in shapes.items():
        parts = skeleton(template.render(**context))
        text = pl.concat_str([pl.lit(p) if k % 2 == 0 else pl.col(p) for k, p in enumerate(parts)])
        out = text if out is None else pl.when(pl.col("_shape") == key).then(text).otherwise(out)
    return frame.select(out.alias("row"))["row"].str.join("").item()
