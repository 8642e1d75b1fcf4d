"""The map as analysts use it, in headless Chromium: zoom to a chosen district or street,
vetoed compounds in their own colour, hotspots that follow the filters, street and grid
outlines, and a basemap only when one is configured (never a request off the machine)."""
from __future__ import annotations

import functools
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest

from reports.common_problems import common_problems, leading_group
from reports.map_layer import build_features, write_map_layers
from reports.map_viewer import Basemap, write_map_viewer
from tests.reports.test_browser import ARTIFACTS, _open_map, browser, page  # noqa: F401 - fixtures
from tests.reports.test_map_layer import _hulls

pytestmark = pytest.mark.browser
# 1×1 PNG, what the local tile server answers for every tile
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a0e5d1e00000000049454e44ae426082")


@pytest.fixture(scope="module")
def site(city, tmp_path_factory):
    """The map folder of the test city with a vetoed compound, street and grid outlines,
    served on loopback with a tile endpoint that records what it is asked for."""
    root = tmp_path_factory.mktemp("mapsite")
    ratings = city["ratings"].with_columns(
        pl.when(pl.col("compound_id").is_in(["XM000003", "XM000004"])).then(pl.lit("vetoed"))
        .when(pl.col("compound_id") == "XM000005").then(pl.lit("not_rated"))
        .otherwise(pl.col("status")).alias("status"),
        pl.when(pl.col("compound_id").is_in(["XM000003", "XM000004", "XM000005"])).then(0)
        .otherwise(pl.col("stars")).cast(pl.Int8).alias("stars"))
    probs = common_problems(city["stats_cur"], city["stats_prev"], city["compounds"])
    feats = build_features(city["compounds"], city["polygons"], ratings, leading_group(city["stats_cur"]))
    write_map_layers(root / "map", feats, probs, city["outlines"],
                     street_outlines=_hulls(city["compounds"], ["district", "street"]),
                     grid_outlines=_hulls(city["compounds"], ["district", "street", "community"]))
    tiles: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path.startswith("/tiles/"):
                tiles.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(PNG)))
                self.end_headers()
                self.wfile.write(PNG)
                return
            super().do_GET()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield {"root": root, "url": f"http://127.0.0.1:{httpd.server_address[1]}", "tiles": tiles,
           "ratings": ratings, "problems": probs, "layer": feats}
    httpd.shutdown()
    httpd.server_close()


def _bounds(page):
    return page.evaluate("(() => { const b = safestarMap.map.getBounds(); "
                         "return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; })()")


def _inside(b, lon, lat):
    return b[0] <= lon <= b[2] and b[1] <= lat <= b[3]


def test_choosing_a_district_or_street_zooms_to_it(page, site, city):
    write_map_viewer(site["root"] / "map", compounds=site["layer"])
    _open_map(page, f"{site['url']}/map/index.html")
    z0, b0 = page.evaluate("safestarMap.map.getZoom()"), _bounds(page)
    comp = city["compounds"]
    district = comp["district"].mode().sort()[0]
    page.select_option("#ss-district", label=district)
    z1, b1 = page.evaluate("safestarMap.map.getZoom()"), _bounds(page)
    assert z1 > z0 and (b1[2] - b1[0]) < (b0[2] - b0[0])
    for r in comp.filter(pl.col("district") == district).iter_rows(named=True):
        assert _inside(b1, r["lon"], r["lat"]), r["compound_id"]
    street = comp.filter(pl.col("district") == district)["street"].mode().sort()[0]
    page.select_option("#ss-street", label=street)
    z2, b2 = page.evaluate("safestarMap.map.getZoom()"), _bounds(page)
    members = comp.filter(pl.col("street") == street)
    for r in members.iter_rows(named=True):
        assert _inside(b2, r["lon"], r["lat"]), r["compound_id"]
    # as close as the street's compounds allow (the fake city scatters a street widely)
    pad = page.evaluate("safestarMap.fitPadding()")  # clear of the panel
    assert pad[1][0] > 200
    tight = page.evaluate(f"safestarMap.map.getBoundsZoom(L.latLngBounds({json.dumps([list(r) for r in members.select('lat', 'lon').rows()])}), "
                          f"false, L.point({pad[0][0] + pad[1][0]}, {pad[0][1] + pad[1][1]}))")
    assert z2 == min(tight, 17) and z2 >= z1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map_street_zoom.png"))
    page.select_option("#ss-district", label="全部")  # back to the whole city
    assert page.evaluate("safestarMap.map.getZoom()") == z0


