"""Running the app under uvicorn with the service's connection limits, in one process or
in several worker processes on the same port.

Several workers: the supervisor binds one listening socket per worker on the port with
``SO_REUSEPORT`` (the kernel spreads incoming connections over them), starts each worker
(``spawn``: it imports and builds its own app, publication reader and database
connection) and stops them all when it is stopped or when one of them exits. The limits
hold over all of them, not per worker: the open connections and the requests in progress
are counted in shared memory, and the rate limit's buckets are one SQLite file in a
private temporary folder (``Shared``), as is the page cache: a page rendered by one worker
is served by all.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import socket
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Callable

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from intake.security import HEADERS, SharedCount
from intake.settings import IntakeSettings


@dataclass
class Shared:
    """What the worker processes of one service share: the open connections and the
    requests in progress (so the caps hold over all of them), the rate limit's buckets and
    the page cache (SQLite files in the supervisor's private folder; in memory when there is
    one process)."""

    connections: SharedCount = field(default_factory=SharedCount)
    requests: SharedCount = field(default_factory=SharedCount)
    buckets: str = ":memory:"
    pages: str = ":memory:"


def guarded_protocol(header_deadline: float, max_connections: int,
                     connections: SharedCount | None = None) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol, closing a connection whose request line and headers
    have not all arrived ``header_deadline`` seconds after it opened or after the request
    began (uvicorn itself has no such timeout: a client trickling headers holds a
    connection for ever), and closing at once any connection past ``max_connections`` open
    ones (counted in ``connections``, shared by every worker process). Bodies have their
    own deadline in the app (408). uvicorn's own 400 for an unparseable request carries the
    security headers too."""
    connections = connections or SharedCount()

    class Guarded(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None
        _counted = False

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(header_deadline, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expired(self) -> None:
            if not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._counted = connections.enter(max_connections)
            if not self._counted:
                transport.close()  # over the cap: no slot, no answer
                return
            self._arm()

        def send_400_response(self, msg: str) -> None:
            # uvicorn writes this answer itself (the request never reaches the app): lend it
            # the headers for this one synchronous write.
            saved = self.server_state.default_headers
            self.server_state.default_headers = saved + HEADERS
            try:
                super().send_400_response(msg)
            finally:
                self.server_state.default_headers = saved

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._counted:
                self._counted = False
                connections.leave()
            super().connection_lost(exc)

    return Guarded


def uvicorn_config(app, host: str, port: int, settings: IntakeSettings,
                   connections: SharedCount | None = None) -> uvicorn.Config:
    """uvicorn's configuration for the service: httptools and uvloop, no access log (the
    app logs each request), idle keep-alive connections closed after
    ``keep_alive_seconds``, at most ``max_connections`` open connections (more are closed
    at once), headers within ``header_deadline_seconds``."""
    limits = settings.limits
    return uvicorn.Config(
        app, host=host, port=port, access_log=False, log_level="warning", proxy_headers=False, loop="uvloop",
        http=guarded_protocol(limits.header_deadline_seconds, limits.max_connections, connections),
        timeout_keep_alive=limits.keep_alive_seconds, server_header=False,
    )


def serve(make_app: Callable[..., object], host: str, port: int, settings: IntakeSettings, workers: int = 1) -> int:
    """Serve the app ``make_app(shared=Shared)`` builds until interrupted, in
    ``workers`` processes (each builds its own: ``make_app`` must pickle). Returns the exit
    status: 0 when stopped, 1 when a worker exited on its own."""
    if workers <= 1:
        shared = Shared()
        uvicorn.Server(uvicorn_config(make_app(shared=shared), host, port, settings, shared.connections)).run()
        return 0
    # Owner-only; in memory (tmpfs) where there is one: the page cache is only a cache.
    folder = tempfile.mkdtemp(prefix="safestar-serve-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    shared = Shared(buckets=os.path.join(folder, "ratelimit.sqlite"), pages=os.path.join(folder, "pages.sqlite"))
    socks = _reuseport_sockets(host, port, workers)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(make_app, host, port, settings, shared, sock, i == 0), name=f"serve-{i}")
             for i, sock in enumerate(socks)]
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        for p in procs:
            p.start()
        for sock in socks:
            sock.close()  # each worker holds its own
        ready = multiprocessing.connection.wait([p.sentinel for p in procs])
        died = next(p for p in procs if p.sentinel in ready)
        died.join()  # its exit status
        print(f"error: worker {died.name} exited with status {died.exitcode}; stopping the service "
              "(see the lines above)", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, SystemExit):
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        for p in procs:
            if p.is_alive():
                p.terminate()  # uvicorn's graceful shutdown
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()
                p.join()
        shutil.rmtree(folder, ignore_errors=True)


def _stop(signum, frame):
    raise SystemExit(0)


def _reuseport_sockets(host: str, port: int, n: int) -> list[socket.socket]:
    """``n`` listening sockets on the same address (port 0: the one the first is given)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]
            sock.listen(2048)
            sock.set_inheritable(True)
    except OSError as exc:
        for sock in socks:
            sock.close()
        raise ValueError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another --port "
                         "or stop what holds it") from None
    return socks


def _worker(make_app, host: str, port: int, settings: IntakeSettings, shared: Shared,
            sock: socket.socket, first: bool) -> None:
    """One worker process: its own app, serving on its own socket of the shared port; the
    first one also runs the service's background sweep of overdue needs."""
    from intake.logs import configure_logging

    configure_logging()
    try:
        app = make_app(shared=shared, sweep=first)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    uvicorn.Server(uvicorn_config(app, host, port, settings, shared.connections)).run(sockets=[sock])
