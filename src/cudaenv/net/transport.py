"""GET over HTTP/1.1 with the standard library: keep-alive connections shared by threads, TLS,
proxies from the environment, gzip.

:class:`~.http.Http` (retries, redirects, logins, counters) sends every request through a
:class:`Client`. It is ``http.client`` underneath because a cold solve is bound by one core:
a general client costs twice the CPU per request (and a tenth of a second to import) for
features the index client never uses. What it does, it does as httpx did before it:

- connections: at most ``connections`` open at once (a request waits for a free one), kept
  alive per host for :data:`KEEPALIVE` seconds, and dropped when the server has closed them;
- timeouts: ``min(timeout, 10)`` to connect, ``timeout`` for each read, and a request's own
  ``deadline`` for all of it (:mod:`.watchdog` cuts a connection still busy then);
- TLS: certificates from ``SSL_CERT_FILE``, else ``SSL_CERT_DIR``, else certifi's bundle; a
  certificate that does not verify is :class:`CertificateError`, worth no retry;
- proxies: as :mod:`.proxies` reads the environment, an ``http://`` proxy with its
  ``user:password@`` if given (a CONNECT tunnel for https);
- bodies: ``gzip`` and ``deflate`` decoded a bounded piece at a time (:mod:`.decoding`; asked
  for unless the caller sets ``Accept-Encoding``), chunked or sized; :meth:`Response.read` stops
  at a limit on the decoded size (:mod:`.limits`).
Failures are :class:`TransportError` subclasses named like httpx's (``ConnectError: ...``);
an answer that is not HTTP is :class:`MalformedResponse`.
"""

from __future__ import annotations

import base64
import http.client
import logging
import os
import ssl
import threading
from urllib.parse import SplitResult, unquote, urlsplit

from cudaenv.net.httperrors import (
    CertificateError,
    ConnectError,
    ConnectTimeout,
    DeadlineExceeded,
    InvalidURL,
    MalformedResponse,
    ProxyError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    TLSError,
    TransportError,
)
from cudaenv.net.pool import KEEPALIVE, Key, Pool, Release
from cudaenv.net.proxies import Proxies
from cudaenv.net.response import Response
from cudaenv.net.watchdog import Watchdog

__all__ = [
    "KEEPALIVE",
    "CertificateError",
    "Client",
    "ConnectError",
    "ConnectTimeout",
    "DeadlineExceeded",
    "InvalidURL",
    "MalformedResponse",
    "ProxyError",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "Response",
    "TLSError",
    "TransportError",
]

_USER_AGENT = "cudaenv (index client)"
_log = logging.getLogger("cudaenv.wire")  # shown with -vv


