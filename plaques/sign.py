"""Signed plaque URLs: a photo of a plaque cannot be turned into a valid new one.

The QR code of a plaque encodes ``<base_url>/p/<serial>.<signature>.html`` (a plain static
file, one per plaque in one flat folder: a night's release makes no per-plaque folders;
signatures are base32, so the dot before them is unambiguous); the signature is
an HMAC-SHA256 of the serial under a secret only the issuer holds, so nobody can mint a
valid path for a serial they made up, and a changed serial or signature stops matching.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping

SECRET_ENV = "SAFESTAR_PLAQUE_SECRET"
DEMO_SECRET = "SAFESTAR-DEMO-SECRET-NOT-FOR-REAL-PLAQUES"
MIN_SECRET_LEN = 16
# 10 bytes = 80 bits = exactly 16 base32 characters, no padding: short enough for a
# small QR code, far too many to guess.
SIGNATURE_BYTES = 10


class PlaqueSecretError(ValueError):
    """No usable signing secret outside demo mode (a user mistake: the message says the fix)."""


def sign_serial(serial: str, secret: str) -> str:
    """The URL-safe signature of a plaque serial (16 upper-case base32 characters)."""
    if not secret:
        raise PlaqueSecretError("an empty secret cannot sign plaques")
    digest = hmac.digest(secret.encode("utf-8"), serial.encode("utf-8"), hashlib.sha256)
    return base64.b32encode(digest[:SIGNATURE_BYTES]).decode("ascii")


def verify_signature(serial: str, signature: str, secret: str) -> bool:
    """Whether ``signature`` is the signature of ``serial`` (constant-time comparison)."""
    if not isinstance(signature, str) or not isinstance(serial, str):
        return False
    expected = sign_serial(serial, secret)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace"))


def plaque_url(base_url: str, serial: str, secret: str) -> str:
    """The URL a plaque's QR code encodes."""
    return base_url.rstrip("/") + "/p/" + page_name(serial, sign_serial(serial, secret))


def page_name(serial: str, signature: str) -> str:
    """The file name of a plaque's verification page in the site's ``p/`` folder."""
    return f"{serial}.{signature}.html"


def parse_page_name(name: str) -> tuple[str, str] | None:
    """(serial, signature) of a verification page's file name (or of the last segment of a
    plaque URL), None when it has not that form; whether it is genuine is ``verify_signature``'s
    call. The signature is the text after the last dot before ``.html``."""
    if not isinstance(name, str) or not name.endswith(".html"):
        return None
    serial, dot, signature = name[:-len(".html")].rpartition(".")
    if not dot or not serial or not signature:
        return None
    return serial, signature


def resolve_secret(env: Mapping[str, str] | None = None, *, demo: bool = False) -> str:
    """The signing secret: ``SAFESTAR_PLAQUE_SECRET``, or a labelled demo secret in demo mode.

    Outside demo mode a missing or too short secret raises ``PlaqueSecretError`` saying how
    to set one: plaques signed with a public secret could be forged by anyone.
    """
    env = os.environ if env is None else env
    secret = (env.get(SECRET_ENV) or "").strip()
    if secret:
        if len(secret) < MIN_SECRET_LEN:
            raise PlaqueSecretError(
                f"{SECRET_ENV} is too short ({len(secret)} characters); use at least "
                f"{MIN_SECRET_LEN}, e.g. export {SECRET_ENV}=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return secret
    if demo:
        return DEMO_SECRET
    raise PlaqueSecretError(
        f"no plaque signing secret: set {SECRET_ENV} (e.g. export {SECRET_ENV}="
        "$(python -c 'import secrets; print(secrets.token_urlsafe(32))')) and keep it; "
        "plaques signed with another secret stop verifying. Demo mode uses a fixed demo secret."
    )