def _pixel(page, lon, lat):
    """The canvas colour drawn at a place, as #rrggbb."""
    return page.evaluate(f"""(() => {{
        const m = safestarMap.map, p = m.latLngToContainerPoint([{lat}, {lon}]);
        const c = document.querySelector('#map canvas.ss-compounds');
        const r = c.getBoundingClientRect(), k = c.width / r.width;
        const q = m.getContainer().getBoundingClientRect();
        const x = Math.round((p.x + q.left - r.left) * k), y = Math.round((p.y + q.top - r.top) * k);
        const d = c.getContext('2d').getImageData(x, y, 1, 1).data;
        return '#' + [d[0], d[1], d[2]].map(v => v.toString(16).padStart(2, '0')).join('');
    }})()""")


def test_vetoed_compounds_have_their_own_colour(page, site, city):
    write_map_viewer(site["root"] / "map", compounds=site["layer"])
    _open_map(page, f"{site['url']}/map/index.html")
    vetoed, not_rated = page.evaluate("safestarMap.colourOf('XM000003')"), page.evaluate("safestarMap.colourOf('XM000005')")
    assert vetoed != not_rated
    colours = {page.evaluate(f"safestarMap.colourOf('{c}')") for c in
               site["ratings"].filter(pl.col("status") == "rated")["compound_id"].to_list()}
    assert vetoed not in colours and not_rated not in colours
    # the colour is what is drawn: show only each compound in turn, zoomed on it
    comp = {r["compound_id"]: r for r in city["compounds"].iter_rows(named=True)}
    for cid, colour in (("XM000003", vetoed), ("XM000005", not_rated)):
        page.evaluate(f"safestarMap.setFilter({{q: '{cid}'}}) && 0")
        page.evaluate(f"safestarMap.map.setView([{comp[cid]['lat']}, {comp[cid]['lon']}], 13, {{animate: false}}) && 0")
        assert page.evaluate("safestarMap.map.getZoom()") < 15  # drawn as a square, not its outline
        assert _pixel(page, comp[cid]["lon"], comp[cid]["lat"]) == colour
    page.evaluate("safestarMap.setFilter({q: ''}) && 0")
    legend = page.inner_text(".ss-legend")
    assert "一票否决" in legend and "未评定" in legend
    vetoed_n = site["ratings"].filter(pl.col("status") == "vetoed").height
    page.evaluate("safestarMap.setFilter({stars: [6]}) && 0")
    assert vetoed_n >= 2 and page.evaluate("safestarMap.visibleCount()") == vetoed_n  # the vetoed class alone


def test_polygon_compounds_are_drawn_and_clicked_by_their_outline(page, site, city):
    write_map_viewer(site["root"] / "map", compounds=site["layer"])
    _open_map(page, f"{site['url']}/map/index.html")
    outline = city["polygons"]["features"][0]
    cid, ring = outline["properties"]["compound_id"], outline["geometry"]["coordinates"][0]
    (x0, y0), (x1, y1) = min(ring), max(ring)
    page.evaluate(f"safestarMap.setFilter({{q: '{cid}'}}) && 0")
    page.evaluate(f"safestarMap.map.setView([{(y0 + y1) / 2}, {(x0 + x1) / 2}], 17, {{animate: false}}) && 0")
    colour = page.evaluate(f"safestarMap.colourOf('{cid}')")
    # near a corner, far from the point it is counted at: inside the outline, and only there
    inside, outside = (x0 + 0.1 * (x1 - x0), y0 + 0.1 * (y1 - y0)), (x0 - 0.1 * (x1 - x0), y0 - 0.1 * (y1 - y0))
    def near(a, b):  # the outline is filled at 75% opacity, which rounds the colour by a unit
        return all(abs(int(a[k:k + 2], 16) - int(b[k:k + 2], 16)) <= 2 for k in (1, 3, 5))

    assert near(_pixel(page, *inside), colour) and not near(_pixel(page, *outside), colour)
    at = page.evaluate(f"(() => {{ const p = safestarMap.map.latLngToContainerPoint([{inside[1]}, {inside[0]}]); "
                       "return safestarMap.featureAt(p.x, p.y); })()")
    assert at == cid


def test_hotspots_follow_the_filters(page, site):
    write_map_viewer(site["root"] / "map", compounds=site["layer"])
    _open_map(page, f"{site['url']}/map/index.html")
    probs = site["problems"]
    key = lambda r: f"{r['kind']}|{r['level']}|{r['region']}|{r['group']}"  # noqa: E731
    assert sorted(page.evaluate("safestarMap.hotspotRegions()")) == sorted(key(r) for r in probs.iter_rows(named=True))
    street_row = probs.filter(pl.col("level") == "street").row(0, named=True)
    page.select_option("#ss-district", label=street_row["district"])
    expected = probs.filter(pl.col("district") == street_row["district"])
    assert sorted(page.evaluate("safestarMap.hotspotRegions()")) == sorted(key(r) for r in expected.iter_rows(named=True))
    other = next(d for d in page.evaluate("Array.from(document.querySelectorAll('#ss-district option')).map(o => o.label)")
                 if d not in ("全部", *probs["district"].to_list()))
    page.select_option("#ss-district", label=other)
    assert page.evaluate("safestarMap.hotspotCount()") == 0
    page.select_option("#ss-district", label=street_row["district"])
    page.select_option("#ss-street", label=street_row["region"])
    shown = page.evaluate("safestarMap.hotspotRegions()")
    assert key(street_row) in shown
    assert all(s.split("|")[2] in (street_row["region"], street_row["district"]) for s in shown)


