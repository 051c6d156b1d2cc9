"""A client made for a target: pages cut to its wheels, every file still listed on demand, and
hinted pages fetched ahead without counting as read.

Pages come from the real IndexServer on 127.0.0.1 (tests/tools/index_server.py)."""

from __future__ import annotations

import pytest
from packaging.version import Version

from cudaenv.index import ProjectNotFound
from cudaenv.request import Target
from tests.tools.make_wheel import make_sdist

TARGET = Target(python=Version("3.11"), platform="manylinux_2_28_x86_64")
TAGS = (
    "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
    "cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64",
    "cp311-cp311-win_amd64",
    "cp311-cp311-manylinux_2_28_aarch64",
    "py3-none-any",
)


def for_target(index_factory, **kwargs):
    tags = TARGET.supported_tags()
    return index_factory(platform=TARGET.platform, tags=tags, **kwargs)


@pytest.mark.parametrize("json_pages", [True, False])
def test_usable_files_are_the_target_wheels_and_project_lists_every_file(
    make_wheel, local_index, index_factory, json_pages
) -> None:
    local_index.json = json_pages
    for version in ("1.0", "2.0"):
        for tag in TAGS:
            make_wheel("alpha", version, tag=tag)
    index = for_target(index_factory, sdists=False)
    usable = index.usable("alpha")
    assert sorted(x.filename.split("-", 2)[2] for x in usable) == sorted(
        f"{t}.whl"
        for t in TAGS
        if t.startswith(("cp311-cp311-manylinux_2_17", "py3"))
        for _ in "12"
    )
    # project() reads the page again (from the cache file) for every file of the platform
    every = index.project("alpha")
    plain = index_factory(platform=TARGET.platform, cache_dir=None).project("alpha")
    assert [x.filename for x in every] == [x.filename for x in plain]
    assert len(every) == 6 and set(usable) < set(every)  # win and aarch64: cut
    assert index.requests == 1  # one page request for all of it


def test_a_client_for_a_target_keeps_sdists_when_asked(make_wheel, wheel_dir, index_factory):
    make_wheel("alpha", "1.0", tag="cp39-cp39-manylinux_2_17_x86_64")
    make_sdist(wheel_dir, "alpha", "1.0")
    with_sdists = [x.filename for x in for_target(index_factory).usable("alpha")]
    assert with_sdists == ["alpha-1.0.tar.gz"]
    assert for_target(index_factory, sdists=False).usable("alpha") == ()


def test_hinted_pages_are_fetched_ahead_but_not_read(make_wheel, local_index, index_factory):
    for name in ("alpha", "beta", "gamma"):
        make_wheel(name, "1.0")
    index = index_factory()
    index.hint(["alpha", "Beta", "no-such-project", "../bad name"])
    index._once.drain()  # close() alone would cancel the hints still queued
    index.close()
    assert sorted(r.path for r in local_index.requests) == [
        "/simple/alpha/",
        "/simple/beta/",
        "/simple/no-such-project/",
    ]
    index = index_factory()
    index.hint(["alpha", "beta", "no-such-project"])
    index._once.drain()  # wait for the hints, keep the client
    asked = len(local_index.requests)
    assert index.project("alpha")[0].name == "alpha"
    assert index.pages_read() == {"alpha": index.page_digest("alpha")}  # beta: only hinted
    assert len(local_index.requests) == asked  # alpha came from the hint, in memory
    # a hinted name that failed is not kept as a failure: asked for, it is tried again
    with pytest.raises(ProjectNotFound):
        index.project("no-such-project")
    assert len(local_index.requests) == asked + 1
    assert index.pages_read() is None  # a read failed: the reads describe no answer
