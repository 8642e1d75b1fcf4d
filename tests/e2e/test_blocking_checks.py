"""A failed blocking check stops publication: the last good publication stays."""
from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from generator.city import generate_city
from pipelines.cli import UserError, run_rating


def test_personal_data_in_a_public_table_stops_publication(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    generate_city(data, seed=17, n_compounds=100, n_events=1500)
    city = json.loads((data / "city.json").read_text(encoding="utf-8"))
    first, second = date.fromisoformat(city["first_as_of"]), date.fromisoformat(city["second_as_of"])
    run_rating(data, out, first, demo=True, quiet=True)

    registry = pl.read_csv(data / "compounds.csv", infer_schema_length=0)
    registry.with_columns(
        pl.when(pl.col("compound_id") == registry["compound_id"][0])
        .then(pl.lit("联系13912345678花园")).otherwise(pl.col("name")).alias("name")
    ).write_csv(data / "compounds.csv")
    with pytest.raises(UserError, match="no_personal_data_in_public_tables"):
        run_rating(data, out, second, demo=True, quiet=True)
    assert not (out / second.isoformat()).exists()
    assert (out / first.isoformat() / "ratings.csv").exists()
    assert "13912345678" not in (out / "latest" / "ratings.csv").read_text(encoding="utf-8")
