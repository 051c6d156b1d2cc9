"""The package index client: project pages, wheel METADATA, and their disk cache.

    with Index(url, cache_dir=..., offline=...) as index:
        links = index.project("tensorflow")  # FileLink values, in the index's order
        meta = index.metadata(links[0])  # CoreMetadata: Requires-Dist, Requires-Python

One stage of the flow, below the solver and the lock check that use it: it knows indexes, pages
and files, never solves. :mod:`cudaenv.net.http` is the one HTTP layer (one retry path; its client,
:mod:`cudaenv.net.transport`, is imported on the first request); :mod:`.links` reads pages into
:class:`FileLink` values;
:mod:`.client` is :class:`Index` (pages, prefetch, the thread pool of :mod:`.once`);
:mod:`.metadata` and :mod:`.lazy_wheel` read METADATA (cache, PEP 658, HTTP Range);
:mod:`.cache` keeps pages and METADATA on disk. Callers key what they compute from a page by
:meth:`Index.page_digest` and keep it themselves, beside :attr:`Index.cache_dir`.
"""

from __future__ import annotations

from cudaenv.index.cache import write_atomic
from cudaenv.index.client import DEFAULT_INDEX_URL, Index, IndexActivity, ProjectNotFound
from cudaenv.index.links import FileLink
from cudaenv.index.metadata import CoreMetadata

__all__ = [
    "DEFAULT_INDEX_URL",
    "CoreMetadata",
    "FileLink",
    "Index",
    "IndexActivity",
    "ProjectNotFound",
    "write_atomic",
]
