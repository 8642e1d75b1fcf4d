"""Structured logging: one JSON object per line, one line per request."""
from __future__ import annotations

import json
import logging
import sys
import time

logger = logging.getLogger("safestar.intake")


class JsonFormatter(logging.Formatter):
    """Formats a record as a JSON line with the ``fields`` passed in ``extra``."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def configure_logging(level: int = logging.INFO, stream=None) -> None:
    """Send the service's logs to ``stream`` (stderr) as JSON lines, once."""
    if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


class RequestLog:
    """ASGI middleware: logs method, path (never the query), status and duration; adds
    the security headers every response carries."""

    HEADERS = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy",
         b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
         b"img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    ]

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = {"code": 500}

        async def send_logged(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = list(message.get("headers", [])) + self.HEADERS
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            client = scope.get("client") or ("-", 0)
            logger.info("request", extra={"fields": {
                "method": scope["method"],
                "path": scope["path"],
                "status": status["code"],
                "ms": round((time.perf_counter() - start) * 1000, 2),
                "client": client[0],
                "reason": scope.get("state", {}).get("refusal"),
            }})
