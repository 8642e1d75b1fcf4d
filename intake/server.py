"""Running the app under uvicorn with the service's connection limits."""
from __future__ import annotations

import asyncio

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from intake.security import HEADERS
from intake.settings import IntakeSettings


def guarded_protocol(header_deadline: float, max_connections: int) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol, closing a connection whose request line and headers
    have not all arrived ``header_deadline`` seconds after it opened or after the request
    began (uvicorn itself has no such timeout: a client trickling headers holds a
    connection for ever), and closing at once any connection past ``max_connections`` open
    ones. Bodies have their own deadline in the app (408). uvicorn's own 400 for an
    unparseable request carries the security headers too."""

    class Guarded(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None

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
            if len(self.connections) > max_connections:
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
            super().connection_lost(exc)

    return Guarded


def uvicorn_config(app, host: str, port: int, settings: IntakeSettings) -> uvicorn.Config:
    """uvicorn's configuration for the service: idle keep-alive connections closed after
    ``keep_alive_seconds``, at most ``max_connections`` open connections (more are closed
    at once), headers within ``header_deadline_seconds``."""
    limits = settings.limits
    return uvicorn.Config(
        app, host=host, port=port, access_log=False, log_level="warning", proxy_headers=False,
        http=guarded_protocol(limits.header_deadline_seconds, limits.max_connections),
        timeout_keep_alive=limits.keep_alive_seconds, server_header=False,
    )


def serve(app, host: str, port: int, settings: IntakeSettings) -> None:
    """Serve ``app`` until interrupted (``uvicorn_config``)."""
    uvicorn.Server(uvicorn_config(app, host, port, settings)).run()
