"""`mapping.yaml`: how one source's exports map onto the canonical case-record layout.

The file format is documented in docs/CONTRACTS.md. Every problem raises `MappingError`
naming the file, the key and the fix, so a department's export can be onboarded by editing
YAML, not code.
"""
from __future__ import annotations

import difflib
import fnmatch
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from schemas.events import SOURCES
from schemas.registry import COORD_SYSTEMS

MAPPING_FILE = "mapping.yaml"
CANONICAL_COLUMNS = [
    "record_id",
    "category",
    "occurred_at",
    "address",
    "lon",
    "lat",
    "coord_sys",
    "compound_id",
    "police_case_no",
    "status",
    "description",
]
REQUIRED_COLUMNS = ["record_id", "category", "occurred_at"]
ENCODINGS = ["auto", "utf-8", "utf-8-sig", "gb18030", "gbk"]
EPOCH_FORMATS = ["epoch_ms", "epoch_s"]
# Without a mapping the canonical export uses ISO dates.
ISO_DATE_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
]
DEFAULT_REVOKED = ["revoked", "撤销", "不立案", "撤案"]
# Keys a mapping may set (top level, and inside a `files` entry except `source`/`files`).
SCALAR_KEYS = {"source", "encoding", "coord_sys", "sheet", "delimiter"}
ALL_KEYS = SCALAR_KEYS | {
    "date_formats",
    "columns",
    "categories",
    "revoked_values",
    "valid_values",
    "constants",
    "files",
    "notes",
}
FILE_KEYS = (ALL_KEYS - {"source", "files"}) | {"pattern"}


class MappingError(ValueError):
    """A mapping.yaml that cannot be used; the message names the file, the key and the fix."""

    def __init__(self, path: Path | str, key: str, problem: str, fix: str):
        self.path, self.key, self.problem, self.fix = str(path), key, problem, fix
        super().__init__(f"{path}: key `{key}`: {problem}. Fix: {fix}")


class _StringLoader(yaml.SafeLoader):
    """YAML loader that keeps every scalar a string (category code 0101 stays "0101")."""


_StringLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class FileMapping:
    """The mapping in force for one file (top level with its `files` override applied)."""

    source: str
    encoding: str = "auto"
    date_formats: tuple[str, ...] = tuple(ISO_DATE_FORMATS)
    coord_sys: str = "WGS84"
    columns: dict[str, str] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)
    revoked_values: tuple[str, ...] = tuple(DEFAULT_REVOKED)
    valid_values: tuple[str, ...] = ()
    constants: dict[str, str] = field(default_factory=dict)
    sheet: str | int | None = None
    delimiter: str | None = None
    pattern: str | None = None  # the `files` glob that matched, if any


@dataclass(frozen=True)
class SourceMapping:
    """A source folder's mapping: defaults plus per-glob overrides (first match wins)."""

    source: str
    path: Path | None
    base: FileMapping
    overrides: tuple[tuple[str, dict[str, Any]], ...] = ()

    def for_file(self, relative_name: str) -> FileMapping:
        """The effective mapping of a file, named relative to the source folder."""
        name = Path(relative_name).name
        for pattern, values in self.overrides:
            if fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(relative_name, pattern):
                return replace(self.base, **values, pattern=pattern)
        return self.base


def _suggest(key: str, options) -> str:
    close = difflib.get_close_matches(key, list(options), n=1)
    return f"did you mean `{close[0]}`? " if close else ""


def _as_str(path, key, value) -> str:
    if isinstance(value, (dict, list)) or value is None:
        raise MappingError(path, key, f"expected a single value, got {value!r}", "write a plain value")
    return str(value)


