"""The batch paths give what the one-at-a-time references give: QR matrices (qrcode), mask
penalties, SVG paths, PNG pixels, artwork (Jinja2), and a zip that zipfile reads back."""
from __future__ import annotations

import io
import zipfile
from datetime import date

import numpy as np
import pytest
import qrcode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import Environment
from PIL import Image

from plaques import qr as Q
from plaques.artwork import ArtworkRenderer, render_plaque_svg
from plaques.qr_codewords import layout, segment_key
from plaques.sign import plaque_url
from plaques.stencil import Stencils, slot
from plaques.zipwrite import MemberRun, ZipAssembler, dos_stamp
from tests.plaques.conftest import BASE_URL, SECRET

ALPHABET = "0123456789" * 3 + "ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:" + "abcxyz_?&é小区"
URLS = [plaque_url(BASE_URL, f"3502{k % 7:02d}-XM{k:06d}-0{k % 3 + 1}", SECRET) for k in range(40)]


def reference(text: str) -> np.ndarray:
    ref = qrcode.QRCode(error_correction=Q.ERROR_CORRECTION, border=Q.QUIET_ZONE)
    ref.add_data(text)
    ref.make(fit=True)
    return np.array(ref.get_matrix(), dtype=bool)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(ALPHABET, min_size=1, max_size=90), min_size=1, max_size=6))
def test_batch_matrices_equal_qrcode(texts):
    for text, m in zip(texts, Q.qr_matrices(texts)):
        assert np.array_equal(m, reference(text))


def test_urls_of_a_batch_share_one_layout_and_match_qrcode():
    assert len({layout(u.encode(), Q.ERROR_CORRECTION) for u in URLS}) == 1
    for u, m in zip(URLS, Q.qr_matrices(URLS)):
        assert np.array_equal(m, reference(u))
        assert m.shape[0] == Q.matrix_size(u)


# Characters qrcode may treat alike (alphanumeric, digits included), and byte-mode ones of
# equal UTF-8 length: swapping within a group keeps the length, maybe not the segments.
GROUPS = ["0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", "abcxyz_?&", "é", "小区"]


@settings(max_examples=40, deadline=None)
@given(st.text(ALPHABET, min_size=1, max_size=60), st.randoms(use_true_random=False))
def test_segment_key_decides_the_segments(text, rnd):
    other = "".join(rnd.choice(next(g for g in GROUPS if c in g)) for c in text)
    if segment_key(other.encode()) != segment_key(text.encode()):
        return  # a long run of digits broke or formed: another key, nothing to compare
    a, b = qrcode.QRCode(), qrcode.QRCode()
    a.add_data(text)
    b.add_data(other)
    assert [(d.mode, len(d)) for d in a.data_list] == [(d.mode, len(d)) for d in b.data_list]
    assert np.array_equal(Q.qr_matrices([other])[0], reference(other))


@pytest.mark.parametrize("n", [21, 45, 64, 69])
def test_packed_penalties_equal_the_dense_ones(n):
    rng = np.random.default_rng(n)
    stack = rng.random((120, n, n)) < rng.random((120, 1, 1))
    assert np.array_equal(Q.penalties(stack), Q._penalties_dense(stack))


def test_svg_paths_of_a_stack_equal_one_by_one():
    stack = np.stack(Q.qr_matrices(URLS))
    singles = [Q.svg_path(m) for m in stack]
    assert Q.svg_paths(stack) == singles
    assert len(set(singles)) == len(URLS)


@pytest.mark.parametrize("px", [1, 3, 24])
def test_png_pixels_are_the_modules(px):
    m = Q.qr_matrix(URLS[0])
    for _ in range(2):  # the row buffer is reused: a second image must not keep the first's rows
        img = Image.open(io.BytesIO(Q.png_bytes(m, px, 600)))
        assert img.mode == "1" and img.size == (m.shape[1] * px, m.shape[0] * px)
        dark = ~np.array(img, dtype=bool)
        assert np.array_equal(dark, np.repeat(np.repeat(m, px, axis=0), px, axis=1))
        m = Q.qr_matrix(URLS[1])


