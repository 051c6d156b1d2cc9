"""The index client's disk cache: project pages with their validators, and METADATA files.

Pages are stored per index URL with the headers needed to revalidate them (``ETag``,
``Last-Modified``) or to reuse them unasked (``Cache-Control: max-age``), and with their digest
on the first line, so that a caller who keyed what it computed by the digest reads that line and
not the page's megabytes. METADATA is stored forever under (filename, sha256), or (filename,
URL) when the index gave no hash: a file with that hash never changes, and index file URLs are
immutable. Writes are atomic (:func:`write_atomic`: temporary file + rename) so that concurrent
cudaenv runs never read half a file, no temporary file is left by a run that was stopped, and a
cache that cannot be written is not an error, only slower.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from cudaenv.errors import FilesystemError
from cudaenv.system import oserrors, tmpfiles

if TYPE_CHECKING:
    from cudaenv.index.links import FileLink

__all__ = [
    "CachedPage",
    "DiskCache",
    "check_cache_dir",
    "default_cache_dir",
    "max_age",
    "write_atomic",
]

_log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$CUDAENV_CACHE_DIR/index``, else the platform's user cache dir for cudaenv + ``index``."""
    root = os.environ.get("CUDAENV_CACHE_DIR")
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("cudaenv", appauthor=False)
    return Path(root) / "index"


def check_cache_dir(path: Path, *, given: bool) -> None:
    """A cache folder the user gave (``--cache-dir``: ``given``, or ``CUDAENV_CACHE_DIR``) must
    be a folder, or one that can be made; else FilesystemError. One that cannot be written to
    is still read: nothing new is kept. The platform's default folder is not checked."""
    flag = "--cache-dir DIR" if given else None
    if flag is None and os.environ.get("CUDAENV_CACHE_DIR"):
        flag = "CUDAENV_CACHE_DIR=DIR"
    if flag is None or path.is_dir():
        return
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        doing = "use the cache folder"
        raise oserrors.explain(e, path, doing=doing, flag=flag, cls=FilesystemError) from e


@dataclass(frozen=True, slots=True, kw_only=True)
class CachedPage:
    """A project page body and what is needed to decide whether to ask the index again.

    ``digest`` (the body's sha256) names the page for what callers compute from it. A page
    read from disk has ``body=None`` and its ``source`` file until :meth:`content` is called:
    a caller whose answers are warm reads the first line of each page file, never its megabytes.
    ``missing`` records an index's "no such project" (404/410), with an empty body.
    """

    url: str
    content_type: str
    fetched: float
    body: bytes | None = field(default=None, repr=False)
    etag: str | None = None
    last_modified: str | None = None
    max_age: float | None = None
    digest: str = ""
    source: Path | None = field(default=None, repr=False, compare=False)
    missing: bool = False  # the index answered 404/410: it has no such project

    def __post_init__(self) -> None:
        if self.body is None and self.source is None:
            raise TypeError("a CachedPage needs its body or the file that holds it")
        if not self.digest:
            object.__setattr__(self, "digest", hashlib.sha256(self.content()).hexdigest())

    def content(self) -> bytes:
        """The body; a page from disk reads it now (OSError if the file is gone). If another
        run replaced the file meanwhile, the digest follows the body that was read."""
        if self.body is not None:
            return self.body
        assert self.source is not None
        head, _, body = self.source.read_bytes().partition(b"\n")
        digest = json.loads(head).get("digest") or hashlib.sha256(body).hexdigest()
        object.__setattr__(self, "digest", digest)
        object.__setattr__(self, "body", body)
        return body

    def is_fresh(self, default_ttl: float, now: float | None = None) -> bool:
        """Reusable without asking: younger than the server's max-age, or than *default_ttl*
        when the server gave no freshness and no validators at all."""
        age = (time.time() if now is None else now) - self.fetched
        if self.max_age is not None:
            return age < self.max_age
        if self.etag is None and self.last_modified is None:
            return age < default_ttl
        return False

    def validators(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    def touched(self) -> CachedPage:
        return replace(self, fetched=time.time())


def max_age(cache_control: str | None) -> float | None:
    """Seconds from a ``Cache-Control`` header; 0 for no-cache/no-store; None when absent."""
    if not cache_control:
        return None
    if re.search(r"\bno-(cache|store)\b", cache_control):
        return 0.0
    match = re.search(r"\bmax-age=(\d+)", cache_control)
    return float(match.group(1)) if match else None


class DiskCache:
    """Files under ``root``; ``root=None`` keeps nothing on disk."""

    def __init__(self, root: Path | None, index_url: str):
        self.root = root
        key = hashlib.sha256(index_url.encode()).hexdigest()[:16]
        self._pages = root / "pages" / key if root else None
        self._meta = root / "metadata" if root else None

    def page(self, name: str) -> CachedPage | None:
        if self._pages is None:
            return None
        path = self._pages / f"{name}.page"
        try:
            with path.open("rb") as f:
                fields = json.loads(f.readline())
            return CachedPage(source=path, **fields)
        except (OSError, ValueError, TypeError):
            return None

    def put_page(self, name: str, page: CachedPage) -> Path | None:
        """Keep *page*; the file that holds it now, None when none does (no cache, or it
        could not be written)."""
        if self._pages is None:
            return None
        try:
            body = page.content()
        except (OSError, ValueError):
            return None  # the page's own cache file vanished: nothing to keep
        fields = {
            "url": page.url,
            "content_type": page.content_type,
            "fetched": page.fetched,
            "etag": page.etag,
            "last_modified": page.last_modified,
            "max_age": page.max_age,
            "digest": page.digest,
            "missing": page.missing,
        }
        path = self._pages / f"{name}.page"
        return path if write_atomic(path, json.dumps(fields).encode() + b"\n" + body) else None

    def _metadata_path(self, link: FileLink) -> Path | None:
        if self._meta is None:
            return None
        key = link.sha256 or "url-" + hashlib.sha256(link.url.encode()).hexdigest()
        return self._meta / f"{link.filename}.{key[:36]}.METADATA"

    def metadata(self, link: FileLink) -> bytes | None:
        path = self._metadata_path(link)
        try:
            return path.read_bytes() if path else None
        except OSError:
            return None

    def put_metadata(self, link: FileLink, data: bytes) -> None:
        path = self._metadata_path(link)
        if path is not None:
            write_atomic(path, data)


def write_atomic(path: Path, data: bytes) -> bool:
    """Write *data* to *path* by a rename, so that no reader sees half of it; a failure is
    logged, not raised (a cache that cannot be written is only slower): False. Also used for
    the files other layers keep beside this cache. The temporary file never outlives the call,
    nor the process (:mod:`cudaenv.system.tmpfiles`), whatever stops it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmpfiles.temporary(path.parent, ".tmp-") as (fd, tmp), os.fdopen(fd, "wb") as f:
            f.write(data)
            f.close()
            os.replace(tmp, path)
    except OSError as e:
        _log.debug("could not write the cache file %s: %s", path, e)
        return False
    return True
