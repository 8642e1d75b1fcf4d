"""Request bodies: the size limit, JSON or form parsing, field checks, and the Refusal
every bad request ends in (a 4xx with a JSON reason)."""
from __future__ import annotations

import asyncio
import hashlib
import re
from urllib.parse import parse_qs

import orjson
from starlette.requests import ClientDisconnect, Request

MAX_BODY = 16 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTACT = re.compile(
    r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|[^@\s]{1,40}@[^@\s]{1,40}\.[A-Za-z]{2,10})$"
)


class Refusal(Exception):
    """A request we will not serve, with the status and the reason to give back."""

    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.error, self.detail, self.headers = status, error, detail, headers or {}


# Answers after which the connection is closed: the client may still be sending.
CLOSE = {"Connection": "close"}


async def read_body(request: Request, max_body: int, deadline: float) -> bytes:
    """The body, refused with 413 as soon as it passes ``max_body`` (declared or streamed)
    and with 408 when it has not all arrived within ``deadline`` seconds (slow senders)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > max_body):
        raise Refusal(413, "body_too_large", f"request body over {max_body} bytes", CLOSE)
    body = bytearray()
    try:
        async with asyncio.timeout(deadline):
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_body:
                    raise Refusal(413, "body_too_large", f"request body over {max_body} bytes", CLOSE)
    except TimeoutError:
        raise Refusal(408, "body_timeout", f"request body not received within {deadline:g} s; resend it",
                      CLOSE) from None
    except ClientDisconnect:
        raise Refusal(400, "client_disconnected", "the client closed the connection mid-body") from None
    return bytes(body)


async def read_fields(request: Request, max_body: int = MAX_BODY,
                      deadline: float = 15.0) -> tuple[dict[str, str], bool]:
    """The submitted string fields, and whether they came as an HTML form post."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("application/json", "application/x-www-form-urlencoded"):
        raise Refusal(415, "unsupported_media_type", "send application/json or application/x-www-form-urlencoded",
                      CLOSE)
    body = await read_body(request, max_body, deadline)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(400, "bad_encoding", "body must be UTF-8") from None
    if ctype == "application/json":
        try:
            # orjson refuses lone surrogates, nesting past 1,024 levels and numbers that do
            # not fit a double, each as a decode error.
            data = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            raise Refusal(400, "bad_json", "body is not valid JSON") from None
        if not isinstance(data, dict):
            raise Refusal(422, "bad_json", "body must be a JSON object")
        if any(v is not None and not isinstance(v, str) for v in data.values()):
            raise Refusal(422, "bad_type", "every field must be a string")
        return {k: v for k, v in data.items() if v is not None}, False
    if ctype == "application/x-www-form-urlencoded":
        try:
            parsed = parse_qs(text, keep_blank_values=True, max_num_fields=20, errors="strict")
        except (ValueError, UnicodeDecodeError):
            raise Refusal(400, "bad_form", "form body could not be parsed") from None
        return {k: v[0] for k, v in parsed.items()}, True


def clean_text(value: str | None, field: str, max_len: int, required: bool) -> str | None:
    """A trimmed free-text field within its length, without control characters."""
    value = (value or "").strip()
    if not value:
        if required:
            raise Refusal(422, f"missing_{field}", f"{field} is required")
        return None
    if len(value) > max_len:
        raise Refusal(422, f"{field}_too_long", f"{field} is limited to {max_len} characters")
    if _CONTROL.search(value):
        raise Refusal(422, f"bad_{field}", f"{field} contains control characters")
    return value


def one_of(value: str | None, allowed: tuple[str, ...], field: str) -> str:
    """A field that must be one of a fixed list."""
    value = (value or "").strip()
    if value not in allowed:
        raise Refusal(422, f"unknown_{field}", f"{field} must be one of " + "、".join(allowed))
    return value


def contact_ok(contact: str | None) -> str | None:
    """An optional contact: a mainland mobile or landline number, or an e-mail address."""
    if contact is not None and not _CONTACT.match(contact.replace(" ", "")):
        raise Refusal(422, "bad_contact", "contact must be a mobile or landline number or an e-mail address")
    return contact


_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_\-:.]+$")


def idempotency_key(request: Request, fields: dict[str, str], min_len: int, max_len: int) -> str | None:
    """The request's ``Idempotency-Key`` header (or the form's ``idempotency_key`` field):
    a client-made random string; None when the request has none."""
    key = request.headers.get("idempotency-key") or fields.get("idempotency_key")
    if key is None:
        return None
    key = key.strip().strip('"')
    if not (min_len <= len(key) <= max_len and _IDEMPOTENCY_KEY.match(key)):
        raise Refusal(422, "bad_idempotency_key",
                      f"Idempotency-Key must be {min_len}-{max_len} letters, digits, '-', '_', ':' or '.' (a UUID)")
    return key


def fields_digest(*values: str | None) -> bytes:
    """What identifies a submission's content, for matching a retried Idempotency-Key."""
    return hashlib.sha256(orjson.dumps(list(values))).digest()
