"""The package index client: project pages (PEP 691, PEP 503 fallback) and wheel metadata.

The solver asks two questions of the index: which files does a project have
(:meth:`Index.project`) and what does a wheel require (:meth:`Index.metadata`). Both are cached
in memory for the run and on disk across runs (:mod:`.cache`); ``offline=True`` answers from the
disk cache alone and makes no request at all. Requests go through one HTTP layer (:mod:`.http`:
one retry path, counters) shared by a small thread pool (:mod:`.once`), so ``prefetch`` and
``prefetch_metadata`` overlap network waits while the public API stays synchronous. What fails
becomes one :class:`~cudaenv.errors.IndexError_` sentence with a hint, never a traceback. The
client knows pages and files, not solves: what the solver derives from a page it keeps itself,
under :meth:`Index.page_digest`.
"""

from __future__ import annotations

import functools
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from cudaenv.errors import IndexError_
from cudaenv.index.cache import CachedPage, DiskCache, default_cache_dir, max_age
from cudaenv.index.http import HINT, MAX_RETRY_AFTER, Http, redacted
from cudaenv.index.links import JSON_TYPE, FileLink, parse_html_page, parse_json_page, runs_on
from cudaenv.index.metadata import CoreMetadata, fetch_metadata
from cudaenv.index.once import Once

if TYPE_CHECKING:
    from collections.abc import Iterable

    from cudaenv.index.http import Transport

__all__ = ["DEFAULT_INDEX_URL", "Index", "ProjectNotFound"]

DEFAULT_INDEX_URL = "https://pypi.org/simple"
ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
_PROJECT = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?")


class ProjectNotFound(IndexError_):
    reference = "project-not-found"


class Index:
    """A simple-API package index (``PIP_INDEX_URL``, else PyPI), cached in memory and on disk.

    ``requests`` and ``bytes_received`` count HTTP traffic; a warm ``offline`` run makes none.
    ``page_ttl`` is how long a page the server sent without any caching headers is reused
    without asking again; a page the server gave a ``max-age`` (PyPI: 600 s) is reused for
    that long, unless ``revalidate`` asks the index about every page (as pip and uv always do;
    an unchanged page costs a 304 and no body). ``transport`` is passed to ``httpx.Client``
    (tests, proxies); ``retries``, ``backoff`` and ``max_retry_after`` shape the one retry path
    (:class:`~cudaenv.index.http.Http`).
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
        transport: Transport | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        max_retry_after: float = MAX_RETRY_AFTER,
        timeout: float = 30.0,
        page_ttl: float = 600.0,
        platform: str | None = None,
        revalidate: bool = False,
    ):
        self.url = (url or os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX_URL).rstrip("/")
        if not self.url.startswith(("http://", "https://")):
            raise IndexError_(
                f"the index URL {redacted(self.url)!r} is not an http:// or https:// URL",
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
            transport=transport,
            connections=self.max_concurrency,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            max_retry_after=max_retry_after,
        )
        self._cache = DiskCache(self.cache_dir, self.url)
        self._once = Once(self.max_concurrency, "cudaenv-index")
        self._pages: dict[str, CachedPage] = {}
        self._links: dict[str, tuple[FileLink, ...]] = {}
        self._metadata: dict[tuple[str, str], CoreMetadata] = {}

    # -- counters and lifecycle --------------------------------------------------------------
    @property
    def requests(self) -> int:
        """HTTP requests sent so far (each retry counts)."""
        return self._http.requests

    @property
    def bytes_received(self) -> int:
        return self._http.bytes_received

    @property
    def waited(self) -> float:
        """Seconds spent between tries of failed requests (backoff, ``Retry-After``)."""
        return self._http.waited

    def close(self) -> None:
        self._once.close()
        self._http.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- project pages -------------------------------------------------------------------------
    def project(self, name: str) -> tuple[FileLink, ...]:
        """Every file the index lists for *name*, in the index's order."""
        key = self._key(name)
        return self._once.get(self._links, key, lambda: self._parse(key, self._page(key)))

    def page_digest(self, name: str) -> str:
        """The sha256 of *name*'s current page (cached and fresh, revalidated, or fetched): what
        a caller keys the values it computes from the page by, so that a new page misses them.
        Cost: the page's first line on a warm cache, not its body."""
        key = self._key(name)
        return self._page(key).digest

    def pages_read(self) -> dict[str, str] | None:
        """Every page this client has read, with its digest; None if any page failed (a
        missing project, an unreadable page): then the reads describe no complete answer."""
        if self._once.failed(self._pages, self._links):
            return None
        return {name: page.digest for name, page in sorted(self._pages.items())}

    def prefetch(self, names: Iterable[str], *, wait: bool = True) -> None:
        """Fetch pages concurrently; failures are kept and raised by :meth:`project` later."""
        todo = {canonicalize_name(n) for n in names} - self._pages.keys()
        self._once.spawn((functools.partial(self.page_digest, n) for n in sorted(todo)), block=wait)

    @staticmethod
    def _key(name: str) -> str:
        key = canonicalize_name(name)
        if not _PROJECT.fullmatch(key):
            raise IndexError_(f"{name!r} is not a valid project name", hint="check the spelling")
        return key

    def _page(self, name: str) -> CachedPage:
        """The page of *name* (a canonical name): cached and fresh, revalidated, or fetched."""
        return self._once.get(self._pages, name, lambda: self._load_page(name))

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
                hint=HINT,
            ) from e

    # -- metadata ------------------------------------------------------------------------------
    def metadata(self, link: FileLink) -> CoreMetadata:
        """The core metadata of *link* (a wheel): cache, then PEP 658, then HTTP Range reads."""
        return self._once.get(
            self._metadata,
            (link.filename, link.sha256 or link.url),
            lambda: fetch_metadata(link, http=self._http, cache=self._cache, offline=self.offline),
        )

    def prefetch_metadata(self, links: Iterable[FileLink], *, wait: bool = True) -> None:
        """Fetch metadata concurrently; failures are raised by :meth:`metadata` later."""
        self._once.spawn((functools.partial(self.metadata, link) for link in links), block=wait)


def _same_page(cached: CachedPage | None, page: CachedPage) -> bool:
    """The index sent again the body it sent before (an index without validators answers a
    revalidation with 200 and the whole page): it was read then, it need not be read now."""
    return (
        cached is not None
        and cached.digest == page.digest
        and (cached.url, cached.content_type) == (page.url, page.content_type)
    )
