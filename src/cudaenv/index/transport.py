"""GET over HTTP/1.1 with the standard library: keep-alive connections shared by threads, TLS,
proxies from the environment, gzip.

:class:`~.http.Http` (retries, redirects, logins, counters) sends every request through a
:class:`Client`. It is ``http.client`` underneath because a cold solve is bound by one core:
a general client costs twice the CPU per request (and a tenth of a second to import) for
features the index client never uses. What it does, it does as httpx did before it:

- connections: at most ``connections`` open at once (a request waits for a free one), kept
  alive per host for :data:`KEEPALIVE` seconds, and dropped when the server has closed them;
- timeouts: ``min(timeout, 10)`` to connect, ``timeout`` for each read;
- TLS: certificates from ``SSL_CERT_FILE``, else ``SSL_CERT_DIR``, else certifi's bundle;
- proxies: as :mod:`.proxies` reads the environment, an ``http://`` proxy with its
  ``user:password@`` if given (a CONNECT tunnel for https);
- bodies: ``gzip`` and ``deflate`` decoded (asked for unless the caller sets
  ``Accept-Encoding``), chunked or sized.
Failures are :class:`TransportError` subclasses named like httpx's (``ConnectError: ...``).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import logging
import os
import select
import socket
import ssl
import threading
import time
import zlib
from typing import TYPE_CHECKING, Protocol, overload
from urllib.parse import SplitResult, unquote, urlsplit

from cudaenv.index.proxies import Proxies

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["KEEPALIVE", "Client", "ConnectError", "InvalidURL", "Response", "TransportError"]

KEEPALIVE = 5.0  # seconds an idle connection is kept (httpx's default)
_USER_AGENT = "cudaenv (index client)"
_log = logging.getLogger("cudaenv.wire")  # shown with -vv


class TransportError(Exception):
    """The request did not get a whole answer (connection, TLS, timeout, protocol)."""


class ConnectError(TransportError): ...


class ConnectTimeout(TransportError): ...


class ReadTimeout(TransportError): ...


class ReadError(TransportError): ...


class RemoteProtocolError(TransportError): ...


class ProxyError(TransportError): ...


class InvalidURL(ValueError):
    """A URL no request can be sent to (no host, an unknown scheme or proxy scheme)."""


class _Headers:
    """Response headers, read without regard to case (``http.client``'s message)."""

    def __init__(self, message: http.client.HTTPMessage):
        self._message = message

    @overload
    def get(self, name: str) -> str | None: ...

    @overload
    def get(self, name: str, default: str) -> str: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self._message.get(name)
        return default if value is None else str(value)

    def __getitem__(self, name: str) -> str:
        value = self._message.get(name)
        if value is None:
            raise KeyError(name)
        return str(value)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._message


class Response:
    """One answer: status and headers at once, the body read (``content``) or streamed
    (:meth:`iter_bytes`), decoded; :meth:`close` gives the connection back."""

    def __init__(self, url: str, raw: http.client.HTTPResponse, release: _Release):
        self.url = url
        self.status_code = raw.status
        self.reason_phrase = raw.reason
        self.headers = _Headers(raw.headers)
        self._raw, self._release = raw, release
        self._content: bytes | None = None
        encoding = (self.headers.get("Content-Encoding") or "").strip().lower()
        self._decoder = _decoder(encoding)

    @property
    def content(self) -> bytes:
        if self._content is None:
            self._content = b"".join(self.iter_bytes(0))
        return self._content

    def iter_bytes(self, chunk_size: int) -> Iterator[bytes]:
        """The body, decoded, in pieces of at most about *chunk_size* bytes (0: at once); the
        connection is given back once the body has been read to its end."""
        if self._content is not None:
            yield self._content
            return
        try:
            while data := self._raw.read1(chunk_size) if chunk_size else self._raw.read():
                if out := self._decode(data):
                    yield out
            self._raw.close()  # read to its end: the connection may take the next request
            if self._decoder is not None and (rest := self._decoder.flush()):
                yield rest
        except TimeoutError as e:
            self._release(keep=False)
            raise ReadTimeout(str(e) or "the server sent nothing in time") from e
        except (OSError, http.client.HTTPException, zlib.error) as e:
            self._release(keep=False)
            raise ReadError(f"{type(e).__name__}: {e}") from e
        self._release(keep=not self._raw.will_close)

    def _decode(self, data: bytes) -> bytes:
        return data if self._decoder is None else self._decoder.decompress(data)

    def close(self) -> None:
        """Done with the answer: a body not read to its end closes the connection."""
        self._release(keep=False)


class _Release:
    """Gives one connection back to its pool exactly once."""

    def __init__(self, pool: _Pool, key: _Key, conn: http.client.HTTPConnection):
        self.pool, self.key, self.conn, self.done = pool, key, conn, False

    def __call__(self, *, keep: bool) -> None:
        if not self.done:
            self.done = True
            self.pool.give_back(self.key, self.conn, keep=keep)


_Key = tuple[str, str, int, "str | None"]  # scheme, host, port, proxy URL


class _Decoder(Protocol):
    def decompress(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


def _decoder(encoding: str) -> _Decoder | None:
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(zlib.MAX_WBITS | 16)
    if encoding == "deflate":
        return _Deflate()
    return None


class _Deflate:
    """``deflate`` as servers send it: zlib-wrapped, or (some) raw."""

    def __init__(self) -> None:
        self._d: zlib._Decompress | None = None

    def decompress(self, data: bytes) -> bytes:
        if self._d is None:
            self._d = zlib.decompressobj()
            try:
                return self._d.decompress(data)
            except zlib.error:
                self._d = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._d.decompress(data)

    def flush(self) -> bytes:
        return self._d.flush() if self._d is not None else b""


class _Pool:
    """Idle keep-alive connections per (scheme, host, port, proxy); at most ``limit`` open;
    the ones in use are known, so that closing the pool cuts their requests short."""

    def __init__(self, limit: int):
        self._idle: dict[_Key, list[tuple[http.client.HTTPConnection, float]]] = {}
        self._busy: set[http.client.HTTPConnection] = set()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, limit))

    def busy(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            self._busy.add(conn)

    def take(self, key: _Key) -> http.client.HTTPConnection | None:
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

    def give_back(self, key: _Key, conn: http.client.HTTPConnection, *, keep: bool) -> None:
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


class Client:
    """GET requests to any host, from any number of threads (see the module docstring)."""

    def __init__(self, *, connections: int = 16, timeout: float = 30.0):
        self.timeout = timeout
        self.connect_timeout = min(timeout, 10.0)
        self._pool = _Pool(connections)
        self._ssl: ssl.SSLContext | None = None
        self._lock = threading.Lock()
        self._proxies = Proxies(os.environ)
        self._closed = False

    def close(self) -> None:
        """Close the idle connections; a request asked for later raises (as httpx did), so
        that a background load left running by a closed index client stops there."""
        self._closed = True
        self._pool.close()

    def get(self, url: str, headers: dict[str, str], *, stream: bool = False) -> Response:
        """Send GET *url*; the response with its status and headers (and its body read
        unless *stream*: then the caller reads or closes it)."""
        if self._closed:
            raise RuntimeError("the HTTP client is closed: no request can be sent")
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), parts.hostname
        if scheme not in ("http", "https") or not host:
            raise InvalidURL(f"cannot send a request to {url!r}")
        port = parts.port or (443 if scheme == "https" else 80)
        proxy = self._proxies.for_url(scheme, host, port)
        key: _Key = (scheme, host, port, proxy)
        conn = self._pool.take(key)
        if conn is None:
            try:
                conn = self._connect(scheme, host, port, proxy)
            except BaseException:
                self._pool.cancel()
                raise
            _log.debug(
                "connected to %s://%s:%d%s", scheme, host, port, " via proxy" if proxy else ""
            )
        else:
            _log.debug("reusing a connection to %s://%s:%d", scheme, host, port)
        self._pool.busy(conn)
        release = _Release(self._pool, key, conn)
        target = url if proxy is not None and scheme == "http" else _path(parts)
        try:
            conn.request("GET", target, headers=self._headers(headers, host, port, scheme, proxy))
            raw = conn.getresponse()
        except TimeoutError as e:
            release(keep=False)
            raise ReadTimeout(str(e) or "the server sent nothing in time") from e
        except (OSError, http.client.HTTPException) as e:
            release(keep=False)
            raise RemoteProtocolError(f"{type(e).__name__}: {e}") from e
        resp = Response(url, raw, release)
        if not stream:
            _ = resp.content
        return resp

    def _headers(
        self, given: dict[str, str], host: str, port: int, scheme: str, proxy: str | None
    ) -> dict[str, str]:
        out = {"User-Agent": _USER_AGENT, "Accept-Encoding": "gzip, deflate"}
        out.update(given)
        default = 443 if scheme == "https" else 80
        out.setdefault("Host", _bracketed(host) + ("" if port == default else f":{port}"))
        if proxy is not None and scheme == "http" and (login := _proxy_login(proxy)):
            out["Proxy-Authorization"] = login
        return out

    def _connect(
        self, scheme: str, host: str, port: int, proxy: str | None
    ) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if proxy is None:
            address = (host, port)
        else:
            p = urlsplit(proxy)
            address = (p.hostname or "", p.port or 80)
        if scheme == "https":
            conn = http.client.HTTPSConnection(
                *address, timeout=self.connect_timeout, context=self._context()
            )
            if proxy is not None:
                login = _proxy_login(proxy)
                conn.set_tunnel(host, port, headers={"Proxy-Authorization": login} if login else {})
        else:
            conn = http.client.HTTPConnection(*address, timeout=self.connect_timeout)
        try:
            conn.connect()
        except TimeoutError as e:
            conn.close()
            raise ConnectTimeout(str(e) or "timed out") from e
        except OSError as e:
            conn.close()
            if proxy is not None and "Tunnel connection failed" in str(e):
                raise ProxyError(str(e)) from e
            raise ConnectError(str(e) or type(e).__name__) from e
        assert conn.sock is not None
        conn.sock.settimeout(self.timeout)
        return conn

    def _context(self) -> ssl.SSLContext:
        with self._lock:
            if self._ssl is None:
                self._ssl = _ssl_context()
            return self._ssl


def _ssl_context() -> ssl.SSLContext:
    """What httpx trusts: ``SSL_CERT_FILE``, else ``SSL_CERT_DIR``, else certifi."""
    if cafile := os.environ.get("SSL_CERT_FILE"):
        ctx = ssl.create_default_context(cafile=cafile)
    elif capath := os.environ.get("SSL_CERT_DIR"):
        ctx = ssl.create_default_context(capath=capath)
    else:
        import certifi

        ctx = ssl.create_default_context(cafile=certifi.where())
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def _path(parts: SplitResult) -> str:
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _proxy_login(proxy: str) -> str | None:
    p = urlsplit(proxy)
    if p.username is None:
        return None
    pair = f"{unquote(p.username)}:{unquote(p.password or '')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()
