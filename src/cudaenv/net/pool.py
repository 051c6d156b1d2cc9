"""The connections of one client: idle keep-alive ones per host, a bounded number open, and
the one-time hand-back of a request's connection (:class:`Release`).

:class:`Pool` keeps idle connections per (scheme, host, port, proxy) for
:data:`~.transport.KEEPALIVE` seconds and drops those the server has closed; at most
``limit`` are open at once (a request waits for a free one). :class:`Release` gives a request's
connection back exactly once and ends the watch on its deadline (:mod:`.watchdog`).
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from typing import TYPE_CHECKING

from cudaenv.net.httperrors import DeadlineExceeded, ReadError

if TYPE_CHECKING:
    import http.client

    from cudaenv.net.watchdog import Watchdog

__all__ = ["KEEPALIVE", "Key", "Pool", "Release"]

KEEPALIVE = 5.0  # seconds an idle connection is kept (httpx's default)


class Release:
    """Gives one connection back to its pool exactly once, and ends the watch on its
    request's deadline; :meth:`check` raises once the watchdog has cut it."""

    def __init__(
        self,
        pool: Pool,
        key: Key,
        conn: http.client.HTTPConnection,
        watchdog: Watchdog,
        deadline: float | None,
    ):
        self.pool, self.key, self.conn, self.done = pool, key, conn, False
        self.watchdog, self.deadline = watchdog, deadline
        self.token = watchdog.watch(conn, deadline) if deadline is not None else 0
        self.was_cut = False

    def __call__(self, *, keep: bool) -> None:
        if not self.done:
            self.done = True
            if self.token:
                self.was_cut = self.watchdog.cut(self.token)
                self.watchdog.done(self.token)
            self.pool.give_back(self.key, self.conn, keep=keep and not self.was_cut)

    def allow(self, seconds: float) -> None:
        """Let the request run until *seconds* from now (none: it keeps its deadline)."""
        if self.token and not self.done:
            self.deadline = time.monotonic() + seconds
            self.watchdog.move(self.token, self.deadline)

    def check(self) -> None:
        """DeadlineExceeded if the request was cut at its deadline (or is past it), ReadError
        once the client has been closed (its requests end there, whatever they hold)."""
        if self.pool.closed:
            self(keep=False)
            raise ReadError("the HTTP client was closed")
        cut = self.was_cut or (self.token != 0 and self.watchdog.cut(self.token))
        if cut or (self.deadline is not None and time.monotonic() > self.deadline):
            self(keep=False)
            raise DeadlineExceeded("the answer did not come whole in time")


Key = tuple[str, str, int, "str | None"]  # scheme, host, port, proxy URL


class Pool:
    """Idle keep-alive connections per (scheme, host, port, proxy); at most ``limit`` open;
    the ones in use are known, so that closing the pool cuts their requests short."""

    def __init__(self, limit: int):
        self._idle: dict[Key, list[tuple[http.client.HTTPConnection, float]]] = {}
        self._busy: set[http.client.HTTPConnection] = set()
        self.closed = False
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, limit))

    def busy(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            self._busy.add(conn)

    def take(self, key: Key) -> http.client.HTTPConnection | None:
        """A slot for one connection (waiting for one), and an idle connection if any."""
        self._slots.acquire()
        now = time.monotonic()
        while True:
            with self._lock:
                idle = self._idle.get(key)
                if not idle:
                    return None
                conn, since = idle.pop()
            if now - since < KEEPALIVE and not _readable(conn.sock):
                return conn
            conn.close()  # expired, or closed by the server (EOF waiting to be read)

    def give_back(self, key: Key, conn: http.client.HTTPConnection, *, keep: bool) -> None:
        with self._lock:
            self._busy.discard(conn)
            kept = keep and conn.sock is not None
            if kept:
                self._idle.setdefault(key, []).append((conn, time.monotonic()))
        if not kept:
            conn.close()
        self._slots.release()

    def cancel(self) -> None:
        """Give back a slot taken for a connection that was never made."""
        self._slots.release()

    def close(self) -> None:
        """Close the idle connections, and cut those in use (their requests fail now)."""
        self.closed = True
        with self._lock:
            conns = [c for idle in self._idle.values() for c, _ in idle]
            self._idle.clear()
            busy = [c.sock for c in self._busy if c.sock is not None]
        for conn in conns:
            conn.close()
        for sock in busy:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _readable(sock: socket.socket | None) -> bool:
    """Whether a read would not block: an idle connection that is readable was closed."""
    if sock is None or sock.fileno() < 0:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))
