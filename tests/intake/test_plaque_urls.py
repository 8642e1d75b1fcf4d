"""Plaque URLs end to end: every URL a printed QR code holds, in both forms issued so far,
opens its page through the intake server, which checks the signature on request; no file
is written per plaque; altered URLs say 非正品牌匾."""
from __future__ import annotations

import json
import os
import re
import time
from urllib.parse import urlsplit

import httpx
import polars as pl
import pytest

from intake.tokens import add_officer
from plaques.keys import SECRET_ENV
from plaques.sign import sign_serial
from reports.site_data import public_rules, public_tables
from reports.site_store import FILE_NAME, write_publication
from schemas.public import CompoundMonthly, CompoundPublicStats
from scoring.rules import load_rules
from tests.intake.live import live_server
from tests.plaques.conftest import BASE_URL, KEYRING, SECRET
from tests.plaques.qr_decode import decode_svg
from tests.plaques.scenario import D2, build, pulled


def scenario_publication(folder, sc) -> None:
    """The second date's publication of the plaque scenario (no incidents)."""
    registry = sc.second.registry
    tables = public_tables(
        as_of=D2, ratings=sc.history.filter(pl.col("as_of") == D2), compounds=sc.compounds,
        stats=pl.DataFrame(schema=CompoundPublicStats.to_schema().columns.keys()).pipe(CompoundPublicStats.validate),
        monthly=pl.DataFrame(schema=CompoundMonthly.to_schema().columns.keys()).pipe(CompoundMonthly.validate),
        history=sc.history, suppress_below=3, group_labels={}, downgrade_labels={},
        plaques=registry, plaque_paths={s: KEYRING.url("", s) for s in registry["serial"]})
    folder.mkdir(parents=True, exist_ok=True)
    write_publication(folder / FILE_NAME, tables, {"as_of": D2.isoformat(), "suppress_below": "3", "demo": "0",
                                                   "rules": public_rules(load_rules())})


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    root = tmp_path_factory.mktemp("plaque-urls")
    sc = build(root / "out")
    made = []
    real_open = os.open

    def counting_open(path, flags, *args, **kwargs):
        if flags & os.O_CREAT:
            made.append(str(path))
        return real_open(path, flags, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "open", counting_open)
        scenario_publication(root / "pub", sc)
    # What a printer made of both batches (the QR codes on the walls).
    batches = [pulled(sc, root / "print", b) for b in ("B20260302", "B20260303")]
    return sc, root / "pub", made, batches


@pytest.fixture(scope="module")
def server(releases, tmp_path_factory):
    _, pub, _, _ = releases
    folder = tmp_path_factory.mktemp("plaque-intake")
    add_officer(folder / "intake.sqlite", "officer-1", "王警官")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SECRET_ENV, SECRET)  # the server checks signatures with the issuer's key
        with live_server(pub, folder / "intake.sqlite", folder / "server.jsonl") as srv:
            yield srv


def test_a_publication_makes_no_file_per_plaque(releases):
    sc, pub, made, _ = releases
    assert sorted(p.name for p in pub.iterdir()) == [FILE_NAME]
    assert len(sc.second.registry) >= 5 and not any("/p/" in m for m in made)


def test_printed_qr_urls_open_their_pages_through_the_intake_server(releases, server):
    sc, _, _, batches = releases
    rows = []
    for batch_dir in batches:
        manifest = pl.read_csv(batch_dir / "manifest.csv", infer_schema=False)
        for serial in manifest["编号"]:
            [url] = decode_svg((batch_dir / "qr" / f"{serial}.svg").read_bytes())
            rows.append((serial, url))
    assert {s for s, _ in rows} == set(sc.second.registry["serial"])
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for serial, url in rows:
            path = urlsplit(url).path
            assert url.startswith(BASE_URL.rstrip("/") + "/p/") and path.endswith(".html")
            r = client.get(path)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            assert serial in r.text and r.headers["etag"] and "max-age" in r.headers["cache-control"]
            # The page's relative links lead to the site's root and the compound's page.
            hrefs = re.findall(r'href="([^"]*)"', r.text)
            assert "../index.html" in hrefs and all(h.startswith("../") for h in hrefs)
            # The URL printed before key ids (same serial, bare MAC) opens the same page.
            legacy = client.get(f"/p/{serial}.{sign_serial(serial, SECRET)}.html")
            assert legacy.status_code == 200 and serial in legacy.text
            # The form printed on the first plaques: /p/<serial>/<signature>, redirected.
            sig = path.rsplit(".", 2)[1]
            folder_form = client.get(f"/p/{serial}/{sig}", follow_redirects=True)
            assert folder_form.status_code == 200 and serial in folder_form.text
        withdrawn = client.get(urlsplit(dict(rows)["350203-C1-01"]).path)
        assert "已收回" in withdrawn.text and "★" not in withdrawn.text.split("<main>")[1]
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
