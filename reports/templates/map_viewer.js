/* SafeStar map viewer: compounds by star level on one canvas, over Leaflet.
 * Data: window.SAFESTAR_DATA (map_data.js, column-wise); config: window.SAFESTAR_CONFIG.
 * The compound layer writes pixels straight into an ImageData buffer because 100,000
 * compounds drawn as canvas paths or Leaflet markers take seconds per redraw. */
(function () {
  "use strict";
  var el = document.getElementById("map");
  var D = window.SAFESTAR_DATA, CFG = window.SAFESTAR_CONFIG || {};
  if (!D || !window.L) {
    el.textContent = "地图数据（map_data.js）或地图库未能加载。";
    return;
  }
  var C = D.compounds, N = C.n;
  // colour classes: 0 not rated, 1..5 stars, 6 vetoed (its own colour, never the grey of
  // not rated: a veto is the first thing an analyst looks for)
  var VETOED = 6;
  var STAR_COLOURS = ["#bdbdbd", "#d7301f", "#fc8d59", "#fdd835", "#91cf60", "#1a9850", "#3b0a57"];
  var STAR_NAMES = ["未评定", "一星", "二星", "三星", "四星", "五星", "一票否决"];
  var STATUS_NAMES = D.statusNames || {};
  var HOT_EDGE = "#0d47a1", HOT_FILL = "#42a5f5";

  function rgb(hex) {
    return [parseInt(hex.substr(1, 2), 16), parseInt(hex.substr(3, 2), 16), parseInt(hex.substr(5, 2), 16)];
  }
  function packed(c, f) {  // ImageData pixels are little-endian ABGR
    return ((255 << 24) | ((c[2] * f) << 16) | ((c[1] * f) << 8) | (c[0] * f)) >>> 0;
  }
  var FILL = STAR_COLOURS.map(function (h) { return packed(rgb(h), 1); });
  var EDGE = STAR_COLOURS.map(function (h) { return packed(rgb(h), 0.55); });

  // Web-Mercator pixel coordinates at zoom 0 (Leaflet's EPSG:3857, a 256-pixel world)
  var px = new Float64Array(N), py = new Float64Array(N), has = new Uint8Array(N);
  var stars = new Uint8Array(N), district = new Uint16Array(N), street = new Uint16Array(N), status = new Uint8Array(N);
  var minLon = 180, maxLon = -180, minLat = 90, maxLat = -90;
  function mercY(lat) {
    var s = Math.sin(Math.max(Math.min(lat, 85.0511287798), -85.0511287798) * Math.PI / 180);
    return (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * 256;
  }
  for (var i = 0; i < N; i++) {
    var x = C.x[i], y = C.y[i];
    stars[i] = C.statuss[C.status[i]] === "vetoed" ? VETOED : C.stars[i];
    district[i] = C.district[i];
    street[i] = C.street[i];
    status[i] = C.status[i];
    if (x === null || y === null) continue;
    has[i] = 1;
    px[i] = (x + 180) / 360 * 256;
    py[i] = mercY(y);
    if (x < minLon) minLon = x; if (x > maxLon) maxLon = x;
    if (y < minLat) minLat = y; if (y > maxLat) maxLat = y;
  }
  // polygons (GeoJSON geometries): projected exterior rings as flat x, y arrays and their pixel bounding boxes
  var shapeOf = new Int32Array(N).fill(-1), shapes = [];
  C.shapes.forEach(function (s) {
    var polygons = s[1].type === "Polygon" ? [s[1].coordinates] : s[1].coordinates;
    var rings = polygons.map(function (polygon) {
      var ring = polygon[0], r = new Float64Array(ring.length * 2);
      for (var k = 0; k < ring.length; k++) { r[2 * k] = (ring[k][0] + 180) / 360 * 256; r[2 * k + 1] = mercY(ring[k][1]); }
      return r;
    });
    var b = [Infinity, Infinity, -Infinity, -Infinity];
    rings.forEach(function (r) {
      for (var k = 0; k < r.length; k += 2) {
        b[0] = Math.min(b[0], r[k]); b[1] = Math.min(b[1], r[k + 1]);
        b[2] = Math.max(b[2], r[k]); b[3] = Math.max(b[3], r[k + 1]);
      }
    });
    shapeOf[s[0]] = shapes.length;
    shapes.push({ rings: rings, bbox: b });
  });
  // draw not-rated and the safest first, so low stars and vetoes (the ones to act on) end up on top
  var order = new Uint32Array(N);
  (function () {
    var k = 0;
    [0, 5, 4, 3, 2, 1, VETOED].forEach(function (s) { for (var j = 0; j < N; j++) if (stars[j] === s) order[k++] = j; });
  })();

  // ---- filters --------------------------------------------------------------
  var filter = { stars: [true, true, true, true, true, true, true], district: -1, street: -1, status: {}, q: "" };
  C.statuss.forEach(function (s, k) { filter.status[k] = true; });
  var visible = new Uint8Array(N), visibleCount = 0;
  function applyFilter() {
    visibleCount = 0;
    for (var j = 0; j < N; j++) {
      var v = has[j] && filter.stars[stars[j]] && filter.status[status[j]] &&
        (filter.district === -1 || district[j] === filter.district) &&
        (filter.street === -1 || street[j] === filter.street) &&
        (!filter.q || C.name[j].indexOf(filter.q) >= 0 || C.id[j].indexOf(filter.q) >= 0) ? 1 : 0;
      visible[j] = v;
      visibleCount += v;
    }
  }
  applyFilter();

  var POLYGON_ZOOM = 15;
  function squareSize(z) { return z <= 10 ? 2 : z <= 11 ? 3 : z <= 12 ? 4 : z <= 13 ? 5 : z <= 14 ? 7 : 9; }

  // ---- the compound canvas layer --------------------------------------------
  var CompoundLayer = L.Layer.extend({
    drawn: 0, lastMs: 0,
    onAdd: function (map) {
      this._canvas = L.DomUtil.create("canvas", "leaflet-zoom-animated ss-compounds");
      this._canvas.setAttribute("aria-hidden", "true");
      map.getPanes().overlayPane.appendChild(this._canvas);
      map.on("moveend viewreset resize", this._reset, this);
      map.on("zoomanim", this._animateZoom, this);
      this._reset();
    },
    onRemove: function (map) {
      L.DomUtil.remove(this._canvas);
      map.off("moveend viewreset resize", this._reset, this);
      map.off("zoomanim", this._animateZoom, this);
    },
    _animateZoom: function (e) {
      var map = this._map;
      var scale = map.getZoomScale(e.zoom, this._zoom);
      var offset = map._latLngBoundsToNewLayerBounds(this._bounds, e.zoom, e.center).min;
      L.DomUtil.setTransform(this._canvas, offset, scale);
    },
    _reset: function () {
      var map = this._map, size = map.getSize(), c = this._canvas;
      var dpr = window.devicePixelRatio || 1;
      L.DomUtil.setPosition(c, map.containerPointToLayerPoint([0, 0]));
      c.width = Math.max(1, Math.round(size.x * dpr));
      c.height = Math.max(1, Math.round(size.y * dpr));
      c.style.width = size.x + "px";
      c.style.height = size.y + "px";
      this._bounds = map.getBounds();
      this._zoom = map.getZoom();
      this.draw();
    },
    draw: function () {
      var t0 = performance.now();
      var map = this._map, c = this._canvas, ctx = c.getContext("2d");
      var W = c.width, H = c.height, dpr = W / Math.max(1, map.getSize().x);
      var z = map.getZoom(), sc = Math.pow(2, z), o = map.getPixelBounds().min;
      var s = Math.max(2, Math.round(squareSize(z) * dpr)), half = s >> 1;
      var polys = z >= POLYGON_ZOOM;
      var img = ctx.createImageData(W, H), buf = new Uint32Array(img.data.buffer);
      var drawn = 0, shown = [];
      for (var k = 0; k < N; k++) {
        var j = order[k];
        if (!visible[j]) continue;
        var cx = Math.round((px[j] * sc - o.x) * dpr), cy = Math.round((py[j] * sc - o.y) * dpr);
        if (cx < -half || cy < -half || cx >= W + half || cy >= H + half) {
          if (!(polys && shapeOf[j] >= 0 && this._shapeInView(shapeOf[j], sc, o, W / dpr, H / dpr))) continue;
        }
        drawn++;
        if (polys && shapeOf[j] >= 0) { shown.push(j); continue; }
        var x0 = Math.max(0, cx - half), x1 = Math.min(W, cx - half + s);
        var y0 = Math.max(0, cy - half), y1 = Math.min(H, cy - half + s);
        var fill = FILL[stars[j]], edge = s >= 5 ? EDGE[stars[j]] : fill;
        for (var yy = y0; yy < y1; yy++) {
          var row = yy * W, border = yy === cy - half || yy === cy - half + s - 1;
          for (var xx = x0; xx < x1; xx++) {
            buf[row + xx] = border || xx === cx - half || xx === cx - half + s - 1 ? edge : fill;
          }
        }
      }
      ctx.putImageData(img, 0, 0);
      if (shown.length) this._drawPolygons(ctx, shown, sc, o, dpr);
      this.drawn = drawn;
      this.lastMs = performance.now() - t0;
      el.setAttribute("data-drawn", String(drawn));
      el.setAttribute("data-draw-ms", this.lastMs.toFixed(1));
      if (counter) counter.textContent = drawn + " / " + N;
    },
    _shapeInView: function (k, sc, o, w, h) {
      var b = shapes[k].bbox;
      return b[2] * sc - o.x >= 0 && b[0] * sc - o.x <= w && b[3] * sc - o.y >= 0 && b[1] * sc - o.y <= h;
    },
    _drawPolygons: function (ctx, list, sc, o, dpr) {
      ctx.save();
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.lineWidth = 1.2;
      list.forEach(function (j) {
        ctx.beginPath();
        shapes[shapeOf[j]].rings.forEach(function (r) {
          for (var k = 0; k < r.length; k += 2) {
            var x = r[k] * sc - o.x, y = r[k + 1] * sc - o.y;
            if (k === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
          }
          ctx.closePath();
        });
        ctx.fillStyle = STAR_COLOURS[stars[j]];
        ctx.globalAlpha = 0.75;
        ctx.fill();
        ctx.globalAlpha = 1;
        ctx.strokeStyle = "#333";
        ctx.stroke();
      });
      ctx.restore();
    }
  });

  // ---- map, basemap, outlines, hotspots -------------------------------------
  var map = L.map(el, { preferCanvas: true, zoomSnap: 1, minZoom: 3, maxZoom: 19, attributionControl: !!CFG.tileUrl });
  if (CFG.tileUrl) {
    L.tileLayer(CFG.tileUrl, { maxZoom: 19, attribution: CFG.tileAttribution || "" }).addTo(map);
  }
  var outlines = L.geoJSON(D.districts, {
    interactive: false,
    style: function () { return { color: "#17324d", weight: 1.5, fill: true, fillColor: "#ffffff", fillOpacity: CFG.tileUrl ? 0 : 0.6 }; }
  }).addTo(map);
  // street and grid outlines, when the data has them (thin lines, toggled in the panel)
  var streetLines = D.streets && D.streets.features && D.streets.features.length ? L.geoJSON(D.streets, {
    interactive: false, style: function () { return { color: "#37474f", weight: 1, dashArray: "4 3", fill: false }; }
  }) : null;
  var gridLines = D.grids && D.grids.features && D.grids.features.length ? L.geoJSON(D.grids, {
    interactive: false, style: function () { return { color: "#78909c", weight: 0.6, fill: false }; }
  }) : null;
  if (streetLines) streetLines.addTo(map);
  (D.districts.features || []).forEach(function (f) {
    var p = f.properties || {}, lp = p.label_point;
    var at = lp ? L.latLng(lp[1], lp[0]) : L.geoJSON(f).getBounds().getCenter();
    var share = p.five_star_share === null || p.five_star_share === undefined ? "" :
      " · 五星 " + (p.five_star_share * 100).toFixed(1) + "%";
    L.marker(at, { interactive: false, keyboard: false, icon: L.divIcon({ className: "ss-district-label", html: esc(p.district || "") + share, iconSize: null }) }).addTo(map);
  });
  // common problems: the report's list, drawn where it is; they follow the district and
  // street filters
  var hotspots = (D.hotspots.features || []).filter(function (f) { return f.geometry; }).map(function (f) {
    var p = f.properties || {}, c = f.geometry.coordinates;
    var kind = p.kind === "rising" ? "上升" : p.kind === "concentrated" ? "集中" : (p.kind || "");
    var effect = p.effect === null || p.effect === undefined ? "上期为 0" : fmt(p.effect) + " 倍";
    var interval = "（" + fmt(p.effect_low) + "–" + (p.effect_high === null || p.effect_high === undefined ? "∞" : fmt(p.effect_high)) + "）";
    var change = p.kind === "rising" && p.change ? "，上期 " + fmt(p.n_before) + " → 本期 " + fmt(p.n_now) : "，本期 " + fmt(p.n_now);
    var marker = L.circleMarker([c[1], c[0]], { radius: 6 + Math.min(14, Math.sqrt(Math.max(0, -Math.log10(Math.max(p.q_value || 1, 1e-12)))) * 4),
                                               color: HOT_EDGE, weight: 2, fillColor: HOT_FILL, fillOpacity: 0.35 })
      .bindTooltip("共性问题：" + esc(p.region || "") + " · " + esc(p.group || "") + "（" + kind + "）" + change +
        "<br>效应 " + effect + interval + "，q " + (p.q_value < 0.001 ? "< 0.001" : "= " + fmt(p.q_value, 3)));
    return { marker: marker, p: p };
  });
  var hotspotLayer = L.layerGroup();
  var hotspotsOn = true;
  function hotspotVisible(p) {
    var d = filter.district >= 0 ? C.districts[filter.district] : null;
    var st = filter.street >= 0 ? C.streets[filter.street] : null;
    if (filter.district === -2 || filter.street === -2) return false;
    if (st !== null) {
      var stDistrict = streetDistrict[filter.street];
      return p.level === "street" ? p.region === st && (!p.district || p.district === stDistrict)
                                  : (p.region === stDistrict || p.district === stDistrict);
    }
    if (d !== null) return p.district === d || (p.level === "district" && p.region === d);
    return true;
  }
  function refreshHotspots() {
    hotspotLayer.clearLayers();
    var n = 0;
    hotspots.forEach(function (h) { if (hotspotVisible(h.p)) { hotspotLayer.addLayer(h.marker); n++; } });
    el.setAttribute("data-hotspots", String(n));
    return n;
  }
  var layer = new CompoundLayer();
  var counter = null;

  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (ch) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[ch];
    });
  }
  function fmt(v, d) { return v === null || v === undefined ? "—" : (typeof v === "number" && v % 1 ? v.toFixed(d || 2) : String(v)); }

  // ---- controls: filters and legend -----------------------------------------
  var panel = L.control({ position: "topright" });
  panel.onAdd = function () {
    var div = L.DomUtil.create("div", "ss-panel");
    var html = "<h1>平安星级小区电子地图</h1><div>显示小区 <span class=\"ss-count\" id=\"ss-count\"></span></div>";
    html += "<fieldset><legend>星级</legend>";
    [5, 4, 3, 2, 1, 0, VETOED].forEach(function (s) { html += "<label><input type=\"checkbox\" data-star=\"" + s + "\" checked> " + STAR_NAMES[s] + "</label>"; });
    html += "</fieldset><fieldset><legend>区</legend><select id=\"ss-district\"><option value=\"-1\">全部</option>";
    C.districts.forEach(function (d, k) { html += "<option value=\"" + k + "\">" + esc(d || "（未知）") + "</option>"; });
    html += "</select><select id=\"ss-street\" aria-label=\"街道\"></select></fieldset>";
    html += "<fieldset><legend>小区名称或编号</legend><input id=\"ss-search\" type=\"search\" placeholder=\"输入后筛选\" style=\"width:100%\"></fieldset>";
    html += "<fieldset><legend>状态</legend>";
    var rank = { rated: 0, downgraded: 1, vetoed: 2, not_rated: 3 };
    C.statuss.map(function (st, k) { return [st, k]; })
      .sort(function (a, b) { return (rank[a[0]] === undefined ? 9 : rank[a[0]]) - (rank[b[0]] === undefined ? 9 : rank[b[0]]); })
      .forEach(function (p) { html += "<label><input type=\"checkbox\" data-status=\"" + p[1] + "\" checked> " + esc(STATUS_NAMES[p[0]] || p[0]) + "</label>"; });
    html += "</fieldset><label><input type=\"checkbox\" id=\"ss-hotspots\" checked> 共性问题热点</label>";
    if (streetLines) html += "<label><input type=\"checkbox\" id=\"ss-streets\" checked> 街道边界</label>";
    if (gridLines) html += "<label><input type=\"checkbox\" id=\"ss-grids\"> 网格边界</label>";
    div.innerHTML = html;
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    div.addEventListener("change", function (e) {
      var t = e.target;
      if (t.hasAttribute("data-star")) filter.stars[+t.getAttribute("data-star")] = t.checked;
      else if (t.hasAttribute("data-status")) filter.status[+t.getAttribute("data-status")] = t.checked;
      else if (t.id === "ss-district") { filter.district = +t.value; filter.street = -1; fillStreets(); refresh(); zoomToSelection(); return; }
      else if (t.id === "ss-street") { filter.street = +t.value; refresh(); zoomToSelection(); return; }
      else if (t.id === "ss-hotspots") { hotspotsOn = t.checked; if (t.checked) hotspotLayer.addTo(map); else map.removeLayer(hotspotLayer); return; }
      else if (t.id === "ss-streets") { if (t.checked) streetLines.addTo(map); else map.removeLayer(streetLines); return; }
      else if (t.id === "ss-grids") { if (t.checked) gridLines.addTo(map); else map.removeLayer(gridLines); return; }
      refresh();
    });
    div.addEventListener("input", function (e) {
      if (e.target.id !== "ss-search") return;
      filter.q = e.target.value.trim();
      refresh();
    });
    return div;
  };
  panel.addTo(map);
  counter = document.getElementById("ss-count");
  // streets offered for the chosen district (all streets when no district is chosen)
  var streetsOf = {}, streetDistrict = {};
  for (var j0 = 0; j0 < N; j0++) {
    (streetsOf[district[j0]] = streetsOf[district[j0]] || {})[street[j0]] = 1;
    streetDistrict[street[j0]] = C.districts[district[j0]];
  }
  function fillStreets() {
    var sel = document.getElementById("ss-street"), keys = {};
    if (filter.district >= 0) keys = streetsOf[filter.district] || {};
    else Object.keys(streetsOf).forEach(function (d) { Object.assign(keys, streetsOf[d]); });
    var opts = "<option value=\"-1\">全部街道</option>";
    Object.keys(keys).map(Number).sort(function (a, b) { return C.streets[a] < C.streets[b] ? -1 : 1; })
      .forEach(function (k) { opts += "<option value=\"" + k + "\">" + esc(C.streets[k] || "（未知）") + "</option>"; });
    sel.innerHTML = opts;
  }
  fillStreets();

  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    var div = L.DomUtil.create("div", "ss-panel ss-legend");
    var counts = [0, 0, 0, 0, 0, 0, 0];
    for (var j = 0; j < N; j++) counts[stars[j]]++;
    var html = "<strong>图例（小区数）</strong><br>";
    [5, 4, 3, 2, 1, VETOED, 0].forEach(function (s) {
      html += "<i style=\"background:" + STAR_COLOURS[s] + "\"></i>" + STAR_NAMES[s] + " <span data-legend=\"" + s + "\">" + counts[s] + "</span><br>";
    });
    html += "<i style=\"background:" + HOT_FILL + ";border-color:" + HOT_EDGE + ";border-radius:50%\"></i>共性问题热点";
    div.innerHTML = html;
    return div;
  };
  legend.addTo(map);

  function refresh() { applyFilter(); layer.draw(); refreshHotspots(); }
  // bounds of the compounds shown (or of the district's outline when none has a place)
  function visibleBounds() {
    var a = 180, b = -180, c = 90, d = -90;
    for (var j = 0; j < N; j++) {
      if (!visible[j]) continue;
      var x = C.x[j], y = C.y[j];
      if (x < a) a = x; if (x > b) b = x; if (y < c) c = y; if (y > d) d = y;
    }
    return b >= a ? L.latLngBounds([c, a], [d, b]) : null;
  }
  function zoomToSelection() {
    var bounds = filter.district === -1 && filter.street === -1 ? fullBounds : visibleBounds();
    if (!bounds && filter.district >= 0) {
      var name = C.districts[filter.district];
      outlines.eachLayer(function (l) { if ((l.feature.properties || {}).district === name) bounds = l.getBounds(); });
    }
    var pad = fitPadding();
    if (bounds) map.fitBounds(bounds, { paddingTopLeft: pad[0], paddingBottomRight: pad[1], maxZoom: 17, animate: false });
  }
  // keep the chosen area clear of the filter panel on a wide screen (on a phone the panel
  // covers the map whatever the padding)
  function fitPadding() {
    var panelEl = document.querySelector(".ss-panel"), w = map.getSize().x;
    var right = panelEl && w >= 700 ? panelEl.offsetWidth + 30 : 40;
    return [[40, 40], [right, 40]];
  }

  // ---- popups ----------------------------------------------------------------
  function pointInRings(rings, x, y) {
    var inside = false;
    rings.forEach(function (r) {
      for (var a = 0, b = r.length - 2; a < r.length; b = a, a += 2) {
        if ((r[a + 1] > y) !== (r[b + 1] > y) && x < (r[b] - r[a]) * (y - r[a + 1]) / (r[b + 1] - r[a + 1]) + r[a]) inside = !inside;
      }
    });
    return inside;
  }
  function featureAt(containerPoint) {
    var z = map.getZoom(), sc = Math.pow(2, z), o = map.getPixelBounds().min;
    var wx = (containerPoint.x + o.x) / sc, wy = (containerPoint.y + o.y) / sc;
    var best = -1, bestD = Math.pow(squareSize(z) / 2 + 4, 2);
    for (var j = 0; j < N; j++) {
      if (!visible[j]) continue;
      if (z >= POLYGON_ZOOM && shapeOf[j] >= 0) {
        var b = shapes[shapeOf[j]].bbox;
        if (wx >= b[0] && wx <= b[2] && wy >= b[1] && wy <= b[3] && pointInRings(shapes[shapeOf[j]].rings, wx, wy)) return j;
        continue;
      }
      var dx = px[j] * sc - o.x - containerPoint.x, dy = py[j] * sc - o.y - containerPoint.y, d = dx * dx + dy * dy;
      if (d <= bestD) { bestD = d; best = j; }
    }
    return best;
  }
  function popupHtml(j) {
    var st = C.statuss[C.status[j]], idx = C.index[j];
    var starText = st === "vetoed" ? "一票否决" : st === "not_rated" ? "未评定" :
      "★★★★★".slice(0, stars[j]) + "☆☆☆☆☆".slice(0, 5 - stars[j]);
    var rows = [["编号", C.id[j]], ["区", C.districts[C.district[j]]], ["街道", C.streets[C.street[j]]],
      ["社区", C.communitys[C.community[j]]], ["网格", C.grid_code[j]], ["状态", STATUS_NAMES[st] || st],
      ["平安指数", idx === null ? "—" : idx.toFixed(1)], ["主要问题", C.leading_groups[C.leading_group[j]] || "—"]];
    var href = (CFG.siteBase || "../site") + "/c/" + encodeURIComponent(C.id[j]) + ".html";
    return "<div class=\"ss-popup\"><h3>" + esc(C.name[j]) + "</h3><div class=\"ss-stars\">" + starText + "</div><table>" +
      rows.map(function (r) { return "<tr><td>" + r[0] + "</td><td>" + esc(r[1]) + "</td></tr>"; }).join("") +
      "</table><a href=\"" + esc(href) + "\" target=\"_blank\" rel=\"noopener\">查看小区公开页面</a></div>";
  }
  map.on("click", function (e) {
    var j = featureAt(e.containerPoint);
    if (j >= 0) L.popup().setLatLng([C.y[j], C.x[j]]).setContent(popupHtml(j)).openOn(map);
  });

  // ---- initial view ------------------------------------------------------------
  var fullBounds = maxLon >= minLon ? L.latLngBounds([minLat, minLon], [maxLat, maxLon])
    : outlines.getLayers().length ? outlines.getBounds() : null;
  if (fullBounds) map.fitBounds(fullBounds, { padding: [30, 30], animate: false });
  else map.setView([24.48, 118.1], 11);
  layer.addTo(map);
  hotspotLayer.addTo(map);
  refreshHotspots();

  window.safestarMap = {
    map: map,
    total: N,
    ready: true,
    drawnCount: function () { return layer.drawn; },
    visibleCount: function () { return visibleCount; },
    lastDrawMs: function () { return layer.lastMs; },
    redraw: function () { layer.draw(); return layer.lastMs; },
    setFilter: function (f) {
      // star 0 means "no stars": not rated and vetoed, unless the vetoed class (6) is named apart
      if (f.stars) filter.stars = [0, 1, 2, 3, 4, 5, VETOED].map(function (s) { return f.stars.indexOf(s) >= 0 || (s === VETOED && f.stars.indexOf(0) >= 0); });
      if (f.district !== undefined) { var dk = C.districts.indexOf(f.district); filter.district = f.district ? (dk >= 0 ? dk : -2) : -1; }
      if (f.street !== undefined) { var sk = C.streets.indexOf(f.street); filter.street = f.street ? (sk >= 0 ? sk : -2) : -1; }
      if (f.q !== undefined) filter.q = f.q;
      if (f.status) C.statuss.forEach(function (st, k) { filter.status[k] = f.status.indexOf(st) >= 0; });
      refresh();
      if (f.district !== undefined || f.street !== undefined) zoomToSelection();
      return layer.drawn;
    },
    hotspotCount: function () { return hotspotsOn ? hotspotLayer.getLayers().length : 0; },
    hotspotRegions: function () { return hotspotLayer.getLayers().map(function (m) { var h = hotspots.filter(function (x) { return x.marker === m; })[0]; return h.p.kind + "|" + h.p.level + "|" + h.p.region + "|" + h.p.group; }); },
    colourOf: function (id) { return STAR_COLOURS[stars[C.id.indexOf(id)]]; },
    coordSys: CFG.coordSys || "WGS84",
    fitPadding: fitPadding,
    overlays: { streets: !!streetLines, grids: !!gridLines },
    overlaysShown: function () {
      return { streets: !!streetLines && map.hasLayer(streetLines), grids: !!gridLines && map.hasLayer(gridLines),
               gridCount: gridLines ? gridLines.getLayers().length : 0, streetCount: streetLines ? streetLines.getLayers().length : 0 };
    },
    featureAt: function (x, y) { var j = featureAt(L.point(x, y)); return j >= 0 ? C.id[j] : null; },
    popupHtml: function (id) { return popupHtml(C.id.indexOf(id)); }
  };
})();
