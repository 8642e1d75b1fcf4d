"""A light HTTP/1.1 client for load benchmarks: one keep-alive connection per simulated
person, responses parsed by httptools (the C parser uvicorn itself uses).

A load generator written with httpx spent 2–4 ms of CPU per request on the benchmarks'
2 shared cores, more than the server it measured, and its event loop ran hundreds of
milliseconds late, which showed up as latency in every figure. This one does only what
the benchmarks need (GET and form/JSON POST, cookies by name, gzip) and leaves the rest
to the libraries: httptools parses, zlib inflates, urllib encodes forms.
"""
from __future__ import annotations

import asyncio
import json
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httptools


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str] = field(default_factory=list)  # raw Set-Cookie values

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


class _Parsed:
    """httptools' callbacks, collecting one response."""

    def __init__(self):
        self.headers: dict[str, str] = {}
        self.cookies: list[str] = []
        self.chunks: list[bytes] = []
        self.done = False

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        if key == "set-cookie":
            self.cookies.append(value.decode("latin-1"))
        else:
            self.headers[key] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.done = True


class Client:
    """One person's connection to ``host:port``, reopened when the server closed it; keeps
    the cookies the server set (by name, for every path)."""

    def __init__(self, host: str, port: int, timeout: float = 30.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.cookies: dict[str, str] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None

    async def get(self, path: str) -> Reply:
        return await self.request("GET", path)

    async def post_form(self, path: str, data: dict[str, str]) -> Reply:
        return await self.request("POST", path, urlencode(data).encode(), "application/x-www-form-urlencoded")

    async def post_json(self, path: str, data) -> Reply:
        return await self.request("POST", path, json.dumps(data, ensure_ascii=False).encode(), "application/json")

    async def request(self, method: str, path: str, body: bytes = b"", content_type: str | None = None) -> Reply:
        return await asyncio.wait_for(self._exchange(method, path, body, content_type), self.timeout)

    async def _exchange(self, method: str, path: str, body: bytes, content_type: str | None) -> Reply:
        if self._writer is None or self._reader.at_eof():
            await self._open()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Accept-Encoding: gzip"]
        if self.cookies:
            head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if method != "GET":
            head += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode("utf-8") + body)
        parsed = _Parsed()
        parser = httptools.HttpResponseParser(parsed)
        try:
            while not parsed.done:
                data = await self._reader.read(65536)
                if not data:
                    raise ConnectionResetError("the server closed the connection")
                parser.feed_data(data)
        except BaseException:
            await self.close()
            raise
        payload = b"".join(parsed.chunks)
        if parsed.headers.get("content-encoding") == "gzip":
            payload = zlib.decompress(payload, 31)
        for raw in parsed.cookies:
            name, _, rest = raw.partition("=")
            value = rest.split(";", 1)[0]
            if value and "max-age=0" not in raw.lower():
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        if not parser.should_keep_alive():
            await self.close()
        return Reply(parser.get_status_code(), parsed.headers, payload, parsed.cookies)
