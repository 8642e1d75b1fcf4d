"""The unified case taxonomy: one vocabulary every source's categories are mapped onto."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import polars as pl
import yaml

from config import CONFIG_DIR

DEFAULT_TAXONOMY = CONFIG_DIR / "taxonomy.yaml"


class TaxonomyError(ValueError):
    """The taxonomy file is unusable (the message names the file and the entry)."""


def normalise_label(values: pl.Series | pl.Expr) -> pl.Series | pl.Expr:
    """Trim and NFKC-fold a label so full-width and half-width spellings compare equal."""
    return values.str.strip_chars().str.normalize("NFKC").str.strip_chars()


def _fold(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKC", str(text).strip()).strip()


@dataclass(frozen=True)
class Taxonomy:
    """Unified categories plus every name and alias they go by in real exports."""

    categories: pl.DataFrame  # code, name_zh, name_en, group, group_public
    lookup: dict[str, str] = field(repr=False)  # folded name/alias/code -> code
    groups: dict[str, str] = field(default_factory=dict)  # group -> its public label, in the file's order

    @property
    def codes(self) -> set[str]:
        return set(self.categories["code"].to_list())

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
    """Read `config/taxonomy.yaml` (or `path`) into a Taxonomy, checking it is coherent.
    Parsed once per file version: later calls return the same Taxonomy until the file changes."""
    path = Path(path) if path is not None else DEFAULT_TAXONOMY
    if not path.is_file():
        raise TaxonomyError(f"{path}: taxonomy file not found")
    stat = path.stat()
    return _parse_taxonomy(path.resolve(), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _parse_taxonomy(path: Path, mtime_ns: int, size: int) -> Taxonomy:
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    groups = doc.get("groups") or {}
    rows, lookup = [], {}
    for i, entry in enumerate(doc.get("categories") or []):
        code = str(entry.get("code") or "").strip()
        group = entry.get("group")
        if not code:
            raise TaxonomyError(f"{path}: categories[{i}] has no code")
        if group not in groups:
            raise TaxonomyError(
                f"{path}: category {code!r} has group {group!r}, which is not under `groups:` "
                f"(known: {', '.join(groups)})"
            )
        rows.append(
            {
                "code": code,
                "name_zh": str(entry.get("name_zh") or code),
                "name_en": str(entry.get("name_en") or code),
                "group": str(group),
                "group_public": str((groups[group] or {}).get("public") or group),
            }
        )
        names = [code, entry.get("name_zh"), entry.get("name_en"), *(entry.get("aliases") or [])]
        for name in names:
            if name is None or str(name).strip() == "":
                continue
            key = _fold(name)
            if lookup.get(key, code) != code:
                raise TaxonomyError(
                    f"{path}: name {name!r} is listed for both {lookup[key]!r} and {code!r}; "
                    "keep it under one category"
                )
            lookup[key] = code
    codes = [r["code"] for r in rows]
    if len(set(codes)) != len(codes):
        raise TaxonomyError(f"{path}: duplicate category codes")
    frame = pl.DataFrame(
        rows,
        schema={c: pl.String for c in ("code", "name_zh", "name_en", "group", "group_public")},
    )
    return Taxonomy(categories=frame, lookup=lookup,
                    groups={g: str((v or {}).get("public") or g) for g, v in groups.items()})