def _as_list(path, key, value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or any(isinstance(v, (dict, list)) or v is None for v in value):
        raise MappingError(path, key, f"expected a list of strings, got {value!r}", f"write `{key}: [a, b]`")
    return tuple(str(v) for v in value)


def _as_dict(path, key, value) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MappingError(path, key, f"expected a mapping, got {value!r}", f"write `{key}:` followed by `name: value` lines")
    out = {}
    for k, v in value.items():
        if k is None or isinstance(v, (dict, list)) or v is None:
            raise MappingError(path, f"{key}.{k}", f"expected `name: value`, got {v!r}", "give every entry one plain value")
        out[str(k).strip()] = str(v).strip()
    return out


def _parse_values(path, raw: dict, where: str) -> dict[str, Any]:
    """Check and convert the keys of one level (top level or a `files` entry)."""
    allowed = ALL_KEYS if where == "" else FILE_KEYS
    out: dict[str, Any] = {}
    for key, value in raw.items():
        full = f"{where}{key}"
        if key not in allowed:
            raise MappingError(
                path,
                full,
                "unknown key",
                f"{_suggest(str(key), allowed)}valid keys are: {', '.join(sorted(allowed))}",
            )
        if key in ("notes", "pattern", "source", "files"):
            continue
        if key == "encoding":
            enc = _as_str(path, full, value).lower().replace("_", "-")
            enc = {"utf8": "utf-8", "utf-8-bom": "utf-8-sig", "gb2312": "gbk"}.get(enc, enc)
            if enc not in ENCODINGS:
                raise MappingError(path, full, f"unsupported encoding {value!r}", f"use one of {', '.join(ENCODINGS)}")
            out["encoding"] = enc
        elif key == "coord_sys":
            cs = normalise_coord_sys(_as_str(path, full, value))
            if cs is None:
                raise MappingError(path, full, f"unknown coordinate system {value!r}", f"use one of {', '.join(COORD_SYSTEMS)}")
            out["coord_sys"] = cs
        elif key == "date_formats":
            fmts = _as_list(path, full, value)
            for f in fmts:
                if f not in EPOCH_FORMATS and "%" not in f:
                    raise MappingError(
                        path, full, f"date format {f!r} has no % directive",
                        "write strftime patterns such as \"%Y年%m月%d日\" or \"%Y/%m/%d %H:%M\", or epoch_ms / epoch_s",
                    )
            if not fmts:
                raise MappingError(path, full, "empty list", "list at least one date format or drop the key")
            out["date_formats"] = fmts
        elif key == "columns":
            cols = _as_dict(path, full, value)
            for header, target in cols.items():
                if target not in CANONICAL_COLUMNS:
                    raise MappingError(
                        path, f"{full}.{header}", f"maps to unknown column {target!r}",
                        f"{_suggest(target, CANONICAL_COLUMNS)}map to one of {', '.join(CANONICAL_COLUMNS)}",
                    )
            out["columns"] = cols
        elif key == "constants":
            consts = _as_dict(path, full, value)
            for col in consts:
                if col not in CANONICAL_COLUMNS:
                    raise MappingError(
                        path, f"{full}.{col}", "is not a canonical column",
                        f"{_suggest(col, CANONICAL_COLUMNS)}use one of {', '.join(CANONICAL_COLUMNS)}",
                    )
            out["constants"] = consts
        elif key == "categories":
            out["categories"] = _as_dict(path, full, value)
        elif key in ("revoked_values", "valid_values"):
            out[key] = _as_list(path, full, value)
        elif key == "sheet":
            sheet = _as_str(path, full, value)
            out["sheet"] = int(sheet) if sheet.isdigit() else sheet
        elif key == "delimiter":
            delim = _as_str(path, full, value).replace("\\t", "\t")
            if len(delim) != 1:
                raise MappingError(path, full, f"delimiter {value!r} is not one character", "write e.g. `delimiter: \",\"` or `\"\\t\"`")
            out["delimiter"] = delim
    return out


def normalise_coord_sys(value: str | None) -> str | None:
    """WGS84/GCJ02/BD09 from the spellings exports use (WGS-84, gcj02, 百度…), else None."""
    if value is None:
        return None
    key = str(value).strip().upper().replace("-", "").replace("_", "").replace(" ", "")
    return COORD_ALIASES.get(key)


COORD_ALIASES = {
    "WGS84": "WGS84", "WGS": "WGS84", "GPS": "WGS84", "EPSG:4326": "WGS84", "4326": "WGS84",
    "GCJ02": "GCJ02", "GCJ": "GCJ02", "高德": "GCJ02", "腾讯": "GCJ02", "火星": "GCJ02",
    "BD09": "BD09", "BD09LL": "BD09", "BAIDU": "BD09", "百度": "BD09",
}


def load_mapping(source_dir: Path) -> SourceMapping:
    """Read `<source_dir>/mapping.yaml`; without one, the canonical English columns apply."""
    source_dir = Path(source_dir)
    folder = source_dir.name
    path = source_dir / MAPPING_FILE
    if not path.is_file():
        return SourceMapping(source=folder, path=None, base=FileMapping(source=folder))
    try:
        doc = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=_StringLoader)
    except UnicodeDecodeError as exc:
        raise MappingError(path, "(file)", f"not UTF-8 ({exc.reason} at byte {exc.start})", "save mapping.yaml as UTF-8") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise MappingError(path, "(file)", f"invalid YAML at {where}: {getattr(exc, 'problem', exc)}", "fix the YAML syntax (indentation, quotes, colons)") from exc
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise MappingError(path, "(top level)", "expected `key: value` lines", "start from the example in docs/CONTRACTS.md")
    declared = doc.get("source", folder)
    if str(declared) != folder:
        raise MappingError(
            path, "source", f"says {declared!r} but the file is in folder {folder!r}",
            f"write `source: {folder}` or move the file to sources/{declared}/",
        )
    if folder not in SOURCES:
        raise MappingError(path, "source", f"unknown source {folder!r}", f"use one of {', '.join(SOURCES)}")
    top = _parse_values(path, doc, "")
    base = FileMapping(source=folder, **top)
    overrides = []
    files = doc.get("files") or []
    if not isinstance(files, list):
        raise MappingError(path, "files", "expected a list of entries", "write `files:` then `- pattern: \"*.xlsx\"` entries")
    for i, entry in enumerate(files):
        where = f"files[{i}]."
        if not isinstance(entry, dict) or not entry.get("pattern"):
            raise MappingError(path, f"files[{i}]", "entry without `pattern`", "give each entry a glob, e.g. `- pattern: \"*.xlsx\"`")
        overrides.append((str(entry["pattern"]), _parse_values(path, entry, where)))
    return SourceMapping(source=folder, path=path, base=base, overrides=tuple(overrides))
