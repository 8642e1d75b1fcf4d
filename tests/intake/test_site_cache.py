"""The served pages' in-memory cache: a page is rendered once per publication, the cache
stays within its byte budget, and every client gets the same page whether it came from the
cache or not, compressed or not."""
from __future__ import annotations

import gzip

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

import intake.siteroot as siteroot
from intake.siteroot import PageCache, Publications, SitePages
from reports.site import render
from reports.site_store import Publication
from tests.site import frames

PAGES = ["/c/XM-001.html", "/c/XM-002.html", "/c/XM-003.html", "/index.html", "/about.html"]


def _client(path, cache_bytes, cache_file=":memory:"):
    site = SitePages(Publications(path), cache=PageCache(cache_bytes, cache_file))
    app = Starlette(routes=[Mount("/", site)])
    return site, TestClient(app)


def test_a_page_is_rendered_once_and_served_the_same_from_the_cache(tmp_path, monkeypatch):
    path = frames.publication(tmp_path / "pub")
    expected = {p: render(Publication(path), p).body for p in PAGES}
    calls = []
    real = siteroot.render
    monkeypatch.setattr(siteroot, "render", lambda pub, p, verify=None: calls.append(p) or real(pub, p, verify))
    site, client = _client(path, 2**20)
    for _ in range(3):
        for p in PAGES:
            zipped = client.get(p, headers={"Accept-Encoding": "gzip"})
            plain = client.get(p, headers={"Accept-Encoding": "identity"})
            assert zipped.status_code == plain.status_code == 200, p
            assert zipped.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
            assert zipped.text == plain.text == expected[p]
            assert plain.headers["etag"] == zipped.headers["etag"]
    assert sorted(calls) == sorted(PAGES)  # each rendered once, for the whole run
    assert (site.misses, site.hits) == (len(PAGES), 6 * len(PAGES) - len(PAGES))
    etag = client.get(PAGES[0]).headers["etag"]
    assert client.get(PAGES[0], headers={"If-None-Match": etag}).status_code == 304


def test_the_cache_keeps_to_its_budget_and_drops_the_oldest_page(tmp_path):
    path = frames.publication(tmp_path / "pub")
    pub = Publication(path)
    sizes = {p: len(gzip.compress(render(pub, p).body.encode(), 6)) + len(p) for p in PAGES}
    budget = sizes[PAGES[0]] + sizes[PAGES[1]] + 10
    site, client = _client(path, budget)
    for p in PAGES:
        assert client.get(p).status_code == 200
        assert 0 < site.cache.held <= budget
    kept = [k[1] for k in site.cache.keys()]
    assert kept and kept == PAGES[-len(kept):]  # the newest stay
    misses = site.misses
    client.get(PAGES[0])  # dropped long ago: rendered again
    assert site.misses == misses + 1


def test_unknown_pages_are_not_cached(tmp_path):
    site, client = _client(frames.publication(tmp_path / "pub"), 2**20)
    for i in range(50):
        assert client.get(f"/c/nope-{i}.html").status_code == 404
    assert site.cache.keys() == [] and site.cache.held == 0


def test_worker_processes_share_one_cache(tmp_path, monkeypatch):
    """Two workers (two SitePages on one cache file, as ``serve --workers 2`` makes them):
    a page one of them rendered is served by the other without rendering it again."""
    path = frames.publication(tmp_path / "pub")
    calls = []
    real = siteroot.render
    monkeypatch.setattr(siteroot, "render", lambda pub, p, verify=None: calls.append(p) or real(pub, p, verify))
    cache_file = str(tmp_path / "pages.sqlite")
    (first, one), (second, two) = _client(path, 2**20, cache_file), _client(path, 2**20, cache_file)
    a = one.get(PAGES[0], headers={"Accept-Encoding": "gzip"})
    b = two.get(PAGES[0], headers={"Accept-Encoding": "gzip"})
    assert a.status_code == b.status_code == 200 and a.content == b.content and a.headers["etag"] == b.headers["etag"]
    assert calls == [PAGES[0]] and (first.misses, second.hits, second.misses) == (1, 1, 0)
