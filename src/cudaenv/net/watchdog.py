"""Total time per request: a connection still busy at its request's deadline is cut.

A socket timeout bounds one read, not a request: a server that sends one byte a second, a
header line that never ends, or a chunked body of tiny chunks keeps every read short and the
request going forever. ``http.client`` reads status, headers and chunk sizes line by line
inside its own loops, where no deadline can be checked, so one thread per client watches the
deadlines of the connections in use and shuts the socket of a request past its own. The read
blocked on it returns at once; the request then sees :meth:`Watchdog.cut` and reports a
timeout, never a body cut short as if it were whole. The thread is started by the first
request that has a deadline and sleeps until the nearest one.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import http.client

__all__ = ["Watchdog"]

_AGAIN = 0.25  # seconds: a request cut while it had no socket yet is cut again this soon


class Watchdog:
    """Deadlines (``time.monotonic()`` values) of the requests in progress, by token."""

    def __init__(self) -> None:
        self._due: dict[int, tuple[float, http.client.HTTPConnection]] = {}
        self._cut: set[int] = set()
        self._wake = threading.Condition()
        self._tokens = itertools.count(1)
        self._thread: threading.Thread | None = None

    def watch(self, conn: http.client.HTTPConnection, deadline: float) -> int:
        """Cut *conn* at *deadline*, until :meth:`done` with the token returned."""
        with self._wake:
            token = next(self._tokens)
            self._due[token] = (deadline, conn)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="cudaenv-http-deadlines", daemon=True
                )
                self._thread.start()
            self._wake.notify()
            return token

    def move(self, token: int, deadline: float) -> None:
        """A new deadline for the request of *token* (one that turned out to be a download)."""
        with self._wake:
            if token in self._due and token not in self._cut:
                self._due[token] = (deadline, self._due[token][1])
                self._wake.notify()

    def cut(self, token: int) -> bool:
        """Whether the request of *token* was cut at its deadline."""
        with self._wake:
            return token in self._cut

    def done(self, token: int) -> None:
        with self._wake:
            self._due.pop(token, None)
            self._cut.discard(token)

    def _run(self) -> None:
        with self._wake:
            while True:
                now = time.monotonic()
                for token, (deadline, conn) in list(self._due.items()):
                    if deadline <= now:
                        self._cut.add(token)
                        self._due[token] = (now + _AGAIN, conn)
                        _shut(conn.sock)
                nearest = min((d for d, _ in self._due.values()), default=None)
                self._wake.wait(None if nearest is None else max(0.0, nearest - now))


def _shut(sock: socket.socket | None) -> None:
    """Shut the socket down under its user (TLS too: the plain socket's own shutdown, which
    leaves the TLS object to the reading thread; that read then ends with an OSError)."""
    if sock is not None:
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