@pytest.mark.parametrize("name,stars,district,street", [
    ("鹭江花园", 5, "思明区", "厦港街道"), ("同安<新城>&苑", 1, "", ""), ('A "q" {x} \'s', 3, "", "街"),
    ("", 4, "区", ""), ("Sunshine Garden 2期", 2, "湖里区", "殿前街道"),
])
def test_artwork_stencil_equals_the_template(name, stars, district, street):
    renderer = ArtworkRenderer(2026)
    m = Q.qr_matrix(URLS[2])
    d = Q.svg_path(m)
    expected = render_plaque_svg(name=name, stars=stars, year=2026, serial="350203-C1-01", url=URLS[2], matrix=m,
                                 qr_path=d, district=district, street=street)
    for _ in range(2):  # the first fill is checked against Jinja2, the second is the stencil alone
        assert renderer.render(name=name, stars=stars, serial="350203-C1-01", n=m.shape[0], d=d,
                               district=district, street=street) == expected
    assert all(s is not None for s in renderer.stencils.export().values())


def test_a_template_computing_with_a_slot_falls_back_to_jinja():
    template = Environment(autoescape=True).from_string("<b>{{ name|upper }}</b> {{ serial }}")
    stencils = Stencils(lambda: template, ("name", "serial"), lambda key: {"name": slot("name"),
                                                                           "serial": slot("serial")},
                        lambda item: {"name": item[0], "serial": item[1]})
    for name in ("ab<c", "xy"):
        assert stencils.fill("k", (name, "S-1"), (name, "S-1")) == template.render(name=name, serial="S-1")
    assert stencils.export() == {"k": None}


def test_zip_of_member_runs_reads_back(tmp_path, monkeypatch):
    import plaques.zipwrite as zw
    stamp = dos_stamp(date(2026, 3, 2))
    files = {f"B/art/{k:03d}.svg": (f"<svg>{k}</svg>" * 50).encode() for k in range(5)}
    files |= {"B/manifest.csv": "序号,小区\n1,鹭江花园\n".encode(), "B/qr/000.png": bytes(range(256)) * 3}
    for big in (False, True):
        if big:  # the ZIP64 records, as an archive of 65,535+ members needs them
            monkeypatch.setattr(zw, "_MAX16", 3)
        run = MemberRun(stamp)
        for name in sorted(files)[:5]:
            run.add(name, files[name], compress=True)
        archive = ZipAssembler(tmp_path / f"b{big}.zip", stamp=stamp)
        archive.append(tmp_path / "run.bin", run.write(tmp_path / "run.bin"))
        archive.add("B/manifest.csv", files["B/manifest.csv"], compress=True)
        archive.add("B/qr/000.png", files["B/qr/000.png"], compress=False)
        path = archive.close()
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None
            assert zf.namelist() == sorted(files)
            assert {n: zf.read(n) for n in zf.namelist()} == files
            assert {i.date_time for i in zf.infolist()} == {(2026, 3, 2, 0, 0, 0)}
            assert zf.getinfo("B/qr/000.png").compress_type == zipfile.ZIP_STORED


def test_zip_members_must_come_in_name_order(tmp_path):
    archive = ZipAssembler(tmp_path / "x.zip", stamp=dos_stamp(date(2026, 3, 2)))
    archive.add("B/b.txt", b"b", compress=True)
    with pytest.raises(ValueError, match="out of order"):
        archive.add("B/a.txt", b"a", compress=True)
    archive.abort()
    assert not list(tmp_path.iterdir())


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["350203", None, "35020", "abcdef"]),
                          st.sampled_from(["思明区", "湖里区", None, "某某区", ""]),
                          st.sampled_from(["XM0001", "C-2", "小区1", "A_b9", "x" * 41]),
                          st.integers(1, 120)), max_size=30))
def test_vectorised_serials_equal_serial_for(rows):
    import polars as pl

    from plaques.serials import serial_for, serials_expr
    df = pl.DataFrame(rows, schema={"c": pl.String, "d": pl.String, "i": pl.String, "s": pl.Int32}, orient="row")
    assert df.select(serials_expr("c", "d", "i", "s"))["c"].to_list() == [serial_for(*r) for r in rows]
