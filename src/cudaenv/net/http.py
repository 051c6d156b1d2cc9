"""The index client's one HTTP layer: every GET it sends, retried one way, and counted.

Project pages, PEP 658 ``.metadata`` files and Range reads of wheels all go through
:class:`Http`, so there is one retry path: transport errors, 429 and 5xx are tried again after an
exponential backoff, or after the ``Retry-After`` the server asked for (seconds or an HTTP date,
at most :data:`MAX_RETRY_AFTER`: a wait of minutes is better reported than sat through). What a
retry cannot change is not retried: a certificate that does not verify, an answer that is not
HTTP, a request past its total time (:mod:`.limits`: every try of one request shares it), a
body past its limit. What is left becomes one :class:`~cudaenv.errors.IndexError_` sentence
with a hint (:mod:`.failures`), never a traceback.
Requests, bytes received and seconds waited are counted, from any number of threads, and the
requests in flight are known (:meth:`Http.slowest`), so that a status line can name the one a
slow index keeps waiting.

The client underneath (:mod:`.transport`, ``http.client`` with keep-alive, TLS and proxies) is
imported only on the first request: a warm or ``--offline`` solve sends none and never pays for
importing it and setting up TLS.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
import threading
import time
from typing import TYPE_CHECKING

from cudaenv.errors import IndexError_
from cudaenv.net import failures
from cudaenv.net.auth import without_auth
from cudaenv.net.limits import (
    DEFAULT_PAGE,
    LARGE_BODIES,
    MAX_RETRY_AFTER,
    BodyTooLarge,
    Limits,
    retry_after,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import TypeAlias

    from cudaenv.net.auth import Credentials, Login
    from cudaenv.net.transport import Client
    from cudaenv.net.transport import Response as _Response

    Response: TypeAlias = _Response
    Transport: TypeAlias = Client

__all__ = [
    "HINT",
    "MAX_RETRY_AFTER",
    "BodyTooLarge",
    "CredentialsRefused",
    "Http",
    "redacted",
    "retry_after",
]

HINT = "check the network connection and --index-url, or use --offline with a warm cache"
_CHUNK = 64 * 1024
_MAX_REDIRECTS = 10
_REDIRECTS = (301, 302, 303, 307, 308)
_log = logging.getLogger(__name__)


class CredentialsRefused(IndexError_):
    """A 401 or 403: the index wants a login, or not the one it got."""

    reference = "index-credentials"


class Http:
    """GETs to one index with bounded retries, counting requests, bytes and waits.

    ``retries`` is how many times a request is sent at most; ``backoff`` the first pause
    between tries (doubled each time) when the server gave no ``Retry-After``. ``timeout`` is
    how long the server may stay silent, ``total`` how long one request may take, its tries
    included (None: ``CUDAENV_HTTP_TIMEOUT`` and :data:`~.limits.TOTAL_FACTOR` times it,
    :class:`~.limits.Limits`). The client (:class:`~.transport.Client`: keep-alive connections
    up to ``connections``, shared by every thread; ``transport``: one given instead) is made on
    the first request.
    """

    def __init__(
        self,
        index_url: str,
        *,
        transport: Transport | None = None,
        connections: int = 16,
        timeout: float | None = None,
        total: float | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        max_retry_after: float = MAX_RETRY_AFTER,
        credentials: Credentials | None = None,
    ):
        from cudaenv.net.auth import Credentials

        self.index_url = redacted(index_url)  # for messages: never print a password or token
        self.credentials = credentials or Credentials([index_url])
        self.retries = max(1, retries)
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        limits = Limits.from_environ()
        if timeout is not None:
            limits = Limits(page=limits.page, timeout=timeout)
        self.limits = limits
        self.total = limits.total if total is None else total
        self._settings = (transport, max(1, connections), limits.timeout)
        self._client: Client | None = None
        self._requests = 0
        self._bytes = 0
        self._waited = 0.0
        self._lock = threading.Lock()
        self._flying: dict[int, tuple[str, float]] = {}  # token -> (URL, monotonic start)
        self._tokens = itertools.count()
        self._closed = False

    # -- counters and lifecycle ------------------------------------------------------------------
    @property
    def requests(self) -> int:
        """Requests sent so far (each retry counts)."""
        return self._requests

    @property
    def bytes_received(self) -> int:
        return self._bytes

    @property
    def waited(self) -> float:
        """Seconds spent waiting between tries (backoff and ``Retry-After``)."""
        return self._waited

    def slowest(self) -> tuple[str, float] | None:
        """The request in flight longest (retries and body included): its URL, without
        credentials, and the seconds it has taken so far; None when none is."""
        with self._lock:
            if not self._flying:
                return None
            url, started = min(self._flying.values(), key=lambda f: f[1])
        return url, time.monotonic() - started

    @contextlib.contextmanager
    def _in_flight(self, url: str) -> Iterator[None]:
        token = next(self._tokens)
        started = time.monotonic()
        with self._lock:
            self._flying[token] = (redacted(url), started)
        try:
            yield
        finally:
            with self._lock:
                del self._flying[token]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._client is not None:
                self._client.close()

    def _count(self, *, requests: int = 0, received: int = 0, waited: float = 0.0) -> None:
        with self._lock:
            self._requests += requests
            self._bytes += received
            self._waited += waited

    def _http_client(self) -> Client:
        from cudaenv.net.proxies import UnusableProxy

        with self._lock:
            if self._client is None:
                try:
                    self._client = _new_client(*self._settings)
                except UnusableProxy as e:
                    raise IndexError_(
                        str(e),
                        hint="set it to http://HOST:PORT, or name the index host in NO_PROXY",
                    ) from None
            return self._client

    # -- requests --------------------------------------------------------------------------------
    def get(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        *,
        limit: int = DEFAULT_PAGE,
        what: str | None = None,
    ) -> Response:
        """The response, its body read (at most *limit* decoded bytes, else
        :class:`~.limits.BodyTooLarge`), for any status below 500 but 429."""
        with self._in_flight(url):
            return self._send(url, headers or {}, what=what or redacted(url), limit=limit)

    @contextlib.contextmanager
    def stream(
        self, url: str, headers: dict[str, str], *, what: str, seconds: float | None = None
    ) -> Iterator[Response]:
        """The response, body not read yet (see :meth:`chunks`), for any status below 500 but
        429; closed on leaving. *what* names the file in messages; *seconds* is the time the
        request may take, body included (default :attr:`total`)."""
        with self._in_flight(url):
            resp = self._send(url, headers, what=what, limit=None, seconds=seconds)
            try:
                yield resp
            finally:
                resp.close()

    def _send(
        self,
        url: str,
        headers: dict[str, str],
        *,
        what: str,
        limit: int | None,
        seconds: float | None = None,
    ) -> Response:
        """The one retry path: transport errors, 429 and 5xx are tried again, within the
        request's time; the body is read here unless ``limit`` is None (a stream)."""
        from cudaenv.net.transport import InvalidURL, TransportError

        client = self._http_client()
        deadline = time.monotonic() + (self.total if seconds is None else seconds)
        ticket = LARGE_BODIES.ticket()  # bodies grown large are read in the order asked for
        problem, asked, tries = "", None, 0
        for attempt in range(self.retries):
            if attempt and not self._pause(attempt, asked, deadline):
                break
            tries, sent = tries + 1, time.monotonic()
            try:
                resp = self._follow(client, url, headers, deadline)
                if limit is not None and resp.status_code < 500 and resp.status_code != 429:
                    self._count(received=len(resp.read(limit, ticket=ticket)))
            except TransportError as e:
                if (final := failures.fatal(e, self.index_url, url, what, self.limits)) is not None:
                    raise final from None
                problem, asked = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__, None
                continue
            except InvalidURL as e:
                raise self.unreachable(f"{type(e).__name__}: {e}") from e
            shown = redacted(url) if limit is not None else what  # a page by URL, a file by name
            _log.debug("GET %s -> %d in %.2f s", shown, resp.status_code, time.monotonic() - sent)
            if resp.status_code < 500 and resp.status_code != 429:
                return resp
            resp.close()
            asked = retry_after(resp.headers.get("Retry-After"))
            problem = f"HTTP {resp.status_code} {resp.reason_phrase} for {what}"
        raise self.unreachable(f"{problem} (after {tries} tries)", timeout=problem)

    def _follow(
        self, client: Client, url: str, headers: dict[str, str], deadline: float
    ) -> Response:
        """GET *url*, following redirects, each hop with the login of its own host (none when
        its host has none); a 401 asks keyring once; a 401 or 403 left is an error."""
        from urllib.parse import urljoin

        login, asked_keyring = self.credentials.for_url(url), False
        for _hop in range(_MAX_REDIRECTS + 1):
            sent = {**headers, **login.header()} if login else headers
            self._count(requests=1)
            resp = client.get(without_auth(url), sent, stream=True, deadline=deadline)
            status = resp.status_code
            if status in _REDIRECTS and resp.headers.get("Location"):
                resp.close()
                url = urljoin(str(resp.url), resp.headers["Location"])
                login = self.credentials.for_url(url)
                continue
            if status == 401 and not asked_keyring:
                asked_keyring = True
                found = self.credentials.from_keyring(url)
                if found is not None and found != login:
                    resp.close()
                    login = found
                    continue
            if status in (401, 403):
                resp.close()
                raise self.refused(resp, url, login)
            return resp
        raise failures.redirects(self.index_url, redacted(url), _MAX_REDIRECTS)

    def _pause(self, attempt: int, asked: float | None, deadline: float) -> bool:
        """Wait before try *attempt*; False (no wait) when the request has no time left."""
        delay = self.backoff * 2 ** (attempt - 1) if asked is None else asked
        delay = min(delay, self.max_retry_after)
        if self._closed or time.monotonic() + delay >= deadline:
            return False
        _log.debug("try %d of %d in %.2f s (asked: %s)", attempt + 1, self.retries, delay, asked)
        if delay > 0:
            self._count(waited=delay)
            time.sleep(delay)
        return True

    def chunks(self, resp: Response, what: str, limit: int) -> Iterator[bytes]:
        """A streamed body in chunks (decoded, at most 64 KiB each), counted;
        :class:`~.limits.BodyTooLarge` past *limit* bytes (before reading, when an unencoded
        body's ``Content-Length`` says so)."""
        from cudaenv.net.transport import DeadlineExceeded, TransportError

        declared = resp.headers.get("Content-Length", "")
        plain = resp.headers.get("Content-Encoding", "identity").strip().lower() == "identity"
        if plain and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(limit)
        seen = 0
        try:
            for chunk in resp.iter_bytes(_CHUNK):
                seen += len(chunk)
                self._count(received=len(chunk))
                if seen > limit:
                    raise BodyTooLarge(limit)
                yield chunk
        except DeadlineExceeded as e:
            raise failures.too_slow(self.index_url, what, self.limits) from e
        except TransportError as e:
            raise self.unreachable(f"{type(e).__name__} while reading {what}: {e}") from e

    # -- messages --------------------------------------------------------------------------------
    def unreachable(self, problem: str, *, timeout: str = "") -> IndexError_:
        """The error for an index that did not answer; *timeout* (the last problem) names
        ``CUDAENV_HTTP_TIMEOUT`` in the hint when it was a timeout."""
        hint = HINT + failures.slow_hint(timeout, self.limits)
        return IndexError_(
            f"could not reach the package index at {self.index_url}: {problem}", hint=hint
        )

    def refused(self, resp: Response, url: str, login: Login | None) -> CredentialsRefused:
        """The error for a 401 or 403: the index wants credentials, or not these."""
        from cudaenv.net.auth import realm

        host = realm(url)[1]
        answer = f"HTTP {resp.status_code} {resp.reason_phrase}"
        where = f"the package index at {self.index_url} answered {answer} for {redacted(url)}"
        if login is not None:
            return CredentialsRefused(
                f"{where}: it refused the credentials for {host} from {login.source}",
                hint=f"correct the login for {host} in {login.source}, or check that this "
                "account may read the index",
            )
        netrc = self.credentials.netrc_path
        return CredentialsRefused(
            f"{where}: it wants credentials, and none were found for {host}",
            hint=f"add the line `machine {host} login USER password TOKEN` to {netrc}, or "
            f"give them in the URL (--index-url {_with_userinfo(self.index_url)}), or "
            f"store them with `keyring set {host} USER`",
        )

    def failure(self, resp: Response, *, what: str) -> IndexError_:
        """The error for an answer that is neither the file nor worth a retry (404, 403...)."""
        return IndexError_(
            f"the package index at {self.index_url} answered HTTP {resp.status_code} "
            f"{resp.reason_phrase} for {what} ({redacted(str(resp.url))})",
            hint=HINT,
        )


def _with_userinfo(url: str) -> str:
    """*url* with ``USER:TOKEN@`` as its userinfo (the form a hint shows)."""
    scheme, sep, rest = without_auth(url).partition("://")
    return f"{scheme}{sep}USER:TOKEN@{rest}" if sep else url


def redacted(url: str) -> str:
    """*url* with any ``user:password@`` shown as ``***@`` (PIP_INDEX_URL often holds a token)."""
    return re.sub(r"^([a-z][a-z0-9+.-]*://)[^/@]*@", r"\1***@", url, flags=re.IGNORECASE)


def _new_client(transport: Transport | None, connections: int, timeout: float) -> Client:
    """The client to send with (redirects are followed by Http._follow, each hop with its own
    login); proxies come from the environment (:mod:`.proxies`)."""
    if transport is not None:
        return transport
    from cudaenv.net.transport import Client

    return Client(connections=connections, timeout=timeout)
