"""uvicorn's h11 protocol with a deadline for each request's headers.

uvicorn closes a keep-alive connection that stays idle after a response,
but a connection that never sends a request (or sends its headers a byte at
a time) stays open for ever and holds a socket and a file descriptor.  Here
every request's headers must arrive within RNET_HEADER_TIMEOUT seconds of
the connection opening, or of the first byte of the next request on a
kept-alive connection; otherwise the connection is closed.  Slow clients on
purpose belong behind a reverse proxy, which buffers them.
"""

from __future__ import annotations

import asyncio
import functools
import os
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.web.settings import DEFAULT_HEADER_TIMEOUT_SECONDS

# uvicorn closes a connection idle after a response after this long (its own default, stated here).
KEEP_ALIVE_SECONDS = 5
# The largest request line plus headers h11 buffers (h11's default, stated here): findings are tiny.
MAX_HEADER_BYTES = 16 * 1024


@functools.cache
def header_timeout_seconds() -> float:
    """RNET_HEADER_TIMEOUT as the parent validated it (workers share its environment)."""
    try:
        return float(int(os.environ.get("RNET_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT_SECONDS)))
    except ValueError:
        return float(DEFAULT_HEADER_TIMEOUT_SECONDS)


class HeaderDeadlineH11Protocol(H11Protocol):
    """H11Protocol that closes a connection whose request headers do not arrive in time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._header_deadline is None and self._awaiting_headers():
            self._arm()  # the first byte of a further request on a kept-alive connection
        super().data_received(data)
        if self._header_deadline is not None and not self._awaiting_headers():
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _awaiting_headers(self) -> bool:
        return self.conn.their_state is h11.IDLE

    def _arm(self) -> None:
        self._header_deadline = self.loop.call_later(header_timeout_seconds(), self._expired)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _expired(self) -> None:
        self._header_deadline = None
        if self._awaiting_headers() and not self.transport.is_closing():
            self.transport.close()
