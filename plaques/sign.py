"""Signed plaque URLs: a photo of a plaque cannot be turned into a valid new one.

A plaque's QR code encodes ``<base_url>/p/<serial>.<signature>.html``; the MAC is an
HMAC-SHA256 of the serial under a secret only the issuer holds, 10 bytes as 16 upper-case
base32 characters. Two signature forms are in print and both keep verifying
(``plaques.keys.Keyring.check``): ``<MAC>`` (before key ids) and ``<key id>_<MAC>``, the key
id (4 hex characters of the key's fingerprint) naming the key that signed it. The oldest
plaques carry the folder form ``/p/<serial>/<signature>/``, which the site redirects.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re

SIGNATURE_BYTES = 10  # 80 bits: exactly 16 base32 characters, short enough for a small QR code
_SIGNATURE = re.compile(r"(?:([0-9a-f]{4})_)?([A-Z2-7]{16})")


class PlaqueSecretError(ValueError):
    """No usable signing secret (a user mistake: the message says the fix)."""


def sign_serial(serial: str, secret: str) -> str:
    """The MAC of a plaque serial under ``secret`` (16 upper-case base32 characters)."""
    if not secret:
        raise PlaqueSecretError("an empty secret cannot sign plaques")
    digest = hmac.digest(secret.encode("utf-8"), serial.encode("utf-8"), hashlib.sha256)
    return base64.b32encode(digest[:SIGNATURE_BYTES]).decode("ascii")


def split_signature(signature: str) -> tuple[str | None, str] | None:
    """(key id or None for the unkeyed form, MAC) of a signature, None when it has neither form."""
    match = _SIGNATURE.fullmatch(signature) if isinstance(signature, str) else None
    return match.groups() if match else None


def plaque_url(base_url: str, serial: str, *, signature: str) -> str:
    """The URL a plaque's QR code encodes, for a signature of either form (keyword-only: a
    secret passed by mistake must fail, never land in a URL)."""
    return base_url.rstrip("/") + "/p/" + page_name(serial, signature)


def page_name(serial: str, signature: str) -> str:
    """The last segment of a plaque URL."""
    return f"{serial}.{signature}.html"


def parse_page_name(name: str) -> tuple[str, str] | None:
    """(serial, signature) of the last segment of a plaque URL (the signature is the text after
    the last dot before ``.html``), None when it has not that form; ``Keyring.check`` says
    whether it is genuine."""
    if not isinstance(name, str) or not name.endswith(".html"):
        return None
    serial, dot, signature = name[:-len(".html")].rpartition(".")
    return (serial, signature) if dot and serial and signature else None
