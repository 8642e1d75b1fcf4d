"""Small parts of the generator: numerals, coordinate shifts, Hilbert order, the CLI."""
from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from generator.__main__ import main
from generator.city import generate_city
from geo.coords import from_wgs84
from generator.layout import hilbert_index
from generator.text import chinese_number


def test_chinese_house_numbers():
    cases = {1: "一", 10: "十", 12: "十二", 20: "二十", 105: "一百零五", 230: "二百三十", 1010: "一千零一十",
             999: "九百九十九"}
    assert {n: chinese_number(n) for n in cases} == cases


def test_coordinate_shifts_have_the_known_size_around_xiamen():
    lon, lat = np.array([118.08, 118.2]), np.array([24.45, 24.7])
    glon, glat = from_wgs84(lon, lat, "GCJ02")
    blon, blat = from_wgs84(lon, lat, "BD09")
    metres = np.hypot((glon - lon) * 101_000, (glat - lat) * 110_600)
    assert ((metres > 300) & (metres < 900)).all()  # GCJ-02 moves points by a few hundred metres
    assert np.allclose(blon - glon, 0.0065, atol=0.0015) and np.allclose(blat - glat, 0.006, atol=0.0015)
    assert np.array_equal(from_wgs84(lon, lat, "WGS84")[0], lon)


def test_hilbert_order_visits_neighbours():
    x, y = np.meshgrid(np.arange(8), np.arange(8))
    d = hilbert_index(x.ravel(), y.ravel(), 3)
    assert sorted(d.tolist()) == list(range(64))
    order = np.argsort(d)
    steps = np.abs(np.diff(x.ravel()[order])) + np.abs(np.diff(y.ravel()[order]))
    assert (steps == 1).all()


def test_cli_writes_a_city(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--seed", "3", "--compounds", "60", "--events", "800", "--months", "6"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["compounds"] == 60
    city = json.loads((tmp_path / "city.json").read_text(encoding="utf-8"))
    assert city["months"] == 6 and city["seed"] == 3
    assert pl.read_csv(tmp_path / "compounds.csv").height == 60


def test_regenerating_into_the_same_folder_leaves_no_stale_files(tmp_path, capsys):
    (tmp_path / "decisions").mkdir()
    (tmp_path / "decisions" / "overrides.csv").write_text("keep me\n", encoding="utf-8")
    main(["--out", str(tmp_path), "--compounds", "60", "--events", "800", "--months", "8"])
    main(["--out", str(tmp_path), "--compounds", "60", "--events", "800", "--months", "3"])
    police = sorted(p.name for p in (tmp_path / "sources" / "police").glob("*.csv"))
    assert len(police) == 4  # three months back from the 20th spans four calendar months
    assert (tmp_path / "decisions" / "overrides.csv").read_text(encoding="utf-8") == "keep me\n"


def test_unusable_knobs_are_refused_clearly(tmp_path):
    for knobs in ({"n_compounds": 10}, {"months": 0}, {"n_events": -1}):
        with pytest.raises(ValueError, match="at least"):
            generate_city(tmp_path, **knobs)
    assert not (tmp_path / "sources").exists()
