"""The unified case taxonomy: one vocabulary every source's categories are mapped onto."""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

import polars as pl
from pydantic import Field, field_validator, model_validator

from config.loader import Strict, load


def normalise_label(values: pl.Series | pl.Expr) -> pl.Series | pl.Expr:
    """Trim and NFKC-fold a label so full-width and half-width spellings compare equal."""
    return values.str.strip_chars().str.normalize("NFKC").str.strip_chars()


def _fold(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKC", str(text).strip()).strip()


class TaxonomyGroup(Strict):
    name_en: str | None = None
    public: str | None = None  # the label the public pages show (the group key when absent)


class TaxonomyEntry(Strict):
    code: str
    name_zh: str | None = None
    name_en: str | None = None
    group: str
    aliases: tuple[str | int | float, ...] = ()  # as they appear in real exports

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a category needs a code")
        return v.strip()


class Taxonomy(Strict):
    """Unified categories plus every name and alias they go by in real exports."""

    group_specs: dict[str, TaxonomyGroup | None] = Field(alias="groups")
    entries: tuple[TaxonomyEntry, ...] = Field(alias="categories")

    @model_validator(mode="after")
    def _coherent(self) -> "Taxonomy":
        for e in self.entries:
            if e.group not in self.group_specs:
                raise ValueError(f"category {e.code!r} has group {e.group!r}, which is not under `groups:` "
                                 f"(known: {', '.join(self.group_specs)})")
        if len({e.code for e in self.entries}) != len(self.entries):
            raise ValueError("duplicate category codes")
        self.lookup  # noqa: B018 - a name listed under two categories is refused here
        return self

    @cached_property
    def groups(self) -> dict[str, str]:
        """Category group -> its public label, in the file's order."""
        return {g: (spec.public if spec and spec.public else g) for g, spec in self.group_specs.items()}

    @cached_property
    def categories(self) -> pl.DataFrame:
        """code, name_zh, name_en, group, group_public: one row per category, in the file's order."""
        rows = [{"code": e.code, "name_zh": e.name_zh or e.code, "name_en": e.name_en or e.code,
                 "group": e.group, "group_public": self.groups[e.group]} for e in self.entries]
        return pl.DataFrame(rows, schema={c: pl.String for c in ("code", "name_zh", "name_en", "group", "group_public")})

    @cached_property
    def lookup(self) -> dict[str, str]:
        """Folded name, alias or code -> code."""
        lookup: dict[str, str] = {}
        for e in self.entries:
            for name in (e.code, e.name_zh, e.name_en, *e.aliases):
                if name is None or str(name).strip() == "":
                    continue
                key = _fold(name)
                if lookup.get(key, e.code) != e.code:
                    raise ValueError(f"name {name!r} is listed for both {lookup[key]!r} and {e.code!r}; "
                                     "keep it under one category")
                lookup[key] = e.code
        return lookup

    @property
    def codes(self) -> set[str]:
        return {e.code for e in self.entries}

    def resolve(self, values: pl.Series, source_map: dict | None = None) -> pl.Series:
        """Map raw category values to unified codes (null when unknown; never guessed).

        A source's own table (`categories` in its mapping.yaml) wins over the shared names
        and aliases, so a department can reuse a word the taxonomy means differently.
        Matching is on trimmed, NFKC-folded text (（重伤） equals (重伤)); the folding runs
        on the distinct values only, since exports repeat a few dozen categories.
        """
        values = values.cast(pl.String)
        distinct = values.drop_nulls().unique()
        folded = normalise_label(distinct)
        own = {_fold(k): str(v) for k, v in (source_map or {}).items()}
        table = {**self.lookup, **own}
        codes = folded.replace_strict(table, default=None, return_dtype=pl.String)
        by_raw = dict(zip(distinct.to_list(), codes.to_list()))
        return values.replace_strict(by_raw, default=None, return_dtype=pl.String).rename(values.name)

    def group_of(self) -> dict[str, str]:
        """Unified code -> category group (the Chinese group key, e.g. 暴力)."""
        return dict(zip(self.categories["code"], self.categories["group"]))


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """The taxonomy (default `config/taxonomy.yaml`), checked coherent; parsed once per content."""
    return load(path or "taxonomy.yaml", Taxonomy)
