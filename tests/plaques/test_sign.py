"""Signing: signatures are stable, URL-safe, and any change to serial or signature fails."""
from __future__ import annotations

import re

import pytest

from plaques.sign import (
    DEMO_SECRET,
    SECRET_ENV,
    PlaqueSecretError,
    parse_page_name,
    plaque_url,
    resolve_secret,
    sign_serial,
    verify_signature,
)
from tests.plaques.conftest import SECRET


def test_signature_is_16_base32_chars_and_stable():
    sig = sign_serial("350203-C1-01", SECRET)
    assert re.fullmatch(r"[A-Z2-7]{16}", sig)
    assert sig == sign_serial("350203-C1-01", SECRET)
    assert sig != sign_serial("350203-C1-02", SECRET)
    assert sig != sign_serial("350203-C1-01", SECRET + "x")


def test_verify_accepts_only_the_exact_signature():
    serial = "350203-C1-01"
    sig = sign_serial(serial, SECRET)
    assert verify_signature(serial, sig, SECRET)
    for i in range(len(sig)):
        tampered = sig[:i] + ("A" if sig[i] != "A" else "B") + sig[i + 1:]
        assert not verify_signature(serial, tampered, SECRET)
    assert not verify_signature(serial, sig.lower(), SECRET)
    assert not verify_signature(serial, sig[:-1], SECRET)
    assert not verify_signature("350203-C1-02", sig, SECRET)
    assert not verify_signature(serial, sig, "another-secret-of-some-length")
    assert not verify_signature(serial, "签名", SECRET)


def test_plaque_url_shape():
    url = plaque_url("https://safestar.example.cn/", "SM-C2-02", SECRET)
    assert url == f"https://safestar.example.cn/p/SM-C2-02.{sign_serial('SM-C2-02', SECRET)}.html"


def test_page_name_of_a_url_parses_back_and_altered_ones_fail():
    serial = "350203-XM000001-01"
    name = plaque_url("https://safestar.example.cn", serial, SECRET).rsplit("/", 1)[1]
    assert parse_page_name(name) == (serial, sign_serial(serial, SECRET))
    assert verify_signature(*parse_page_name(name), SECRET)
    sig = sign_serial(serial, SECRET)
    for altered in (f"350203-XM000002-01.{sig}.html", f"{serial}.{sig[:-1]}{'A' if sig[-1] != 'A' else 'B'}.html"):
        assert not verify_signature(*parse_page_name(altered), SECRET)
    for bad in (f"{serial}.{sig}", f"{serial}{sig}.html", f".{sig}.html", f"{serial}..html", "index.html", ""):
        assert parse_page_name(bad) is None, bad


def test_resolve_secret():
    assert resolve_secret({SECRET_ENV: SECRET}) == SECRET
    assert resolve_secret({SECRET_ENV: SECRET}, demo=True) == SECRET
    assert resolve_secret({}, demo=True) == DEMO_SECRET
    assert "DEMO" in DEMO_SECRET
    with pytest.raises(PlaqueSecretError, match=SECRET_ENV):
        resolve_secret({})
    with pytest.raises(PlaqueSecretError, match=SECRET_ENV):
        resolve_secret({SECRET_ENV: "   "})
    with pytest.raises(PlaqueSecretError, match="too short"):
        resolve_secret({SECRET_ENV: "short"})
