"""One index's project pages: an http(s) index through the disk cache, or a file:// folder.

:class:`RemotePages` asks an http(s) index for ``URL/NAME/`` (PEP 691 JSON preferred, PEP 503
HTML accepted), keeps the page with its validators in the disk cache (:mod:`.cache`) and reuses
it while fresh; ``offline`` answers from the cache alone. A page is read up to the page limit
(``CUDAENV_MAX_PAGE_MIB``, :mod:`cudaenv.net.limits`), decoded; a longer one is an error, and
nothing of it is kept. A 404 or 410 is kept too, as a page that says "no such project", so that an
offline solve over several indexes still knows which index has a project; online, such an answer is
asked again unless the index said how long it stays fresh. :class:`LocalPages` reads a PEP 503
folder on disk (``file:///srv/simple``: ``NAME/index.html``), as pip reads a ``file://`` index; a
folder that does not exist has no projects (pip skips it the same way, with a warning). Both return
None for "no such project": the client decides what that means when several indexes are searched.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from cudaenv.errors import IndexError_
from cudaenv.index.cache import CachedPage, DiskCache, max_age
from cudaenv.net import failures
from cudaenv.net.http import redacted
from cudaenv.net.limits import BodyTooLarge

if TYPE_CHECKING:
    from cudaenv.net.http import Http, Response

__all__ = ["ACCEPT", "LocalPages", "RemotePages", "local_path"]

ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)


def local_path(url: str) -> Path:
    """The path of a ``file:`` URL."""
    rest = url.split(":", 1)[1]
    if rest.startswith("//"):
        rest = rest[2:]
        rest = rest[rest.index("/") :] if "/" in rest else "/"
    from urllib.request import url2pathname  # urllib.request imports http.client: only here

    return Path(url2pathname(rest))


class RemotePages:
    """Project pages of one http(s) index, through the disk cache."""

    def __init__(
        self,
        url: str,
        *,
        http: Http,
        cache_dir: Path | None,
        offline: bool,
        page_ttl: float,
        revalidate: bool,
    ):
        from cudaenv.net.auth import without_auth

        self.url = url
        self.http = http
        self.cache_dir = cache_dir
        self.offline = offline
        self.page_ttl = page_ttl
        self.revalidate = revalidate
        self.cache = DiskCache(cache_dir, without_auth(url))

    def load(self, name: str) -> CachedPage | None:
        """The page of *name*: cached and fresh, revalidated, or fetched; None when the index
        has no such project."""
        return self.fetch(name, f"{self.url}/{name}/", f"the project {name!r}")

    def fetch(self, key: str, url: str, what: str, accept: str = ACCEPT) -> CachedPage | None:
        """The page at *url*, kept under *key*; None for a 404 or 410."""
        cached = self.cache.page(key)
        if self.offline or self._fresh(cached):
            if cached is None:
                raise IndexError_(
                    f"the index page of {key!r} is not in the cache ({self.cache_dir}), "
                    "and --offline forbids fetching it",
                    hint="run the same command once without --offline to fill the cache",
                )
            return None if cached.missing else cached
        validators = cached.validators() if cached is not None and not cached.missing else {}
        resp = self._get(url, {"Accept": accept, **validators}, what)
        control = max_age(resp.headers.get("Cache-Control"))
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
                max_age=control,
            )
        elif resp.status_code in (404, 410):
            page = CachedPage(
                url=str(resp.url), content_type="", body=b"", fetched=time.time(),
                max_age=control, missing=True,
            )  # fmt: skip
        else:
            raise self.http.failure(resp, what=what)
        stored = self.cache.put_page(key, page)
        if stored is not None:  # the body can be read again from there (see Index._load)
            page = replace(page, source=stored)
        if page.missing:
            return None
        if resp.status_code == 200 and _same_page(cached, page):
            # An index without validators sends the same body again: it was read before, it
            # need not be read now (a page with ``body=None`` is one the caller has parsed).
            return replace(page, body=None, source=cached.source if cached else None)
        return page

    def _get(self, url: str, headers: dict[str, str], what: str) -> Response:
        """The answer for *url*, its body read up to the page limit."""
        limits = self.http.limits
        try:
            return self.http.get(url, headers, limit=limits.page, what=what)
        except BodyTooLarge:
            index = self.http.index_url
            raise failures.page_too_large(index, what, redacted(url), limits) from None

    def _fresh(self, cached: CachedPage | None) -> bool:
        if cached is None or self.revalidate:
            return False
        if cached.missing:  # "no such project" is reused only as long as the index said
            return cached.max_age is not None and cached.is_fresh(0.0)
        return cached.is_fresh(self.page_ttl)


class LocalPages:
    """Project pages of a PEP 503 folder on disk (a ``file://`` index)."""

    def __init__(self, url: str):
        self.url = url
        self.root = local_path(url)

    @property
    def exists(self) -> bool:
        return self.root.is_dir()

    def load(self, name: str) -> CachedPage | None:
        page = self.root / name / "index.html"
        try:
            body = page.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise IndexError_(
                f"the index page {page} could not be read: {e.strerror or e}",
                hint=f"check the permissions of {self.root}, or remove it from the settings "
                "that name it",
            ) from e
        return CachedPage(
            url=page.as_uri(),
            content_type="text/html",
            body=body,
            fetched=time.time(),
            digest=hashlib.sha256(body).hexdigest(),
        )


def _same_page(cached: CachedPage | None, page: CachedPage) -> bool:
    """The index sent again the body it sent before (an index without validators answers a
    revalidation with 200 and the whole page)."""
    return (
        cached is not None
        and cached.source is not None
        and not cached.missing
        and cached.digest == page.digest
        and (cached.url, cached.content_type) == (page.url, page.content_type)
    )
