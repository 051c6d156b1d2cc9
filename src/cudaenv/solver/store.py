"""The solver's own files beside the index cache: values derived from pages, and solves.

A warm solve should not re-read pages that list thousands of files: what the solver computed
from a page for one target (the best file of each release, :mod:`.releases`) is kept under the
page's digest, which the index tells (:meth:`~cudaenv.index.Index.page_digest`), so a changed
page never answers from a stale derivation. Finished solves are kept under their key
(:mod:`.memo`). The files live under the index's cache directory, per index configuration
(``derived/<url key>/<kind>/<project>.json``, ``solves/<url key>/<solve key>.json``); the index
knows nothing of them. Damaged or unreadable files read as absent, and a file that cannot be
written only makes the next solve slower.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from cudaenv.index import write_atomic

if TYPE_CHECKING:
    from pathlib import Path

    from cudaenv.index import Index

__all__ = ["Store"]


class Store:
    """Derived values and remembered solves for one index (its URL and cache directory)."""

    def __init__(self, index: Index):
        self.index = index
        url_key = hashlib.sha256(index.identity.encode()).hexdigest()[:16]
        self._derived = index.cache_dir / "derived" / url_key
        self._solves = index.cache_dir / "solves" / url_key

    def derived(self, name: str, kind: str) -> object | None:
        """What :meth:`put_derived` kept for *name*'s current page under *kind*, else None.
        Cost: the page's digest (on a warm cache, the first line of its file)."""
        digest = self.index.page_digest(name)  # first: it refuses a name that is no project's
        stored = _read_json(self._derived / kind / f"{canonicalize_name(name)}.json")
        if not isinstance(stored, dict) or stored.get("page") != digest:
            return None
        return stored.get("value")

    def keeps(self, name: str) -> bool:
        """Whether a value computed from *name*'s page is worth keeping: not when this run
        fetched the page (a cold solve would write a file per project for a later solve that
        may never miss its memo; one that reads the page from the cache keeps it then)."""
        return not self.index.fetched(name)

    def put_derived(self, name: str, kind: str, value: object) -> None:
        """Keep a JSON *value* computed from *name*'s current page; *kind* must name every
        input other than the page (a changed page makes the value unreachable)."""
        digest = self.index.page_digest(name)
        data = json.dumps({"page": digest, "value": value}, separators=(",", ":"))
        write_atomic(self._derived / kind / f"{canonicalize_name(name)}.json", data.encode())

    def remembered(self, key: str) -> object | None:
        """The JSON value kept under *key* by :meth:`remember`, else None."""
        return _read_json(self._solves / f"{key}.json")

    def remember(self, key: str, value: object) -> None:
        write_atomic(self._solves / f"{key}.json", json.dumps(value).encode())


def _read_json(path: Path) -> object | None:
    try:
        value: object = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return value
