"""Nightly verification pages: unchanged pages are hard-linked from the previous site, the
others rendered; every page reads as a full render would, its rating date aside."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
import pytest

from plaques.pages import FINGERPRINTS, _context, render_verification_pages
from plaques.keys import Keyring, SigningKey
from plaques.sign import sign_serial
from plaques.templates import template
from tests.plaques.conftest import KEYRING, SECRET
from tests.plaques.scenario import D1, D2, build


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    sc = build(tmp_path_factory.mktemp("out"))
    root = tmp_path_factory.mktemp("sites")
    first = sc.history.filter(pl.col("as_of") == D1)
    render_verification_pages(root / "s1", sc.first.registry, first, keyring=KEYRING)
    before = digests(root / "s1")
    nightly = render_verification_pages(root / "s2", sc.second.registry, sc.history, keyring=KEYRING, previous=root / "s1")
    render_verification_pages(root / "full", sc.second.registry, sc.history, keyring=KEYRING)
    return sc, root, before, nightly


def digests(site: Path) -> dict[str, str]:
    return {str(p.relative_to(site)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(site.rglob("*")) if p.is_file()}


def page(site: Path, serial: str, secret: str = SECRET) -> Path:
    return site / "p" / f"{serial}.{sign_serial(serial, secret)}.html"


def test_unchanged_pages_are_links_to_the_previous_site(sites):
    _, root, _, nightly = sites
    # C4 and C5 kept their stars and plaques: nothing on their pages changed but the date.
    for serial in ("350212-C4-01", "350213-C5-01"):
        assert page(root / "s2", serial).stat().st_ino == page(root / "s1", serial).stat().st_ino
    # C1 was vetoed (withdrawn), C2 downgraded (replaced), C3 rose by its index (pending).
    changed = {"350203-C1-01", "350205-C2-01", "350205-C2-02", "JM-C3-01"}
    for serial in changed - {"350205-C2-02"}:
        assert page(root / "s2", serial).stat().st_ino != page(root / "s1", serial).stat().st_ino
    assert {p.name.split(".")[0] for p in nightly if p.parent.name == "p" and p.name != "index.html"} == changed


def test_nightly_pages_read_as_a_full_render_but_for_the_rating_date(sites):
    sc, root, _, _ = sites
    for serial in sc.second.registry["serial"]:
        full = page(root / "full", serial).read_text(encoding="utf-8")
        night = page(root / "s2", serial).read_text(encoding="utf-8")
        assert night in (full, full.replace(f"{D2.year}年{D2.month}月{D2.day}日", f"{D1.year}年{D1.month}月{D1.day}日"))
    assert "已收回" in page(root / "s2", "350203-C1-01").read_text(encoding="utf-8")
    assert "将更换牌匾" in page(root / "s2", "JM-C3-01").read_text(encoding="utf-8")


def test_the_previous_site_is_left_as_it_was(sites):
    _, root, before, _ = sites
    assert digests(root / "s1") == before


def test_fingerprints_name_every_plaque_and_no_signature(sites):
    sc, root, _, _ = sites
    prints = json.loads((root / "s2" / "p" / FINGERPRINTS).read_text(encoding="utf-8"))
    assert sorted(prints) == sorted(sc.second.registry["serial"])
    text = json.dumps(prints)
    assert not any(sign_serial(s, SECRET) in text for s in prints)


def test_another_secret_renders_every_page(sites, tmp_path):
    sc, root, _, _ = sites
    other = "another-secret-0123456789"
    written = render_verification_pages(tmp_path / "s", sc.second.registry, sc.history,
                                        keyring=Keyring(SigningKey.of(other)), previous=root / "s2")
    assert len(written) == sc.second.registry.height + 2
    for serial in sc.second.registry["serial"]:
        assert page(tmp_path / "s", serial, other).is_file()


def test_stencil_pages_equal_the_template(sites):
    sc, root, _, _ = sites
    from plaques.pages import _COLUMNS
    from plaques.verify import status_frame
    for row in status_frame(sc.second.registry, sc.history).select(_COLUMNS).rows():
        expected = template("plaque_verify.html").render(**_context(row))
        assert page(root / "full", row[0]).read_text(encoding="utf-8") == expected


def test_a_previous_release_in_the_folder_layout_renders_every_page_flat(sites, tmp_path):
    sc, root, _, _ = sites
    # The release before the flat layout: same fingerprints, pages at p/<serial>/<signature>/index.html.
    old = tmp_path / "old" / "p"
    old.mkdir(parents=True)
    (old / FINGERPRINTS).write_bytes((root / "s2" / "p" / FINGERPRINTS).read_bytes())
    for serial in sc.second.registry["serial"]:
        folder = old / serial / sign_serial(serial, SECRET)
        folder.mkdir(parents=True)
        (folder / "index.html").write_bytes(page(root / "s2", serial).read_bytes())
    written = render_verification_pages(tmp_path / "s", sc.second.registry, sc.history, keyring=KEYRING, previous=tmp_path / "old")
    assert len(written) == sc.second.registry.height + 2
    assert digests(tmp_path / "s") == digests(root / "full")
