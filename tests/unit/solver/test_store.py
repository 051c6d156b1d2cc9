"""The solver's store beside the index cache: derived values live and die with their page, solves
are kept by key, and the files sit where earlier cudaenv versions put them. Against the real
local index on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import pytest

from cudaenv.errors import IndexError_
from cudaenv.index import Index
from cudaenv.solver.store import Store

if TYPE_CHECKING:
    from pathlib import Path

    from tests.tools.index_server import IndexServer


def test_a_derived_value_is_read_back_only_for_the_same_page(
    make_wheel, local_index: IndexServer, tmp_path: Path
) -> None:
    make_wheel("alpha", "1.0")
    with Index(local_index.url, cache_dir=tmp_path) as index:
        store = Store(index)
        assert store.derived("Alpha", "kind-a") is None
        store.put_derived("Alpha", "kind-a", ["1.0"])
        assert store.derived("alpha", "kind-a") == ["1.0"]
        assert store.derived("alpha", "kind-b") is None  # another computation, another value
    url_key = hashlib.sha256(local_index.url.encode()).hexdigest()[:16]
    kept = json.loads((tmp_path / "derived" / url_key / "kind-a" / "alpha.json").read_text())
    with Index(local_index.url, cache_dir=tmp_path) as index:
        assert kept == {"page": index.page_digest("alpha"), "value": ["1.0"]}
    make_wheel("alpha", "2.0")  # a new upload: a new page, so the old value is unreachable
    with Index(local_index.url, cache_dir=tmp_path) as index:
        assert Store(index).derived("alpha", "kind-a") is None


def test_a_solve_is_remembered_by_key_beside_the_index_cache(
    local_index: IndexServer, tmp_path: Path
) -> None:
    with Index(local_index.url, cache_dir=tmp_path, offline=True) as index:
        store = Store(index)
        assert store.remembered("k1") is None
        store.remember("k1", {"pages": {"alpha": "0" * 64}})
        assert store.remembered("k1") == {"pages": {"alpha": "0" * 64}}
        assert index.requests == 0  # remembering needs no page
    url_key = hashlib.sha256(local_index.url.encode()).hexdigest()[:16]
    path = tmp_path / "solves" / url_key / "k1.json"
    path.write_text("{ damaged")
    with Index(local_index.url, cache_dir=tmp_path, offline=True) as index:
        assert Store(index).remembered("k1") is None


def test_a_name_that_is_no_project_is_refused_before_any_file_is_touched(
    local_index: IndexServer, tmp_path: Path
) -> None:
    with Index(local_index.url, cache_dir=tmp_path) as index:
        with pytest.raises(IndexError_, match="not a valid project name"):
            Store(index).put_derived("../../escape", "kind", 1)
    assert list(tmp_path.rglob("*.json")) == []
