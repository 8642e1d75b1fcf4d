"""A small demo city, generated once per test session."""
from __future__ import annotations

from pathlib import Path

import pytest

from generator.city import generate_city

SMALL = {"seed": 11, "n_compounds": 200, "n_events": 3000}


@pytest.fixture(scope="session")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("city")
    summary = generate_city(out, **SMALL)
    return out, summary
