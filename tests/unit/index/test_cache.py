"""The disk cache: page freshness, atomic writes that never expose half a file."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time

from cudaenv.index.cache import CachedPage, DiskCache, max_age
from cudaenv.index.links import FileLink


def test_cache_control_and_freshness():
    assert max_age("max-age=600, public") == 600 and max_age("no-cache") == 0
    assert max_age(None) is None and max_age("public") is None
    now = time.time()
    page = CachedPage(url="u", content_type="t", body=b"", fetched=now - 100)
    assert page.is_fresh(600) and not page.is_fresh(50)
    assert not CachedPage(url="u", content_type="t", body=b"", fetched=now, etag='"x"').is_fresh(
        600
    )
    assert CachedPage(url="u", content_type="t", body=b"", fetched=now, max_age=60).is_fresh(0)


def test_cache_write_that_fails_leaves_no_temporary_file(tmp_path):
    cache = DiskCache(tmp_path, "https://idx.example/simple")
    link = FileLink(filename="a-1-py3-none-any.whl", url="u", sha256="ab" * 32)
    cache.put_metadata(link, b"Name: a\n")
    (written,) = (tmp_path / "metadata").iterdir()
    written.unlink()
    written.mkdir()  # os.replace onto a directory fails: the cache is only slower
    cache.put_metadata(link, b"Name: a\n")
    assert [p.name for p in (tmp_path / "metadata").iterdir()] == [written.name]
    assert cache.metadata(link) is None


_WRITER = """
import sys
from pathlib import Path
from cudaenv.index.cache import CachedPage, DiskCache
cache = DiskCache(Path(sys.argv[1]), "https://idx.example/simple")
body = sys.argv[2].encode() * 200_000
for _ in range(30):
    cache.put_page("alpha", CachedPage(url="u", content_type="t", body=body, fetched=0))
"""


def test_two_processes_writing_one_cache_entry_never_expose_half_a_file(tmp_path):
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), letter]) for letter in "ab"
    ]
    cache = DiskCache(tmp_path, "https://idx.example/simple")
    seen = set()
    while any(w.poll() is None for w in writers):
        page = cache.page("alpha")
        if page is not None:
            body = page.content()  # read after the header: maybe another writer's file
            whole = body[:1] * len(body) == body and len(body) == 200_000
            seen.add(whole and page.digest == hashlib.sha256(body).hexdigest())
    assert [w.wait() for w in writers] == [0, 0]
    assert seen <= {True} and cache.page("alpha").content() in (b"a" * 200_000, b"b" * 200_000)
    assert [p.name for p in (tmp_path / "pages").rglob(".tmp-*")] == []
