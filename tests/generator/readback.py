"""Reading the generated exports back the way a mapping.yaml describes them (test helper)."""
from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import polars as pl
import yaml

ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gb18030": "gb18030", "gbk": "gbk"}


def mapping(folder: Path) -> dict:
    return yaml.safe_load((folder / "mapping.yaml").read_text(encoding="utf-8"))


def effective(m: dict, file: str) -> dict:
    """The mapping with the first matching `files:` entry applied."""
    for entry in m.get("files", []):
        if fnmatch.fnmatch(file, entry["pattern"]):
            return {**m, **{k: v for k, v in entry.items() if k != "pattern"}}
    return m


def read_export(path: Path, m: dict) -> pl.DataFrame:
    """All cells as strings (null for empty), header as exported."""
    if path.suffix == ".csv":
        text = path.read_bytes().decode(ENCODINGS[m["encoding"]])
        return pl.read_csv(text.encode("utf-8"), infer_schema=False)
    if path.suffix == ".xlsx":
        import fastexcel

        sheet = fastexcel.read_excel(path).load_sheet(0, dtypes="string")
        return pl.from_arrow(sheet.to_arrow())
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    keys = list(rows[0])
    return pl.DataFrame({k: [None if r.get(k) is None else str(r[k]) for r in rows] for k in keys},
                        schema={k: pl.String for k in keys})


def data_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name != "mapping.yaml")
