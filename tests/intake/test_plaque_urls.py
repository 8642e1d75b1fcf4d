"""Flat plaque pages end to end: a night's release makes no per-plaque folder, and the URL a
printed QR code holds opens its page through the intake server (altered ones do not)."""
from __future__ import annotations

import json
import os
import re
import time
from urllib.parse import urlsplit

import httpx
import polars as pl
import pytest
from PIL import Image

from intake.tokens import add_officer
from plaques.pages import render_verification_pages
from plaques.sign import sign_serial
from tests.intake.live import live_server
from tests.plaques.conftest import BASE_URL, KEYRING, SECRET
from tests.plaques.qr_decode import decode
from tests.plaques.scenario import D1, D2, build, pulled


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    """Both dates' batches and sites; the second site is a nightly one (links the first's)."""
    root = tmp_path_factory.mktemp("plaque-urls")
    sc = build(root / "out")
    first, second = root / "out" / D1.isoformat() / "site", root / "out" / D2.isoformat() / "site"
    second.parent.mkdir(parents=True)  # the run's staged output folder exists before its site
    render_verification_pages(first, sc.first.registry, sc.history.filter(pl.col("as_of") == D1),
                              keyring=KEYRING)
    made = []
    real_mkdir = os.mkdir

    def counting_mkdir(path, *args, **kwargs):
        made.append(str(path))
        return real_mkdir(path, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "mkdir", counting_mkdir)
        render_verification_pages(second, sc.second.registry, sc.history, keyring=KEYRING,
                                  previous=first)
    # The intake server needs the site's compound list.
    (second / "search.json").write_text(json.dumps({"as_of": D2.isoformat(), "rows": [["C5"]]}), encoding="utf-8")
    # What a printer made of both batches (the QR codes on the walls).
    batches = [pulled(sc, root / "print", b) for b in ("B20260302", "B20260303")]
    return sc, first, second, made, batches


@pytest.fixture(scope="module")
def server(releases, tmp_path_factory):
    _, _, second, _, _ = releases
    folder = tmp_path_factory.mktemp("plaque-intake")
    add_officer(folder / "intake.sqlite", "officer-1", "王警官")
    with live_server(second, folder / "intake.sqlite", folder / "server.jsonl") as srv:
        yield srv


def test_a_nightly_release_makes_no_per_plaque_folder(releases):
    sc, first, second, made, _ = releases
    # Only the staging site and its p/ folder are created, whatever the number of plaques.
    assert made and set(made) <= {str(second), str(second / "p")}
    for site, registry in ((first, sc.first.registry), (second, sc.second.registry)):
        entries = list((site / "p").iterdir())
        assert all(e.is_file() for e in entries)
        names = {e.name for e in entries}
        # Each page under both printed forms: the unkeyed MAC and the key id + MAC.
        assert names == {f"{s}.{sig}.html" for s in registry["serial"]
                         for sig in (sign_serial(s, SECRET), KEYRING.sign(s))} | {"index.html", "_fingerprints.json"}
    # Unchanged pages are links to the first release's files.
    page = f"350213-C5-01.{sign_serial('350213-C5-01', SECRET)}.html"
    assert (second / "p" / page).stat().st_ino == (first / "p" / page).stat().st_ino


def test_printed_qr_urls_open_their_pages_through_the_intake_server(releases, server):
    sc, _, second, _, batches = releases
    rows = []
    for batch_dir in batches:
        manifest = pl.read_csv(batch_dir / "manifest.csv", infer_schema=False)
        for serial in manifest["编号"]:
            [url] = decode(Image.open(batch_dir / "qr" / f"{serial}.png").convert("L").reduce(4))
            rows.append((serial, url))
    assert {s for s, _ in rows} == set(sc.second.registry["serial"])
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for serial, url in rows:
            path = urlsplit(url).path
            assert url.startswith(BASE_URL.rstrip("/") + "/p/") and path.endswith(".html")
            r = client.get(path)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            assert r.content == (second / path.lstrip("/")).read_bytes() and serial in r.text
            # The page's relative links lead to the site's root and the compound's flat page.
            hrefs = re.findall(r'href="([^"]*)"', r.text)
            assert "../" in hrefs and all(h == "../" or re.fullmatch(r"\.\./c/[\w-]+\.html", h) for h in hrefs)
            # The URL printed before key ids (same serial, bare MAC) opens the same page.
            legacy = client.get(f"/p/{serial}.{sign_serial(serial, SECRET)}.html")
            assert legacy.status_code == 200 and legacy.content == r.content
        withdrawn = client.get(urlsplit(dict(rows)["350203-C1-01"]).path)
        assert "已收回" in withdrawn.text
        serial, url = rows[0]
        sig = KEYRING.sign(serial)
        other = "350213-C5-09"
        altered = [path := urlsplit(url).path,
                   path.replace(sig, sig[:-1] + ("A" if sig[-1] != "A" else "B")),
                   path.replace(serial, other),
                   f"/p/{other}.{sign_serial(other, SECRET)}.html"]  # well signed but never issued
        for bad in altered[1:]:
            r = client.get(bad)
            assert r.status_code == 404 and "非正品牌匾" in r.text, bad
    refused = set()
    deadline = time.monotonic() + 10
    while not set(altered[1:]) <= refused and time.monotonic() < deadline:
        time.sleep(0.05)  # the server logs a request once its response is sent
        logged = [json.loads(line) for line in server.log.read_text(encoding="utf-8").splitlines()
                  if line.startswith("{")]
        refused = {entry["path"] for entry in logged if entry.get("reason") == "not_genuine"}
    assert set(altered[1:]) <= refused and altered[0] not in refused
