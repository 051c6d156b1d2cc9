"""Find-links locations: wheels in a folder, or linked from an HTML page on disk or the web.

pip's and uv's ``--find-links`` names places that list files directly, not a simple index: a
folder of wheels (``/opt/wheels``), or an HTML page of ``<a href>`` links (a file, or a URL such
as a project's release page). Their files join the candidates of every project they name, next
to the index's (both tools do the same). A lock holds every file by URL and sha256, so a file on
disk is locked by its ``file://`` URL (as uv writes it) and the sha256 of its bytes, computed
once per file version (path, size, mtime) and kept in the cache. A location that does not exist
is skipped, as pip skips it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from typing import TYPE_CHECKING

from cudaenv.errors import IndexError_
from cudaenv.index.cache import write_atomic
from cudaenv.index.links import FileLink, _link, parse_html_page
from cudaenv.index.pages import local_path

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from cudaenv.index.pages import RemotePages
    from cudaenv.settings import Location

__all__ = ["FindLinks", "file_sha256"]

_log = logging.getLogger(__name__)
_DIST = re.compile(r".+\.(whl|tar\.gz|zip)$")


def file_sha256(path: Path, cache_dir: Path | None) -> str:
    """The sha256 of a file's bytes, kept under *cache_dir* by (path, size, mtime)."""
    st = path.stat()
    key = hashlib.sha256(f"{path}\0{st.st_size}\0{st.st_mtime_ns}".encode()).hexdigest()
    kept = cache_dir / "hashes" / key[:32] if cache_dir is not None else None
    try:
        text = kept.read_text() if kept is not None else ""
    except OSError:
        text = ""
    if re.fullmatch(r"[0-9a-f]{64}", text):
        return text
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    if kept is not None:
        write_atomic(kept, digest.hexdigest().encode())
    return digest.hexdigest()


class FindLinks:
    """The files of every find-links location, by project."""

    def __init__(
        self,
        locations: Sequence[Location],
        *,
        remote: Callable[[str], RemotePages],
        cache_dir: Path | None,
        keep: Callable[[str], bool] | None = None,
    ):
        self.locations = tuple(locations)
        self.skipped: list[str] = []  # locations that do not exist, for a note
        self._remote = remote
        self._cache_dir = cache_dir
        self._keep = keep
        self._pages: dict[str, tuple[FileLink, ...]] = {}
        self._lock = threading.Lock()  # pages are asked for from many threads: read each once

    def links(self, name: str) -> tuple[tuple[FileLink, ...], str]:
        """(the files of project *name*, the digest of that list: what a caller keys by)."""
        found: list[FileLink] = []
        for location in self.locations:
            found += [x for x in self._all(location) if x.name == name]
        summary = [[x.filename, x.url, x.sha256] for x in found]
        return tuple(found), hashlib.sha256(json.dumps(summary).encode()).hexdigest()

    def _all(self, location: Location) -> tuple[FileLink, ...]:
        with self._lock:
            if location.url not in self._pages:
                self._pages[location.url] = self._read(location)
            return self._pages[location.url]

    def _read(self, location: Location) -> tuple[FileLink, ...]:
        if not location.is_local:
            remote = self._remote(location.url)
            page = remote.fetch("find-links", location.url, "the find-links page", "text/html")
            return parse_html_page(page.content(), page.url, self._keep) if page else ()
        path = local_path(location.url)
        if path.is_dir():
            files = (self._file(p) for p in sorted(path.iterdir()) if self._wanted(p.name))
            return tuple(x for x in files if x is not None)
        if path.is_file():
            links = parse_html_page(path.read_bytes(), path.as_uri(), self._keep)
            return tuple(x for x in map(self._hashed, links) if x is not None)
        _log.warning("the find-links location %s does not exist: skipped", path)
        self.skipped.append(str(path))
        return ()

    def _wanted(self, filename: str) -> bool:
        return bool(_DIST.match(filename)) and (self._keep is None or self._keep(filename))

    def _file(self, path: Path) -> FileLink | None:
        try:
            sha256 = file_sha256(path, self._cache_dir)
            size = path.stat().st_size
        except OSError as e:
            raise IndexError_(
                f"the find-links file {path} could not be read: {e.strerror or e}",
                hint=f"check the permissions of {path.parent}",
            ) from e
        return _link(filename=path.name, url=path.as_uri(), sha256=sha256, size=size)

    def _hashed(self, link: FileLink) -> FileLink | None:
        """A link of a page on disk; a file on disk without a hash in the page gets its own."""
        if link.sha256 or not link.url.startswith("file:"):
            return link
        return self._file(local_path(link.url))
