"""Fixtures of the index tests: clients of the real local index (tests/tools/index_server.py)."""

from __future__ import annotations

import pytest

from cudaenv.index import Index


@pytest.fixture
def index_factory(local_index, tmp_path):
    """``index_factory(**kwargs)``: an Index of ``local_index`` (cache in tmp_path, no backoff)."""
    made = []

    def make(**kwargs):
        kwargs.setdefault("cache_dir", tmp_path / "cache")
        kwargs.setdefault("backoff", 0)
        index = Index(local_index.url, **kwargs)
        made.append(index)
        return index

    yield make
    for index in made:
        index.close()
