"""The index client's disk cache: project pages with their validators, and METADATA files.

Pages are stored per index URL with the headers needed to revalidate them (``ETag``,
``Last-Modified``) or to reuse them unasked (``Cache-Control: max-age``). METADATA is stored
forever under (filename, sha256), or (filename, URL) when the index gave no hash: a file with
that hash never changes, and index file URLs are immutable. Writes are atomic
(temporary file + rename) so that concurrent cudaenv runs never read half a file, and a cache
that cannot be written is not an error, only slower.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cudaenv.solver.links import FileLink

__all__ = ["CachedPage", "DiskCache", "default_cache_dir"]

_log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$CUDAENV_CACHE_DIR/index``, else the platform's user cache dir for cudaenv + ``index``."""
    root = os.environ.get("CUDAENV_CACHE_DIR")
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("cudaenv", appauthor=False)
    return Path(root) / "index"


@dataclass(frozen=True, slots=True, kw_only=True)
class CachedPage:
    """A project page body and what is needed to decide whether to ask the index again."""

    url: str
    content_type: str
    body: bytes
    fetched: float
    etag: str | None = None
    last_modified: str | None = None
    max_age: float | None = None

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
        try:
            raw = (self._pages / f"{name}.page").read_bytes()
            head, _, body = raw.partition(b"\n")
            fields = json.loads(head)
            return CachedPage(body=body, **fields)
        except (OSError, ValueError, TypeError):
            return None

    def put_page(self, name: str, page: CachedPage) -> None:
        if self._pages is None:
            return
        fields = {
            "url": page.url,
            "content_type": page.content_type,
            "fetched": page.fetched,
            "etag": page.etag,
            "last_modified": page.last_modified,
            "max_age": page.max_age,
        }
        self._write(self._pages / f"{name}.page", json.dumps(fields).encode() + b"\n" + page.body)

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
            self._write(path, data)

    def _write(self, path: Path, data: bytes) -> None:
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError as e:
            _log.debug("could not write the index cache file %s: %s", path, e)
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
