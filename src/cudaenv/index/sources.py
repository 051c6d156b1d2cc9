"""The places one index client reads, made from the settings: indexes, find-links, HTTP layers.

:class:`Sources` turns :class:`~cudaenv.settings.IndexSettings` into the objects that
read pages: :class:`~.pages.RemotePages` for an http(s) index, :class:`~.pages.LocalPages` for a
``file://`` folder, :class:`~.findlinks.FindLinks` for the find-links locations; and one
:class:`~cudaenv.net.http.Http` per index or files host (so that messages name it), all sharing one
:class:`~cudaenv.net.auth.Credentials`. The order of :attr:`Sources.indexes` is the search order:
uv's (extras, then the default) for ``first-index``, the default first for ``unsafe-best-match``, so
that an identical file on several indexes is taken from the default one.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING

from cudaenv.errors import IndexError_
from cudaenv.index.findlinks import FindLinks
from cudaenv.index.pages import LocalPages, RemotePages
from cudaenv.net.auth import Credentials, realm, without_auth
from cudaenv.net.http import Http, redacted
from cudaenv.settings import BEST_MATCH

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from cudaenv.index.links import FileLink
    from cudaenv.net.http import Transport
    from cudaenv.settings import IndexSettings, Location

__all__ = ["HttpOptions", "Sources"]

_log = logging.getLogger(__name__)


class HttpOptions:
    """How every HTTP layer of one client sends (see :class:`~cudaenv.net.http.Http`)."""

    def __init__(
        self,
        *,
        transport: Transport | None,
        connections: int,
        timeout: float | None,
        retries: int,
        backoff: float,
        max_retry_after: float,
    ) -> None:
        self.transport, self.connections, self.timeout = transport, connections, timeout
        self.retries, self.backoff, self.max_retry_after = retries, backoff, max_retry_after

    def http(self, url: str, credentials: Credentials) -> Http:
        return Http(
            url,
            transport=self.transport,
            connections=self.connections,
            timeout=self.timeout,
            retries=self.retries,
            backoff=self.backoff,
            max_retry_after=self.max_retry_after,
            credentials=credentials,
        )


class Sources:
    """The indexes (search order) and find-links locations of one client."""

    def __init__(
        self,
        settings: IndexSettings,
        *,
        cache_dir: Path,
        offline: bool,
        page_ttl: float,
        revalidate: bool,
        keep: Callable[[str], bool] | None,
        http: HttpOptions,
    ) -> None:
        for location in (*settings.indexes, *settings.find_links):
            _check_url(location)
        self.settings = settings
        self._options = http
        self._page_options = (cache_dir, offline, page_ttl, revalidate)
        every = [x.url for x in (*settings.indexes, *settings.find_links)]
        self.credentials = Credentials(every)
        self._https: dict[str, Http] = {}
        self._remotes: dict[str, RemotePages] = {}
        self._lock = threading.RLock()  # files hosts are met from many threads: one Http each
        self.indexes = [self._index(x) for x in self.search_order()]
        self.flat = FindLinks(
            settings.find_links, remote=self.remote, cache_dir=cache_dir, keep=keep
        )
        for location in settings.indexes:
            if location.is_local and not LocalPages(location.url).exists:
                _log.warning(
                    "the index %s (named by %s) does not exist: skipped",
                    location.url,
                    location.origin,
                )

    def search_order(self) -> tuple[Location, ...]:
        s = self.settings
        return (s.default, *s.extras) if s.strategy == BEST_MATCH else s.indexes

    @property
    def single(self) -> bool:
        """One index and no find-links: its pages are the answers, digests and all."""
        return len(self.indexes) == 1 and not self.flat.locations

    @property
    def identity(self) -> str:
        """The name of everything that decides the answers (the indexes, their order and
        strategy, the find-links locations): what solver caches are kept under."""
        s = self.settings
        if not s.extras and not s.find_links:
            return s.default.url.rstrip("/")
        parts = [s.strategy, [without_auth(x.url) for x in self.search_order()]]
        parts.append([without_auth(x.url) for x in s.find_links])
        return json.dumps(parts)

    def https(self) -> list[Http]:
        with self._lock:
            return list(self._https.values())

    def _index(self, location: Location) -> RemotePages | LocalPages:
        return LocalPages(location.url) if location.is_local else self.remote(location.url)

    def remote(self, url: str) -> RemotePages:
        """The pages of an http(s) index or find-links page, through the disk cache."""
        key = url.rstrip("/")
        with self._lock:
            if key not in self._remotes:
                cache_dir, offline, page_ttl, revalidate = self._page_options
                self._remotes[key] = RemotePages(
                    key,
                    http=self.http_for(key),
                    cache_dir=cache_dir,
                    offline=offline,
                    page_ttl=page_ttl,
                    revalidate=revalidate,
                )
            return self._remotes[key]

    def http_for(self, url: str) -> Http:
        """The HTTP layer that names *url* (an index, or a host) in its messages."""
        key = without_auth(url)
        with self._lock:
            if key not in self._https:
                self._https[key] = self._options.http(url, self.credentials)
            return self._https[key]

    def http_of(self, link: FileLink) -> Http | None:
        """The HTTP layer for a file: its index's, else its host's; None for a file on disk."""
        if link.url.startswith("file:"):
            return None
        if link.index is not None and link.index in self._https:
            return self._https[link.index]
        scheme, host, port = realm(link.url)
        return self.http_for(f"{scheme}://{host}:{port}")


def _check_url(location: Location) -> None:
    if not location.url.startswith(("http://", "https://", "file:")):
        raise IndexError_(
            f"the index URL {redacted(location.url)!r} (from {location.origin}) is not an "
            "http://, https:// or file:// URL",
            hint="pass --index-url https://host/simple",
        )
