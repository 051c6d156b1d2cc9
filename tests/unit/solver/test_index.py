"""Index client: page parsing, disk cache and revalidation, offline, retries and errors.

Pages come from the real IndexServer on 127.0.0.1 (tests/tools/index_server.py)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time

import pytest
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.version import Version

from cudaenv.errors import IndexError_
from cudaenv.solver.cache import CachedPage, DiskCache, max_age
from cudaenv.solver.index import Index, ProjectNotFound
from cudaenv.solver.links import FileLink, parse_html_page, parse_json_page, runs_on

PYPI_JSON = {
    "meta": {"api-version": "1.1", "_last-serial": 1},
    "name": "demo",
    "files": [
        {
            "filename": "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "hashes": {"sha256": "ab" * 32},
            "requires-python": ">=3.9",
            "size": 2121,
            "upload-time": "2024-03-08T23:56:06.384753Z",
            "url": "https://files.example/packages/81/demo-1.0-cp311-cp311-manylinux_2_17_x86_64"
            ".manylinux2014_x86_64.whl",
            "yanked": False,
        },
        {
            "filename": "demo-0.9.tar.gz",
            "hashes": {},
            "requires-python": ">=3.6.*",  # invalid, as on some old uploads
            "url": "../../files/demo-0.9.tar.gz",
            "yanked": "broken build",
            "core-metadata": {"sha256": "cd" * 32},
        },
        {"filename": "demo-bad.whl", "hashes": {}, "url": "x", "yanked": True},
    ],
}


def test_parse_json_page():
    wheel, sdist = parse_json_page(json.dumps(PYPI_JSON), "https://idx.example/simple/demo/")
    assert wheel.name == "demo" and wheel.version == Version("1.0") and wheel.is_wheel
    assert Tag("cp311", "cp311", "manylinux2014_x86_64") in wheel.tags
    assert wheel.requires_python == SpecifierSet(">=3.9") and wheel.yanked is None
    assert wheel.size == 2121 and wheel.upload_time.year == 2024
    assert wheel.core_metadata is False and wheel.sha256 == "ab" * 32
    assert sdist.url == "https://idx.example/files/demo-0.9.tar.gz"
    assert not sdist.is_wheel and sdist.version == Version("0.9") and sdist.tags == frozenset()
    assert sdist.requires_python is None and sdist.yanked == "broken build"
    assert sdist.metadata_sha256 == "cd" * 32 and sdist.sha256 is None


def test_parse_html_page():
    body = f"""<!DOCTYPE html><html><body>
    <a href="../../files/demo-1.0-py3-none-any.whl#sha256={"AB" * 32}"
       data-requires-python="&gt;=3.8,&lt;4" data-core-metadata="sha256={"cd" * 32}">x</a>
    <a href="https://other/demo-0.5-py3-none-any.whl" data-yanked
       data-dist-info-metadata="true">y</a>
    <a href="/files/README.txt">readme</a>
    </body></html>"""
    a, b, c = parse_html_page(body, "http://h/simple/demo/")
    assert a.url == "http://h/files/demo-1.0-py3-none-any.whl" and a.sha256 == "ab" * 32
    assert a.requires_python == SpecifierSet(">=3.8,<4") and a.yanked is None
    assert a.core_metadata == {"sha256": "cd" * 32}
    assert b.yanked == "" and b.core_metadata is True and b.sha256 is None
    assert c.name is None and not c.is_wheel


def test_filelink_is_hashable_value():
    a = FileLink(filename="x-1-py3-none-any.whl", url="u", core_metadata={"sha256": "0"})
    b = FileLink(filename="x-1-py3-none-any.whl", url="u", core_metadata={"sha256": "0"})
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1


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


@pytest.fixture
def index_factory(local_index, tmp_path):
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


def test_project_json_and_html_fallback(make_wheel, local_index, index_factory):
    make_wheel("Alpha_Pkg", "1.0", requires_python=">=3.8")
    make_wheel("alpha-pkg", "2.0")
    local_index.yank("alpha_pkg-1.0-py3-none-any.whl", "bad")
    links = index_factory().project("ALPHA.pkg")
    assert [str(link.version) for link in links] == ["1.0", "2.0"]
    assert links[0].yanked == "bad" and links[0].requires_python == SpecifierSet(">=3.8")
    assert links[0].url == local_index.file_url("alpha_pkg-1.0-py3-none-any.whl")
    assert links[0].core_metadata and local_index.requests[-1].accept.startswith(
        "application/vnd.pypi.simple.v1+json"
    )
    local_index.json = False
    html_links = index_factory(cache_dir=None).project("alpha-pkg")
    assert [(x.filename, x.sha256, x.yanked) for x in html_links] == [
        (x.filename, x.sha256, x.yanked) for x in links
    ]


def test_memory_cache_and_etag_revalidation(make_wheel, local_index, index_factory):
    make_wheel("alpha", "1.0")
    first = index_factory()
    first.project("alpha")
    first.project("alpha")
    assert first.requests == 1
    second = index_factory()
    assert second.project("alpha") == first.project("alpha")
    assert [r.status for r in local_index.requests] == [200, 304]
    make_wheel("alpha", "2.0")  # the page changes: the ETag no longer matches
    third = index_factory()
    assert len(third.project("alpha")) == 2 and local_index.requests[-1].status == 200


def test_max_age_page_is_reused_without_a_request(make_wheel, local_index, index_factory):
    make_wheel("alpha", "1.0")
    local_index.page_cache_control = "max-age=600"
    index_factory().project("alpha")
    again = index_factory()
    again.project("alpha")
    assert again.requests == 0 and local_index.count("/simple/") == 1
    make_wheel("alpha", "2.0")  # within max-age only --refresh (revalidate) sees the upload
    assert len(index_factory().project("alpha")) == 1
    refreshed = index_factory(revalidate=True)
    assert len(refreshed.project("alpha")) == 2 and refreshed.requests == 1


def test_offline_hits_and_misses(make_wheel, local_index, index_factory, tmp_path):
    make_wheel("alpha", "1.0")
    index_factory().project("alpha")
    local_index.clear_log()
    offline = index_factory(offline=True)
    assert offline.project("alpha")[0].filename == "alpha-1.0-py3-none-any.whl"
    with pytest.raises(IndexError_) as e:
        offline.project("beta")
    assert "'beta' is not in the cache" in e.value.message and "without --offline" in e.value.hint
    assert offline.requests == 0 and local_index.requests == []


def test_prefetch_is_concurrent_and_keeps_errors(make_wheel, local_index, index_factory):
    for i in range(6):
        make_wheel(f"p{i}", "1.0")
    index = index_factory(max_concurrency=4)
    index.prefetch([f"p{i}" for i in range(6)] + ["missing"])
    assert index.requests == 7
    assert index.project("p5")[0].name == "p5"
    with pytest.raises(ProjectNotFound, match="no such project on the package index"):
        index.project("missing")
    assert index.requests == 7


def test_retries_then_success(make_wheel, local_index, index_factory):
    make_wheel("alpha", "1.0")
    local_index.fail(1, status=503)
    local_index.fail(1, drop=True)
    index = index_factory()
    assert index.project("alpha")[0].version == Version("1.0")
    assert index.requests == 3


def test_retries_exhausted_gives_one_clear_error(make_wheel, local_index, index_factory):
    make_wheel("alpha", "1.0")
    local_index.fail(5, status=500)
    index = index_factory(retries=3)
    with pytest.raises(IndexError_) as e:
        index.project("alpha")
    assert e.value.message.startswith(f"could not reach the package index at {local_index.url}")
    assert "HTTP 500" in e.value.message and "3 tries" in e.value.message
    assert "--index-url" in e.value.hint and index.requests == 3


def test_unreachable_index(tmp_path):
    import socket

    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Index(f"http://127.0.0.1:{port}/simple", cache_dir=tmp_path, backoff=0) as index:
        with pytest.raises(IndexError_, match="could not reach the package index") as e:
            index.project("anything")
    assert "ConnectError" in e.value.message


def test_messages_never_show_the_password_in_the_index_url(local_index, tmp_path):
    secret_url = local_index.url.replace("://", "://user:s3cret@")
    with Index(secret_url, cache_dir=tmp_path, backoff=0) as index:
        with pytest.raises(ProjectNotFound) as missing:
            index.project("nothing-here")
        local_index.fail(3, status=503)
        with pytest.raises(IndexError_) as failing:
            index.project("other")
    for error in (missing.value, failing.value):
        assert "s3cret" not in error.message and "user:" not in error.message
        assert "://***@127.0.0.1" in error.message
    with pytest.raises(IndexError_) as bad:
        Index("ftp://user:s3cret@host/simple", cache_dir=tmp_path)
    assert "s3cret" not in bad.value.message and "ftp://***@host/simple" in bad.value.message


def test_bad_url_and_env_default(monkeypatch, tmp_path):
    with pytest.raises(IndexError_, match="not an http"):
        Index("ftp://example/simple", cache_dir=tmp_path)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")
    with Index(cache_dir=tmp_path) as index:
        assert index.url == "http://127.0.0.1:9/simple"
    monkeypatch.delenv("PIP_INDEX_URL")
    with Index(cache_dir=tmp_path) as index:
        assert index.url == "https://pypi.org/simple"


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b'{"files": 5}',
        b'{"files": [{"filename": 3, "url": "x"}]}',
        b'{"files": [{"filename": "alpha-1.0.tar.gz", "url": null}]}',
    ],
    ids=["not-json", "a-list", "files-not-a-list", "filename-not-text", "no-url"],
)
def test_unreadable_page_is_a_clear_error(local_index, index_factory, body):
    index = index_factory()
    index._cache.put_page(
        "alpha",
        CachedPage(
            url="u", content_type="application/vnd.pypi.simple.v1+json", body=body, fetched=0
        ),
    )
    offline = index_factory(offline=True)
    with pytest.raises(IndexError_, match="unreadable page for 'alpha'"):
        offline.project("alpha")


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
from cudaenv.solver.cache import CachedPage, DiskCache
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


def test_json_hashes_of_the_wrong_shape_are_no_hash():
    page = {"files": [{"filename": "a-1.tar.gz", "url": "a-1.tar.gz", "hashes": ["sha256"]}]}
    (link,) = parse_json_page(json.dumps(page), "https://idx.example/simple/a/")
    assert link.sha256 is None and link.version == Version("1")


def test_html_filename_is_unquoted_as_pip_does():
    href = f"/whl/torch-2.0.0%2Bcu118-cp311-cp311-linux_x86_64.whl?x=1#sha256={'ab' * 32}"
    (link,) = parse_html_page(f'<a href="{href}">t</a>', "https://idx.example/simple/torch/")
    assert link.filename == "torch-2.0.0+cu118-cp311-cp311-linux_x86_64.whl"
    assert link.version == Version("2.0.0+cu118") and link.sha256 == "ab" * 32
    assert (
        link.url == "https://idx.example/whl/torch-2.0.0%2Bcu118-cp311-cp311-linux_x86_64.whl?x=1"
    )


@pytest.mark.parametrize(
    ("filename", "kept"),
    [
        ("a-1-py3-none-any.whl", True),
        ("a-1.tar.gz", True),
        ("a-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", True),
        ("a-1-cp311-cp311-linux_x86_64.whl", True),
        ("a-1-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", False),
        ("a-1-cp311-cp311-musllinux_1_1_x86_64.whl", False),
        ("a-1-cp311-cp311-win_amd64.whl", False),
        ("a-1-cp311-cp311-macosx_10_9_universal2.whl", False),
        ("a-1-cp311-cp311-manylinux1_i686.whl", False),
    ],
)
def test_runs_on_filter(filename, kept):
    assert runs_on("manylinux_2_28_x86_64")(filename) is kept
    assert runs_on("manylinux2014_x86_64")(filename) is kept


def test_platform_drops_other_systems(make_wheel, index_factory):
    make_wheel("alpha", "1.0", tag="cp311-cp311-win_amd64")
    make_wheel("alpha", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64")
    make_wheel("alpha", "1.0", tag="py3-none-any")
    every = index_factory().project("alpha")
    linux = index_factory(platform="manylinux_2_28_x86_64").project("alpha")
    assert len(every) == 3
    assert [x.filename for x in linux] == [x.filename for x in every if "win" not in x.filename]


def test_invalid_project_name_is_refused_without_a_request(index_factory):
    index = index_factory()
    with pytest.raises(IndexError_, match="not a valid project name"):
        index.project("../etc")
    assert index.requests == 0
