"""The package index client: project pages (PEP 691, PEP 503 fallback) and wheel metadata.

The solver asks two questions of the index: which files does a project have
(:meth:`Index.project`) and what does a wheel require (:meth:`Index.metadata`). Both are cached
in memory for the run and on disk across runs; ``offline=True`` answers from the disk cache alone
and makes no request at all. One ``httpx.Client`` is shared by a small thread pool, so
``prefetch`` and ``prefetch_metadata`` overlap network waits while the public API stays
synchronous. Transient failures (connection errors, 5xx) are retried with backoff; what is left
becomes one :class:`~cudaenv.errors.IndexError_` sentence with a hint, never a traceback.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from cudaenv.errors import IndexError_
from cudaenv.solver.cache import CachedPage, DiskCache, default_cache_dir, max_age
from cudaenv.solver.links import JSON_TYPE, FileLink, parse_html_page, parse_json_page, runs_on
from cudaenv.solver.metadata import CoreMetadata, fetch_metadata

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterable

    import httpx

__all__ = ["DEFAULT_INDEX_URL", "CoreMetadata", "FileLink", "Http", "Index", "ProjectNotFound"]

DEFAULT_INDEX_URL = "https://pypi.org/simple"
ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
_HINT = "check the network connection and --index-url, or use --offline with a warm cache"
_log = logging.getLogger(__name__)
_PROJECT = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?")


class ProjectNotFound(IndexError_):
    reference = "project-not-found"


class Http:
    """GET with bounded retries and backoff, counting requests and bytes received.

    The client (and httpx itself, a tenth of a second to import and set up TLS) is made on
    the first request: a warm or ``--offline`` solve makes none.
    """

    def __init__(
        self,
        index_url: str,
        make_client: Callable[[], httpx.Client],
        *,
        retries: int,
        backoff: float,
    ):
        self.index_url = _redacted(index_url)  # for messages: never print a password or token
        self._make_client = make_client
        self._client: httpx.Client | None = None
        self.retries = max(1, retries)
        self.backoff = backoff
        self.requests = 0
        self.bytes_received = 0
        self._lock = threading.Lock()

    @property
    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()

    def get(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """The response for any status below 500; transport errors and 5xx are retried."""
        import httpx

        problem = ""
        for attempt in range(self.retries):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                resp = self._once(url, headers)
            except httpx.TransportError as e:
                problem = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
                continue
            except (httpx.HTTPError, httpx.InvalidURL) as e:
                raise self._unreachable(f"{type(e).__name__}: {e}") from e
            if resp.status_code < 500 and resp.status_code != 429:
                return resp
            problem = f"HTTP {resp.status_code} {resp.reason_phrase} for {_redacted(url)}"
        raise self._unreachable(f"{problem} (after {self.retries} tries)")

    def _once(self, url: str, headers: dict[str, str] | None) -> httpx.Response:
        with self._lock:
            self.requests += 1
        resp = self.client.get(url, headers=headers)
        with self._lock:
            self.bytes_received += len(resp.content)
        return resp

    def _unreachable(self, problem: str) -> IndexError_:
        return IndexError_(
            f"could not reach the package index at {self.index_url}: {problem}", hint=_HINT
        )

    def failure(self, resp: httpx.Response, *, what: str) -> IndexError_:
        return IndexError_(
            f"the package index at {self.index_url} answered HTTP {resp.status_code} "
            f"{resp.reason_phrase} for {what} ({_redacted(str(resp.url))})",
            hint=_HINT,
        )


class Index:
    """A simple-API package index (``PIP_INDEX_URL``, else PyPI), cached in memory and on disk.

    ``requests`` and ``bytes_received`` count HTTP traffic; a warm ``offline`` run makes none.
    ``page_ttl`` is how long a page the server sent without any caching headers is reused
    without asking again; a page the server gave a ``max-age`` (PyPI: 600 s) is reused for
    that long, unless ``revalidate`` asks the index about every page (as pip and uv always do;
    an unchanged page costs a 304 and no body). ``transport`` is passed to ``httpx.Client``
    (tests, proxies).
    ``platform`` (a manylinux tag, e.g. the target's ``manylinux_2_28_x86_64``) drops wheels
    for other systems and architectures from pages, which makes big pages several times faster
    to read; ``None`` keeps every file.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        offline: bool = False,
        max_concurrency: int = 16,
        transport: httpx.BaseTransport | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 30.0,
        page_ttl: float = 600.0,
        platform: str | None = None,
        revalidate: bool = False,
    ):
        self.url = (url or os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX_URL).rstrip("/")
        if not self.url.startswith(("http://", "https://")):
            raise IndexError_(
                f"the index URL {_redacted(self.url)!r} is not an http:// or https:// URL",
                hint="pass --index-url https://host/simple",
            )
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.offline = offline
        self.page_ttl = page_ttl
        self.revalidate = revalidate
        self.platform = platform
        self._keep = runs_on(platform) if platform else None
        self.max_concurrency = max(1, max_concurrency)
        self._http = Http(
            self.url,
            lambda: _client(transport, self.max_concurrency, timeout),
            retries=retries,
            backoff=backoff,
        )
        self._cache = DiskCache(self.cache_dir, self.url)
        self._pages: dict[str, CachedPage] = {}
        self._links: dict[str, tuple[FileLink, ...]] = {}
        self._metadata: dict[Hashable, CoreMetadata] = {}
        self._errors: dict[tuple[int, Hashable], IndexError_] = {}
        self._locks: defaultdict[Hashable, threading.Lock] = defaultdict(threading.Lock)
        self._locks_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    # -- counters and lifecycle --------------------------------------------------------------
    @property
    def requests(self) -> int:
        """HTTP requests sent so far (each retry counts)."""
        return self._http.requests

    @property
    def bytes_received(self) -> int:
        return self._http.bytes_received

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._http.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- project pages -------------------------------------------------------------------------
    def project(self, name: str) -> tuple[FileLink, ...]:
        """Every file the index lists for *name*, in the index's order."""
        key = self._key(name)
        return self._memo(self._links, key, lambda: self._parse(key, self._page(key)))

    def derived(self, name: str, kind: str) -> object | None:
        """What was computed from *name*'s current page under *kind* (see ``put_derived``)."""
        key = self._key(name)
        return self._cache.derived(key, kind, self._page(key))

    def put_derived(self, name: str, kind: str, value: object) -> None:
        """Keep a JSON *value* computed from *name*'s current page; *kind* must name every
        input other than the page (a changed page makes the value unreachable)."""
        key = self._key(name)
        self._cache.put_derived(key, kind, self._page(key), value)

    def page_digest(self, name: str) -> str:
        """The sha256 of *name*'s current page (cached and fresh, revalidated, or fetched)."""
        key = self._key(name)
        return self._page(key).digest

    def pages_read(self) -> dict[str, str] | None:
        """Every page this client has read, with its digest; None if any page failed (a
        missing project, an unreadable page): then the reads do not describe a solve."""
        if any(isinstance(slot, str) for _store, slot in self._errors):
            return None
        return {name: page.digest for name, page in sorted(self._pages.items())}

    def remembered(self, key: str) -> object | None:
        """A JSON value kept under *key* by :meth:`remember` (the disk cache), else None."""
        return self._cache.memo(key)

    def remember(self, key: str, value: object) -> None:
        self._cache.put_memo(key, value)

    def prefetch(self, names: Iterable[str], *, wait: bool = True) -> None:
        """Fetch pages concurrently; failures are kept and raised by :meth:`project` later."""
        todo = {canonicalize_name(n) for n in names} - self._pages.keys()
        jobs: list[Callable[[], object]] = [
            functools.partial(self._page_of, n) for n in sorted(todo)
        ]
        self._spawn(jobs, wait)

    def _page_of(self, name: str) -> CachedPage:
        return self._page(self._key(name))

    @staticmethod
    def _key(name: str) -> str:
        key = canonicalize_name(name)
        if not _PROJECT.fullmatch(key):
            raise IndexError_(f"{name!r} is not a valid project name", hint="check the spelling")
        return key

    def _page(self, name: str) -> CachedPage:
        """The page of *name* (a canonical name): cached and fresh, revalidated, or fetched."""
        return self._memo(self._pages, name, lambda: self._load_page(name))

    def _load_page(self, name: str) -> CachedPage:
        cached = self._cache.page(name)
        fresh = cached is not None and not self.revalidate and cached.is_fresh(self.page_ttl)
        if self.offline or fresh:
            if cached is None:
                raise IndexError_(
                    f"the index page of {name!r} is not in the cache ({self.cache_dir}), "
                    "and --offline forbids fetching it",
                    hint="run the same command once without --offline to fill the cache",
                )
            return cached
        headers = {"Accept": ACCEPT, **(cached.validators() if cached else {})}
        resp = self._http.get(f"{self.url}/{name}/", headers)
        if resp.status_code == 304 and cached is not None:
            page = cached.touched()
        elif resp.status_code == 200:
            page = CachedPage(
                url=str(resp.url),
                content_type=resp.headers.get("Content-Type", ""),
                body=resp.content,
                fetched=time.time(),
                etag=resp.headers.get("ETag"),
                last_modified=resp.headers.get("Last-Modified"),
                max_age=max_age(resp.headers.get("Cache-Control")),
            )
        elif resp.status_code in (404, 410):
            raise ProjectNotFound(
                f"no such project on the package index at {self._http.index_url}: {name}",
                hint="check the spelling of the package name, or --index-url",
            )
        else:
            raise self._http.failure(resp, what=f"the project {name!r}")
        if resp.status_code == 200 and not _same_page(cached, page):
            self._links[name] = self._parse(name, page)  # unreadable: an error now, not cached
        self._cache.put_page(name, page)
        return page

    def _parse(self, name: str, page: CachedPage) -> tuple[FileLink, ...]:
        try:
            if page.content_type.split(";")[0].strip() in (JSON_TYPE, "application/json"):
                return parse_json_page(page.content(), page.url, self._keep)
            return parse_html_page(page.content(), page.url, self._keep)
        except OSError as e:
            raise IndexError_(
                f"the cached index page of {name!r} could not be read: {e}",
                hint="run the same command again; if it persists, remove " + str(self.cache_dir),
            ) from e
        except (ValueError, KeyError, TypeError) as e:
            raise IndexError_(
                f"the package index at {self._http.index_url} sent an unreadable page for "
                f"{name!r}: {e}",
                hint=_HINT,
            ) from e

    # -- metadata ------------------------------------------------------------------------------
    def metadata(self, link: FileLink) -> CoreMetadata:
        """The core metadata of *link* (a wheel): cache, then PEP 658, then HTTP Range reads."""
        return self._memo(
            self._metadata,
            (link.filename, link.sha256 or link.url),
            lambda: fetch_metadata(link, http=self._http, cache=self._cache, offline=self.offline),
        )

    def prefetch_metadata(self, links: Iterable[FileLink], *, wait: bool = True) -> None:
        """Fetch metadata concurrently; failures are raised by :meth:`metadata` later."""
        self._spawn([functools.partial(self.metadata, link) for link in links], wait)

    # -- shared machinery --------------------------------------------------------------------
    def _memo(self, store: dict[Any, Any], slot: Hashable, load: Callable[[], Any]) -> Any:
        """``store[slot]``, loaded once even when several threads ask at the same time."""
        if slot in store:
            return store[slot]
        with self._locks_lock:
            lock = self._locks[(id(store), slot)]
        with lock:
            if slot in store:
                return store[slot]
            if (id(store), slot) in self._errors:
                raise self._errors[(id(store), slot)]
            try:
                store[slot] = load()
            except IndexError_ as e:
                self._errors[(id(store), slot)] = e
                raise
            return store[slot]

    def _spawn(self, jobs: list[Callable[[], object]], block: bool) -> None:
        if not jobs:
            return
        with self._locks_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_concurrency, "cudaenv-index")
        futures = [self._pool.submit(_quietly, job) for job in jobs]
        if block:
            wait(futures)


def _same_page(cached: CachedPage | None, page: CachedPage) -> bool:
    """The index sent again the body it sent before (an index without validators answers a
    revalidation with 200 and the whole page): it was read then, it need not be read now."""
    return (
        cached is not None
        and cached.digest == page.digest
        and (cached.url, cached.content_type) == (page.url, page.content_type)
    )


def _redacted(url: str) -> str:
    """*url* with any ``user:password@`` shown as ``***@`` (PIP_INDEX_URL often holds a token)."""
    return re.sub(r"^([a-z][a-z0-9+.-]*://)[^/@]*@", r"\1***@", url, flags=re.IGNORECASE)


def _client(
    transport: httpx.BaseTransport | None, connections: int, timeout: float
) -> httpx.Client:
    """One client for every thread: keep-alive connections up to the pool size."""
    import httpx

    return httpx.Client(
        transport=transport,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        follow_redirects=True,
        headers={"User-Agent": "cudaenv (index client)"},
    )


def _quietly(job: Callable[[], object]) -> None:
    try:
        job()
    except IndexError_ as e:  # kept by Index._memo and raised to the caller that asks
        _log.debug("prefetch failed: %s", e.message)