def test_street_and_grid_outlines_can_be_shown(page, site, city):
    write_map_viewer(site["root"] / "map", compounds=site["layer"])
    _open_map(page, f"{site['url']}/map/index.html")
    assert page.evaluate("safestarMap.overlays") == {"streets": True, "grids": True}
    shown = page.evaluate("safestarMap.overlaysShown()")
    assert shown["streets"] and not shown["grids"]  # streets on by default, grids on demand
    assert shown["streetCount"] == city["compounds"].select("district", "street").n_unique()
    assert shown["gridCount"] == city["compounds"].select("district", "street", "community").n_unique()
    page.check("#ss-grids")
    page.uncheck("#ss-streets")
    shown = page.evaluate("safestarMap.overlaysShown()")
    assert shown["grids"] and not shown["streets"]
    page.screenshot(path=str(ARTIFACTS / "map_grids.png"))
    # a city without outlines offers neither
    bare = site["root"] / "bare"
    write_map_layers(bare, site["layer"], site["problems"], city["outlines"])
    write_map_viewer(bare, compounds=site["layer"])
    _open_map(page, f"{site['url']}/bare/index.html")
    assert page.evaluate("safestarMap.overlays") == {"streets": False, "grids": False}
    assert page.locator("#ss-grids").count() == 0 and page.locator("#ss-streets").count() == 0


def test_no_basemap_fetches_nothing(page, site):
    site["tiles"].clear()
    write_map_viewer(site["root"] / "map", compounds=site["layer"], basemap=Basemap.from_env({}))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    _open_map(page, f"{site['url']}/map/index.html")
    page.select_option("#ss-district", index=1)
    assert site["tiles"] == []
    assert all(u.startswith(site["url"]) or u.startswith("data:") for u in requests), requests
    # the page fixture also fails the test on any request that leaves the machine


@pytest.mark.parametrize("crs", ["WGS84", "GCJ02"])
def test_a_configured_basemap_gets_the_matching_layers(page, site, crs):
    site["tiles"].clear()
    env = {"SAFESTAR_TILE_URL": f"{site['url']}/tiles/{{z}}/{{x}}/{{y}}.png", "SAFESTAR_TILE_CRS": crs,
           "SAFESTAR_TILE_ATTRIBUTION": "测试底图"}
    write_map_viewer(site["root"] / "map", compounds=site["layer"], basemap=Basemap.from_env(env))
    _open_map(page, f"{site['url']}/map/index.html")
    page.wait_for_function("document.querySelectorAll('.leaflet-tile-loaded').length > 0", timeout=10_000)
    assert site["tiles"] and all(t.startswith("/tiles/") for t in site["tiles"])
    assert page.evaluate("safestarMap.coordSys") == crs
    assert "测试底图" in page.inner_text(".leaflet-control-attribution")
    # the compounds drawn are the layer in the tiles' system
    import json
    suffix = "_gcj02" if crs == "GCJ02" else ""
    fc = json.loads((site["root"] / "map" / f"compounds{suffix}.geojson").read_text(encoding="utf-8"))
    first = next(f for f in fc["features"] if f["geometry"] and f["geometry"]["type"] == "Point")
    got = page.evaluate(f"(() => {{ const d = window.SAFESTAR_DATA.compounds, i = d.id.indexOf('{first['id']}'); "
                        "return [d.x[i], d.y[i]]; })()")
    assert got == first["geometry"]["coordinates"]
    hot = json.loads((site["root"] / "map" / f"hotspots{suffix}.geojson").read_text(encoding="utf-8"))
    assert page.evaluate("window.SAFESTAR_DATA.hotspots.features.map(f => f.geometry.coordinates)") == \
        [f["geometry"]["coordinates"] for f in hot["features"]]


def test_basemap_settings_are_checked():
    assert Basemap.from_env({}) == Basemap()
    with pytest.raises(ValueError, match="use WGS84 or GCJ02"):
        Basemap.from_env({"SAFESTAR_TILE_URL": "https://t.example/{z}/{x}/{y}.png", "SAFESTAR_TILE_CRS": "BD09"})
    with pytest.raises(ValueError, match=r"\{z\}, \{x\} and \{y\}"):
        Basemap.from_env({"SAFESTAR_TILE_URL": "https://t.example/tiles.png"})
    assert Basemap.from_env({"SAFESTAR_TILE_CRS": "gcj-02"}).crs == "GCJ02"


def test_artifacts_folder_is_the_projects():
    assert ARTIFACTS == Path(__file__).resolve().parents[2] / "artifacts"
