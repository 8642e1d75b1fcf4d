"""A small generated city, rated on its two demo dates once per test session."""
from __future__ import annotations

import json
from datetime import date

import pytest

from generator.city import generate_city
from pipelines.cli import run_rating

SMALL = dict(seed=11, n_compounds=300, n_events=6000)


@pytest.fixture(scope="session")
def small_city(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("city")
    data, out = root / "data", root / "out"
    generate_city(data, **SMALL)
    city = json.loads((data / "city.json").read_text(encoding="utf-8"))
    first, second = date.fromisoformat(city["first_as_of"]), date.fromisoformat(city["second_as_of"])
    run_rating(data, out, first, demo=True, quiet=True)
    run_rating(data, out, second, demo=True, quiet=True)
    planted = json.loads((data / "truth" / "planted.json").read_text(encoding="utf-8"))
    return {"data": data, "out": out, "first": first, "second": second, "planted": planted}
