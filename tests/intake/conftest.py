"""Fixtures: a small publication and a real intake server on loopback."""
from __future__ import annotations

import itertools

import httpx
import pytest

from intake.tokens import add_officer, revoke_officer
from tests.intake.live import live_server
from tests.site import frames

_clients = itertools.count(1)


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory):
    """A published date folder (OUT_DIR/<as_of>) holding the five compounds' publication."""
    folder = tmp_path_factory.mktemp("out") / "2026-11-23"
    frames.publication(folder)
    return folder


@pytest.fixture(scope="session")
def officer_tokens(tmp_path_factory):
    db = tmp_path_factory.mktemp("intake") / "intake.sqlite"
    good = add_officer(db, "officer-1", "王警官")
    old = add_officer(db, "officer-2", "李警官")
    revoke_officer(db, "officer-2")
    return db, good, old


@pytest.fixture(scope="session")
def server(site_dir, officer_tokens, tmp_path_factory):
    """Burst of 10 per client, one more per second; clients told apart by X-Forwarded-For
    from the loopback proxy hop (the test itself)
    so each test acts as its own resident."""
    db = officer_tokens[0]
    log = tmp_path_factory.mktemp("logs") / "server.jsonl"
    with live_server(site_dir, db, log, "--burst", "10", "--rate", "1", "--trusted-proxy", "127.0.0.1") as srv:
        yield srv


@pytest.fixture
def client(server):
    """An httpx client that the server sees as a fresh resident."""
    ip = f"10.0.{next(_clients) // 250}.{next(_clients) % 250 + 1}"
    with httpx.Client(base_url=server.url, headers={"X-Forwarded-For": ip}, timeout=10) as c:
        yield c


def config_with(folder, **changes) -> str:
    """A copy of the shipped config/intake.yaml with ``changes`` (``limits={...}`` merges
    into that block); returns its path for ``serve --config``."""
    import yaml

    from intake.settings import DEFAULT_INTAKE_CONFIG

    doc = yaml.safe_load(DEFAULT_INTAKE_CONFIG.read_text(encoding="utf-8"))
    for key, value in changes.items():
        doc[key] = {**doc[key], **value} if isinstance(value, dict) else value
    path = folder / "intake.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return str(path)


SECURITY_HEADERS = ("x-content-type-options", "content-security-policy", "referrer-policy", "x-frame-options")


def has_security_headers(response) -> bool:
    """The headers every response of the service carries."""
    return all(h in response.headers for h in SECURITY_HEADERS) and \
        "'unsafe-inline'" not in response.headers["content-security-policy"].split("script-src")[1].split(";")[0]