class Client:
    """GET requests to any host, from any number of threads (see the module docstring)."""

    def __init__(self, *, connections: int = 16, timeout: float = 30.0):
        self.timeout = timeout
        self.connect_timeout = min(timeout, 10.0)
        self._pool = Pool(connections)
        self._ssl: ssl.SSLContext | None = None
        self._lock = threading.Lock()
        self._proxies = Proxies(os.environ)
        self._watchdog = Watchdog()
        self._closed = False

    def close(self) -> None:
        """Close the idle connections; a request asked for later raises (as httpx did), so
        that a background load left running by a closed index client stops there."""
        self._closed = True
        self._pool.close()

    def get(
        self,
        url: str,
        headers: dict[str, str],
        *,
        stream: bool = False,
        deadline: float | None = None,
    ) -> Response:
        """Send GET *url*; the response with its status and headers (and its body read
        unless *stream*: then the caller reads or closes it). *deadline* (a
        ``time.monotonic()`` value) ends the request wherever it is then, body included:
        :class:`DeadlineExceeded`."""
        if self._closed:
            raise RuntimeError("the HTTP client is closed: no request can be sent")
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), parts.hostname
        if scheme not in ("http", "https") or not host:
            raise InvalidURL(f"cannot send a request to {url!r}")
        port = parts.port or (443 if scheme == "https" else 80)
        proxy = self._proxies.for_url(scheme, host, port)
        key: Key = (scheme, host, port, proxy)
        conn = self._pool.take(key)
        fresh = conn is None
        if conn is None:
            conn = self._new(scheme, host, port, proxy)
        release = Release(self._pool, key, conn, self._watchdog, deadline)
        if fresh:
            self._open(conn, release, proxy)
            _log.debug(
                "connected to %s://%s:%d%s", scheme, host, port, " via proxy" if proxy else ""
            )
        else:
            _log.debug("reusing a connection to %s://%s:%d", scheme, host, port)
        self._pool.busy(conn)
        target = url if proxy is not None and scheme == "http" else _path(parts)
        try:
            release.check()
            conn.request("GET", target, headers=self._headers(headers, host, port, scheme, proxy))
            raw = conn.getresponse()
        except BaseException as e:
            _failed(release, e)
            raise _answer_error(e) from e
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

    def _new(
        self, scheme: str, host: str, port: int, proxy: str | None
    ) -> http.client.HTTPConnection:
        """A connection to *host* (or its *proxy*), not connected yet."""
        if proxy is None:
            address = (host, port)
        else:
            p = urlsplit(proxy)
            address = (p.hostname or "", p.port or 80)
        if scheme != "https":
            return http.client.HTTPConnection(*address, timeout=self.connect_timeout)
        conn = http.client.HTTPSConnection(
            *address, timeout=self.connect_timeout, context=self._context()
        )
        if proxy is not None:
            login = _proxy_login(proxy)
            conn.set_tunnel(host, port, headers={"Proxy-Authorization": login} if login else {})
        return conn

    def _open(self, conn: http.client.HTTPConnection, release: Release, proxy: str | None) -> None:
        """Connect *conn* (TLS and the proxy's tunnel included); a failure gives its slot
        back and raises a :class:`TransportError`."""
        try:
            conn.connect()
        except BaseException as e:
            _failed(release, e)
            raise _connect_error(e, proxy) from e
        assert conn.sock is not None
        conn.sock.settimeout(self.timeout)

    def _context(self) -> ssl.SSLContext:
        with self._lock:
            if self._ssl is None:
                self._ssl = _ssl_context()
            return self._ssl


def _failed(release: Release, e: BaseException) -> None:
    """Give the connection of a failed request back; re-raise what is not a failure of the
    request (Ctrl-C, a bug), and DeadlineExceeded where the request was cut at its deadline."""
    release(keep=False)
    if not isinstance(e, (OSError, http.client.HTTPException)):
        raise e
    release.check()


def _connect_error(e: BaseException, proxy: str | None) -> Exception:
    """What a failed connect is in this module's terms."""
    if isinstance(e, ssl.SSLCertVerificationError):
        code, message = e.verify_code, str(e.verify_message or e.reason or e)
        return CertificateError(str(e), verify_code=code, verify_message=message)
    if isinstance(e, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)):
        return ConnectError(str(e) or type(e).__name__)  # the connection broke: worth a retry
    if isinstance(e, ssl.SSLError):
        return TLSError(str(e))
    if isinstance(e, TimeoutError):
        return ConnectTimeout(str(e) or "timed out")
    if isinstance(e, OSError):
        if proxy is not None and "Tunnel connection failed" in str(e):
            return ProxyError(str(e))
        return ConnectError(str(e) or type(e).__name__)
    return ConnectError(f"{type(e).__name__}: {e}")


def _answer_error(e: BaseException) -> Exception:
    """What a failure while sending or reading the status and headers is here."""
    if isinstance(e, TimeoutError):
        return ReadTimeout(str(e) or "the server sent nothing in time")
    if isinstance(e, http.client.RemoteDisconnected):  # a kept-alive connection went away
        return RemoteProtocolError(f"{type(e).__name__}: {e}")
    if isinstance(e, http.client.HTTPException):
        return MalformedResponse(f"{type(e).__name__}: {e}")
    return RemoteProtocolError(f"{type(e).__name__}: {e}")


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
