"""Index client: pages, disk cache and revalidation, offline, retries and errors.

Pages come from the real IndexServer on 127.0.0.1 (tests/tools/index_server.py)."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet

from cudaenv.errors import IndexError_
from cudaenv.index import Index, ProjectNotFound
from cudaenv.index.cache import CachedPage, DiskCache


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
def test_unreadable_page_is_a_clear_error(local_index, index_factory, tmp_path, body):
    DiskCache(tmp_path / "cache", local_index.url).put_page(
        "alpha",
        CachedPage(
            url="u", content_type="application/vnd.pypi.simple.v1+json", body=body, fetched=0
        ),
    )
    offline = index_factory(offline=True)
    with pytest.raises(IndexError_, match="unreadable page for 'alpha'"):
        offline.project("alpha")


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
