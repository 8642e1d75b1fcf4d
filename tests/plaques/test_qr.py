"""QR codes: the fast mask choice matches qrcode's, codes decode, quiet zone and EC level."""
from __future__ import annotations

import re

import numpy as np
import pytest
import qrcode
from PIL import Image

from plaques.qr import ERROR_CORRECTION, QUIET_ZONE, qr_matrix, qr_svg, write_qr_png
from plaques.sign import plaque_url
from tests.plaques.conftest import BASE_URL, SECRET
from tests.plaques.qr_decode import decode, matrix_from_path, raster

URLS = [plaque_url(BASE_URL, f"3502{k:02d}-XM{k:05d}-0{k % 3 + 1}", SECRET) for k in range(8)] + [
    "https://a.cn/p/x/y",
    "https://safestar.example.cn/" + "very-long-path/" * 12 + "end",  # version ≥ 7: version info blocks
]


@pytest.mark.parametrize("url", URLS)
def test_matrix_equals_qrcode_with_its_own_mask_choice(url):
    ref = qrcode.QRCode(error_correction=ERROR_CORRECTION, border=QUIET_ZONE)
    ref.add_data(url)
    ref.make(fit=True)
    assert np.array_equal(qr_matrix(url), np.array(ref.get_matrix(), dtype=bool))


def test_quiet_zone_is_four_light_modules():
    m = qr_matrix(URLS[0])
    assert not m[:QUIET_ZONE].any() and not m[-QUIET_ZONE:].any()
    assert not m[:, :QUIET_ZONE].any() and not m[:, -QUIET_ZONE:].any()
    assert m[QUIET_ZONE, QUIET_ZONE]  # the finder pattern starts right after it


@pytest.mark.parametrize("url", URLS)
def test_png_decodes_to_the_url(url, tmp_path):
    path = write_qr_png(url, tmp_path / "q.png", module_mm=0.5, dpi=600)
    img = Image.open(path)
    assert img.mode == "1"
    assert tuple(round(v) for v in img.info["dpi"]) == (600, 600)
    assert decode(img) == [url]


def test_png_module_size_follows_module_mm(tmp_path):
    url = URLS[0]
    n = qr_matrix(url).shape[0]
    img = Image.open(write_qr_png(url, tmp_path / "q.png", module_mm=1.0, dpi=600))
    assert img.size == (n * 24, n * 24)  # 1 mm at 600 dpi ≈ 23.6 px → 24 px a module


@pytest.mark.parametrize("url", URLS)
def test_svg_path_rasterised_decodes_to_the_url(url):
    svg = qr_svg(url)
    n = int(re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1))
    d = re.search(r'<path fill="#000" d="([^"]+)"', svg).group(1)
    assert decode(raster(matrix_from_path(d, n))) == [url]


def test_error_correction_is_q_or_better():
    assert ERROR_CORRECTION in (qrcode.constants.ERROR_CORRECT_Q, qrcode.constants.ERROR_CORRECT_H)
    import zxingcpp
    result = zxingcpp.read_barcodes(raster(qr_matrix(URLS[0])))[0]
    assert result.ec_level in ("Q", "H")


@pytest.mark.parametrize("version", [1, 5, 7, 10, 15, 25, 40])
@pytest.mark.parametrize("ec", [qrcode.constants.ERROR_CORRECT_L, qrcode.constants.ERROR_CORRECT_Q,
                                qrcode.constants.ERROR_CORRECT_H])
def test_codewords_match_qrcode(version, ec):
    from qrcode import util

    from plaques.qr_codewords import create_data
    capacity = sum(b.data_count for b in qrcode.base.rs_blocks(version, ec))
    text = ("HTTPS://A.CN/P/" + "ABC123-" * 400)[: max(1, capacity - 4)]
    data_list = [util.QRData(text.lower().encode()[: max(1, capacity - 4)])]
    assert create_data(version, ec, data_list) == util.create_data(version, ec, data_list)


@pytest.mark.parametrize("url", URLS[:3])
def test_svg_path_draws_exactly_the_dark_modules(url):
    from plaques.qr import svg_path
    m = qr_matrix(url)
    assert np.array_equal(matrix_from_path(svg_path(m), m.shape[0]), m)
