"""Signed plaque URLs: a photo of a plaque cannot be turned into a valid new one.

The QR code of a plaque encodes ``<base_url>/p/<serial>.<signature>.html``. The signature is
an HMAC-SHA256 of the serial under a secret only the issuer holds (10 bytes, 16 upper-case
base32 characters), so nobody can mint a valid path for a serial they made up.

Two signature forms are in print and both keep verifying (``plaques.keys.Keyring.check``):

- ``<MAC>`` — plaques printed before key ids (16 base32 characters);
- ``<key id>_<MAC>`` — the key id (4 lower-case hex characters of the key's fingerprint)
  names the key that signed it, so plaques of a retired key verify during its grace period.

Older plaques also carry the folder form ``/p/<serial>/<signature>/``; the intake service
redirects it to the flat one.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re

# 10 bytes = 80 bits = exactly 16 base32 characters, no padding: short enough for a
# small QR code, far too many to guess.
SIGNATURE_BYTES = 10
KEY_SEPARATOR = "_"
_MAC = re.compile(r"^[A-Z2-7]{16}$")
_KEY_ID = re.compile(r"^[0-9a-f]{4}$")


class PlaqueSecretError(ValueError):
    """No usable signing secret (a user mistake: the message says the fix)."""


def sign_serial(serial: str, secret: str) -> str:
    """The MAC of a plaque serial under ``secret`` (16 upper-case base32 characters)."""
    if not secret:
        raise PlaqueSecretError("an empty secret cannot sign plaques")
    digest = hmac.digest(secret.encode("utf-8"), serial.encode("utf-8"), hashlib.sha256)
    return base64.b32encode(digest[:SIGNATURE_BYTES]).decode("ascii")


def keyed_signature(serial: str, key_id: str, secret: str) -> str:
    """The signature printed today: the key id, ``_``, the MAC."""
    return f"{key_id}{KEY_SEPARATOR}{sign_serial(serial, secret)}"


def split_signature(signature: str) -> tuple[str | None, str] | None:
    """(key id or None for the unkeyed form, MAC) of a signature, None when it has neither form."""
    if not isinstance(signature, str):
        return None
    key_id, sep, mac = signature.rpartition(KEY_SEPARATOR)
    if not _MAC.match(mac):
        return None
    if not sep:
        return None, mac
    return (key_id, mac) if _KEY_ID.match(key_id) else None


def mac_matches(serial: str, mac: str, secret: str) -> bool:
    """Whether ``mac`` is the MAC of ``serial`` under ``secret`` (constant-time comparison)."""
    if not isinstance(mac, str) or not isinstance(serial, str):
        return False
    expected = sign_serial(serial, secret)
    return hmac.compare_digest(expected.encode("ascii"), mac.encode("utf-8", "replace"))


def plaque_url(base_url: str, serial: str, *, signature: str) -> str:
    """The URL a plaque's QR code encodes, for a signature of either form (keyword-only: a
    secret passed by mistake must fail, never land in a URL)."""
    return base_url.rstrip("/") + "/p/" + page_name(serial, signature)


def page_name(serial: str, signature: str) -> str:
    """The last segment of a plaque URL."""
    return f"{serial}.{signature}.html"


def parse_page_name(name: str) -> tuple[str, str] | None:
    """(serial, signature) of the last segment of a plaque URL, None when it has not that
    form; whether it is genuine is ``Keyring.check``'s call. The signature is the text after
    the last dot before ``.html``."""
    if not isinstance(name, str) or not name.endswith(".html"):
        return None
    serial, dot, signature = name[:-len(".html")].rpartition(".")
    if not dot or not serial or not signature:
        return None
    return serial, signature
