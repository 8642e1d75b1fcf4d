"""Same seed and knobs → byte-identical files; another seed → another city."""
from __future__ import annotations

import hashlib
from pathlib import Path

from generator.city import generate_city
from tests.generator.conftest import SMALL


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes(city, tmp_path):
    first, _ = city
    generate_city(tmp_path, **SMALL)
    a, b = _hashes(first), _hashes(tmp_path)
    assert a.keys() == b.keys()
    assert any(k.endswith(".xlsx") for k in a)  # Excel files are byte-stable too
    assert [k for k in a if a[k] != b[k]] == []


def test_other_seed_gives_other_city(city, tmp_path):
    first, _ = city
    generate_city(tmp_path, **{**SMALL, "seed": SMALL["seed"] + 1})
    a, b = _hashes(first), _hashes(tmp_path)
    for name in ("compounds.csv", "compounds.geojson", "truth/records.parquet"):
        assert a[name] != b[name]
    police = [k for k in a if k.startswith("sources/police/") and k.endswith(".csv")]
    assert police and all(a[k] != b.get(k) for k in police)
