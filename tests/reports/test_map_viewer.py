"""The viewer's files: offline, self-contained, and its data faithful to the layers."""
from __future__ import annotations

import json
import re

import pytest

from reports.common_problems import leading_group
from reports.map_layer import build_features, write_map_layers
from reports.map_viewer import Basemap, write_map_viewer


@pytest.fixture(scope="module")
def map_dir(city, tmp_path_factory):
    out = tmp_path_factory.mktemp("viewer")
    feats = build_features(city["compounds"], city["polygons"], city["ratings"], leading_group(city["stats_cur"]))
    import polars as pl
    write_map_layers(out, feats, pl.DataFrame(), city["outlines"])
    return out, feats


def _data(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("window.SAFESTAR_DATA=") and text.endswith(";\n")
    return json.loads(text[len("window.SAFESTAR_DATA="):-2])


def test_offline_page_with_inlined_library(map_dir):
    map_dir, feats = map_dir
    page = write_map_viewer(map_dir, feats)
    html = page.read_text(encoding="utf-8")
    assert page.name == "index.html" and '<html lang="zh-CN">' in html
    assert "Leaflet 1.9.4" in html and "BSD-2-Clause" in html
    assert '<script src="map_data.js"></script>' in html
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=["'](https?:)?//""", html), "no CDN"
    assert '"tileUrl": ""' in html


def test_packed_data_matches_the_layer(map_dir, city):
    map_dir, feats = map_dir
    write_map_viewer(map_dir, feats)
    data = _data(map_dir / "map_data.js")
    fc = json.loads((map_dir / "compounds.geojson").read_text(encoding="utf-8"))
    c = data["compounds"]
    assert c["n"] == len(fc["features"]) == city["compounds"].height
    assert c["id"] == [f["properties"]["id"] for f in fc["features"]]
    assert c["stars"] == [f["properties"]["stars"] for f in fc["features"]]
    assert [c["districts"][k] for k in c["district"]] == [f["properties"]["district"] for f in fc["features"]]
    polygons = {i for i, f in enumerate(fc["features"]) if f["geometry"]["type"] == "Polygon"}
    assert {s[0] for s in c["shapes"]} == polygons
    for i, f in enumerate(fc["features"]):
        if f["geometry"]["type"] == "Point":
            assert [c["x"][i], c["y"][i]] == f["geometry"]["coordinates"]
    assert len(data["districts"]["features"]) == len(city["outlines"]["features"])


def test_basemap_and_gcj02_options(map_dir):
    map_dir, feats = map_dir
    page = write_map_viewer(map_dir, feats, basemap=Basemap("https://tiles.example/{z}/{x}/{y}.png", "GCJ02"),
                            site_base="/site/")
    html = page.read_text(encoding="utf-8")
    assert '"tileUrl": "https://tiles.example/{z}/{x}/{y}.png"' in html
    assert '"siteBase": "/site"' in html and '"coordSys": "GCJ02"' in html
    data = _data(map_dir / "map_data.js")
    gcj = json.loads((map_dir / "compounds_gcj02.geojson").read_text(encoding="utf-8"))
    first_point = next(i for i, f in enumerate(gcj["features"]) if f["geometry"]["type"] == "Point")
    assert [data["compounds"]["x"][first_point], data["compounds"]["y"][first_point]] == \
        gcj["features"][first_point]["geometry"]["coordinates"]
    write_map_viewer(map_dir, feats)  # back to the default for the other tests


def test_script_breaking_names_are_escaped(city, tmp_path):
    import polars as pl
    comp = city["compounds"].head(1).with_columns(pl.lit("</script><b>小区").alias("name"))
    feats = build_features(comp, None, city["ratings"], leading_group(city["stats_cur"]))
    map_dir = tmp_path
    write_map_viewer(map_dir, feats)
    assert "</script>" not in (map_dir / "map_data.js").read_text(encoding="utf-8")
    assert _data(map_dir / "map_data.js")["compounds"]["name"] == ["</script><b>小区"]


def test_unreadable_layer_is_a_clear_error(map_dir, tmp_path):
    (tmp_path / "districts.geojson").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="districts.geojson"):
        write_map_viewer(tmp_path, map_dir[1])
