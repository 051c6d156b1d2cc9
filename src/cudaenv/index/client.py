"""The package index client: project pages (PEP 691, PEP 503 fallback) and wheel metadata.

The solver asks two questions of the index: which files does a project have
(:meth:`Index.project`) and what does a wheel require (:meth:`Index.metadata`). Both are cached
in memory for the run and on disk across runs (:mod:`.cache`); ``offline=True`` answers from the
disk cache alone and makes no request at all. Requests go through one HTTP layer
(:mod:`cudaenv.net.http`: one retry path, counters, credentials from :mod:`cudaenv.net.auth`) shared
by a small thread pool (:mod:`.once`), so ``prefetch`` and ``prefetch_metadata`` overlap network
waits while the public API stays synchronous. What fails becomes one
:class:`~cudaenv.errors.IndexError_` sentence with a hint, never a traceback. The client knows pages
and files, not solves: what the solver derives from a page it keeps itself, under
:meth:`Index.page_digest`.

The indexes and find-links locations come from :class:`~cudaenv.settings.IndexSettings`
(the user's pip and uv configuration). With several indexes a project's files are those of the
first index that has it (``first-index``: extras before the default), or of every index
(``unsafe-best-match``, pip's rule, the default index first so that it wins ties); files of
find-links locations join either. Every file records the index it came from.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from cudaenv.errors import IndexError_
from cudaenv.index.cache import DiskCache, check_cache_dir, default_cache_dir
from cudaenv.index.links import (
    JSON_TYPE,
    FileLink,
    for_target,
    parse_html_page,
    parse_json_page,
    runs_on,
)
from cudaenv.index.metadata import CoreMetadata, fetch_metadata
from cudaenv.index.once import Once
from cudaenv.index.sources import HttpOptions, Sources
from cudaenv.net.auth import without_auth
from cudaenv.net.http import HINT, MAX_RETRY_AFTER, redacted
from cudaenv.settings import BEST_MATCH, PYPI, IndexSettings

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable

    from packaging.tags import Tag

    from cudaenv.index.cache import CachedPage
    from cudaenv.net.http import Transport

__all__ = ["DEFAULT_INDEX_URL", "Index", "IndexActivity", "ProjectNotFound"]

DEFAULT_INDEX_URL = PYPI
_PROJECT = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?")
_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Found:
    """What the indexes say of one project: the pages used (index URL, page) and the files
    of find-links locations; ``digest`` names all of it. A page read when it was fetched keeps
    no body here once its cache file holds it: the client reads it again only if asked for
    every file (:meth:`Index.project`, for a client made for a target)."""

    digest: str
    pages: tuple[tuple[str, CachedPage], ...]
    flat: tuple[FileLink, ...]


class ProjectNotFound(IndexError_):
    reference = "project-not-found"


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexActivity:
    """What the client has done so far, for a status line: pages and METADATA read (from the
    cache or the index), requests sent, seconds spent between retries, and the request in
    flight longest (``slowest``, its URL without credentials) with its seconds so far."""

    pages: int
    metadata: int
    requests: int
    waited: float
    slowest: str | None = None
    slowest_seconds: float = 0.0


class Index:
    """Simple-API package indexes and find-links locations, cached in memory and on disk.

    ``Index(url)`` reads that one index; ``Index(settings=...)`` what the settings name;
    ``Index()`` what the user's pip and uv settings name (:func:`cudaenv.settings.read`).
    ``requests`` and ``bytes_received`` count HTTP traffic; a warm ``offline`` run makes none.
    ``page_ttl`` is how long a page the server sent without any caching headers is reused
    without asking again; a page the server gave a ``max-age`` (PyPI: 600 s) is reused for
    that long, unless ``revalidate`` asks the index about every page (as pip and uv always do;
    an unchanged page costs a 304 and no body). ``transport`` is a
    :class:`~cudaenv.net.transport.Client` to send with instead of a new one; ``retries``,
    ``backoff`` and ``max_retry_after`` shape the one retry path (:class:`~cudaenv.net.http.Http`);
    ``timeout`` is how long an index may stay silent (None: ``CUDAENV_HTTP_TIMEOUT``, else 30 s;
    one request may take four times that, :mod:`cudaenv.net.limits`).
    ``platform`` (a manylinux tag, e.g. the target's ``manylinux_2_28_x86_64``) drops wheels
    for other systems and architectures from pages, which makes big pages several times faster
    to read; ``None`` keeps every file. ``tags`` (the target's supported wheel tags) makes
    :meth:`usable` leave out the wheels that carry none of them, and sdists too unless
    ``sdists``, without making links of them (most of what a big page lists); :meth:`project`
    still lists every file.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        settings: IndexSettings | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        offline: bool = False,
        max_concurrency: int = 16,
        transport: Transport | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        max_retry_after: float = MAX_RETRY_AFTER,
        timeout: float | None = None,
        page_ttl: float = 600.0,
        platform: str | None = None,
        tags: Iterable[Tag] | None = None,
        sdists: bool = True,
        revalidate: bool = False,
    ):
        if settings is None:
            from cudaenv.settings import read

            settings = IndexSettings.single(url) if url else read()
        self.settings = settings
        self.url = settings.default.url.rstrip("/")
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        check_cache_dir(self.cache_dir, given=cache_dir is not None)
        self.offline = offline
        self.page_ttl = page_ttl
        self.revalidate = revalidate
        self.platform = platform
        self.tags = frozenset(tags) if tags is not None else None
        self.sdists = sdists or self.tags is None
        self._keep = runs_on(platform) if platform else None
        self._keep_usable = (
            self._keep if self.tags is None else for_target(platform, self.tags, sdists=sdists)
        )
        self.max_concurrency = max(1, max_concurrency)
        self._sources = Sources(
            settings,
            cache_dir=self.cache_dir,
            offline=offline,
            page_ttl=page_ttl,
            revalidate=revalidate,
            keep=self._keep,
            http=HttpOptions(
                transport=transport,
                connections=self.max_concurrency,
                timeout=timeout,
                retries=retries,
                backoff=backoff,
                max_retry_after=max_retry_after,
            ),
        )
        self.credentials = self._sources.credentials
        self._once = Once(self.max_concurrency, "cudaenv-index")
        self._pages: dict[str, _Found] = {}
        self._parsed: dict[tuple[str, str], tuple[FileLink, ...]] = {}
        self._links: dict[str, tuple[FileLink, ...]] = {}
        self._usable: dict[str, tuple[FileLink, ...]] = {}
        self._asked: set[str] = set()  # names a caller asked about (not only hinted)
        self._metadata: dict[tuple[str, str], CoreMetadata] = {}
        # METADATA is kept by file name and sha256, the same whichever index served the file
        self._metadata_cache = DiskCache(self.cache_dir, "")

    @property
    def identity(self) -> str:
        """The name of everything that decides this client's answers (its indexes, their
        order and strategy, its find-links locations): what solver caches are kept under."""
        return self._sources.identity

    # -- counters and lifecycle --------------------------------------------------------------
    @property
    def requests(self) -> int:
        """HTTP requests sent so far (each retry counts)."""
        return sum(h.requests for h in self._sources.https())

    @property
    def bytes_received(self) -> int:
        return sum(h.bytes_received for h in self._sources.https())

    @property
    def waited(self) -> float:
        """Seconds spent between tries of failed requests (backoff, ``Retry-After``)."""
        return sum(h.waited for h in self._sources.https())

    def activity(self) -> IndexActivity:
        """The counters of this run and the slowest request in flight (cheap: no I/O)."""
        flying = [f for f in (h.slowest() for h in self._sources.https()) if f is not None]
        slowest = max(flying, key=lambda f: f[1], default=None)
        return IndexActivity(
            pages=len(self._pages),
            metadata=len(self._metadata),
            requests=self.requests,
            waited=self.waited,
            slowest=slowest[0] if slowest else None,
            slowest_seconds=slowest[1] if slowest else 0.0,
        )

    def close(self, *, wait: bool = True) -> None:
        """Close the client; ``wait=False`` leaves loads in progress behind (see Once.close)."""
        self._once.close(wait=wait)
        for http in self._sources.https():
            http.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(wait=exc_type is None)  # Ctrl-C or a failure: do not wait for a stalled page

    # -- project pages -------------------------------------------------------------------------
    def project(self, name: str) -> tuple[FileLink, ...]:
        """Every file the indexes list for *name*: the index's (or indexes') order, then the
        find-links locations'."""
        key = self._key(name)
        self._asked.add(key)
        if self.tags is None:
            return self.usable(key)
        return self._once.get(self._links, key, lambda: self._combine(key, self._keep))

    def usable(self, name: str) -> tuple[FileLink, ...]:
        """The files of :meth:`project` a target with the client's ``tags`` can use: those
        wheels, and the files that are not wheels when ``sdists`` (every file when the client
        has no ``tags``)."""
        key = self._key(name)
        self._asked.add(key)
        return self._once.get(self._usable, key, lambda: self._combine(key, self._keep_usable))

    def page_digest(self, name: str) -> str:
        """The sha256 of what the indexes say of *name* now (cached and fresh, revalidated,
        or fetched): what a caller keys the values it computes from the pages by, so that a
        change misses them. Cost: the first line of each page on a warm cache, not its body."""
        key = self._key(name)
        self._asked.add(key)
        return self._page(key).digest

    def fetched(self, name: str) -> bool:
        """Whether this client fetched *name*'s page from an index in this run (and read it
        then), rather than taking it from the cache."""
        key = canonicalize_name(name)
        return any((source.url, key) in self._parsed for source in self._sources.indexes)

    def pages_read(self) -> dict[str, str] | None:
        """Every project a caller asked about, with its digest; None if any read failed (a
        missing project, an unreadable page): then the reads describe no complete answer.
        Pages only :meth:`hint` fetched are not among them."""
        if self._once.failed(self._pages, self._links, self._usable):
            return None
        pages = self._pages
        return {name: pages[name].digest for name in sorted(self._asked) if name in pages}

    def prefetch(self, names: Iterable[str], *, wait: bool = True) -> None:
        """Fetch pages concurrently; failures are kept and raised by :meth:`project` later."""
        todo = {canonicalize_name(n) for n in names} - self._pages.keys()
        self._once.spawn((functools.partial(self.page_digest, n) for n in sorted(todo)), block=wait)

    def hint(self, names: Iterable[str]) -> None:
        """Fetch these pages in the background, in this order, because a caller will likely
        ask for them: their round trips overlap instead of following one another. A hint is
        not a read: a page only hinted is not among :meth:`pages_read`, and a name that fails
        (no such project, an index that does not answer) is forgotten: asked for later, it is
        tried again and fails then."""
        todo = dict.fromkeys(canonicalize_name(x) for x in names)
        todo = {n: None for n in todo if n not in self._pages and _PROJECT.fullmatch(n)}
        self._once.spawn((functools.partial(self._hinted, n) for n in todo), block=False)

    def _hinted(self, name: str) -> None:
        with contextlib.suppress(IndexError_):
            self._once.get(self._pages, name, lambda: self._load(name), keep_failure=False)

    @staticmethod
    def _key(name: str) -> str:
        key = canonicalize_name(name)
        if not _PROJECT.fullmatch(key):
            raise IndexError_(f"{name!r} is not a valid project name", hint="check the spelling")
        return key

    def _page(self, name: str) -> _Found:
        """What the indexes say of *name* (a canonical name), loaded once per run."""
        return self._once.get(self._pages, name, lambda: self._load(name))

    def _load(self, name: str) -> _Found:
        pages: list[tuple[str, CachedPage]] = []
        for source in self._sources.indexes:
            page = source.load(name)
            if page is None:
                continue
            if page.body is not None:  # fetched now: an unreadable page is an error now
                parsed = self._parse(name, page, source.url, self._keep_usable)
                self._parsed[source.url, name] = parsed
                if page.source is not None:  # its cache file holds the body: drop it here
                    page = replace(page, body=None)
            pages.append((source.url, page))
            if self.settings.strategy != BEST_MATCH:
                break
        flat_links = self._sources.flat
        flat, flat_digest = flat_links.links(name) if flat_links.locations else ((), "")
        if not pages and not flat:
            raise self._not_found(name)
        if len(pages) == 1 and self._sources.single:
            return _Found(digest=pages[0][1].digest, pages=tuple(pages), flat=flat)
        summary = [[without_auth(url), page.digest] for url, page in pages]
        digest = hashlib.sha256(json.dumps([summary, flat_digest]).encode()).hexdigest()
        return _Found(digest=digest, pages=tuple(pages), flat=flat)

    def _not_found(self, name: str) -> ProjectNotFound:
        if self._sources.single:
            where = f"the package index at {redacted(self.url)}"
        else:
            places = [redacted(x.url) for x in (*self.settings.indexes, *self.settings.find_links)]
            where = "any of the indexes and find-links locations (" + ", ".join(places) + ")"
        return ProjectNotFound(
            f"no such project on {where}: {name}",
            hint="check the spelling of the package name, or --index-url",
        )

    def _combine(self, name: str, keep: Callable[[str], bool] | None) -> tuple[FileLink, ...]:
        """The files of every page of *name* that *keep* keeps (a page read when it was
        fetched was read with :attr:`_keep_usable`), then those of find-links locations."""
        found = self._page(name)
        links: list[FileLink] = []
        for url, page in found.pages:
            parsed = self._parsed.get((url, name)) if keep is self._keep_usable else None
            links += parsed if parsed is not None else self._parse(name, page, url, keep)
        return (*links, *found.flat)

    def _parse(
        self,
        name: str,
        page: CachedPage,
        index_url: str,
        keep: Callable[[str], bool] | None,
    ) -> tuple[FileLink, ...]:
        index = without_auth(index_url)
        try:
            if page.content_type.split(";")[0].strip() in (JSON_TYPE, "application/json"):
                return parse_json_page(page.content(), page.url, keep, index)
            return parse_html_page(page.content(), page.url, keep, index)
        except OSError as e:
            raise IndexError_(
                f"the cached index page of {name!r} could not be read: {e}",
                hint="run the same command again; if it persists, remove " + str(self.cache_dir),
            ) from e
        except (ValueError, KeyError, TypeError) as e:
            raise IndexError_(
                f"the package index at {redacted(index_url)} sent an unreadable page for "
                f"{name!r}: {e}",
                hint=HINT,
            ) from e

    # -- metadata ------------------------------------------------------------------------------
    def metadata(self, link: FileLink) -> CoreMetadata:
        """The core metadata of *link* (a wheel): cache, then PEP 658, then HTTP Range reads
        (a file on disk is read directly)."""
        return self._once.get(
            self._metadata,
            (link.filename, link.sha256 or link.url),
            lambda: fetch_metadata(
                link,
                http=self._sources.http_of(link),
                cache=self._metadata_cache,
                offline=self.offline,
            ),
        )

    def prefetch_metadata(self, links: Iterable[FileLink], *, wait: bool = True) -> None:
        """Fetch metadata concurrently; failures are raised by :meth:`metadata` later."""
        self._once.spawn((functools.partial(self.metadata, link) for link in links), block=wait)
