"""Pages read for a target keep exactly the files a solve for it can pick.

The index client cuts a page to the target's wheel tags (``for_target``) before it makes links;
the factory then picks the best file of each release (``_file_rank``, ``best_files``). These
tests build pages of every kind of file name and check, for several targets, that the cut page
gives the same releases, file for file, as the whole page (only cut to the platform) gave.
"""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version
from tests.functional.solve_index import solve_server

from cudaenv.index import Index
from cudaenv.index.links import for_target, parse_json_page, runs_on
from cudaenv.knowledge import load
from cudaenv.machine import Machine
from cudaenv.request import Request
from cudaenv.solver import releases
from cudaenv.solver.factory import Factory

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["solve_server"]  # the fixture, imported for pytest
PLATFORM = "manylinux_2_28_x86_64"

PYTHONS = ("cp38-cp38", "cp39-cp39", "cp311-cp311", "cp312-cp312", "cp311-abi3", "cp37-abi3")
PYTHONS += ("py3-none", "py2.py3-none", "cp311-none", "pp310-pypy310_pp73", "cp313-cp313t")
PLATFORMS = (
    "any",
    "manylinux1_x86_64",
    "manylinux2014_x86_64",
    "manylinux_2_17_x86_64.manylinux2014_x86_64",
    "manylinux_2_28_x86_64",
    "manylinux_2_34_x86_64",  # newer than the glibc of a manylinux_2_28 target
    "manylinux_2_17_aarch64.manylinux2014_aarch64",
    "manylinux_2_28_aarch64",
    "musllinux_1_1_x86_64",
    "linux_x86_64",
    "win_amd64",
    "macosx_11_0_arm64",
    "macosx_10_9_universal2",
)
ODD = (
    "demo-1.0.tar.gz",
    "demo-1.1.zip",
    "demo-0.9-py2.7.egg",
    "demo-0.8.win32.exe",
    "demo-bad.whl",  # no tags: no installer can use it
    "demo-1.0-cp311-cp311-.whl",  # an empty platform tag
    "demo-1.2-1-cp311-cp311-manylinux_2_17_x86_64.whl",  # a build tag
    "demo-1.2-x-cp311-cp311-manylinux_2_17_x86_64.whl",  # a build tag that is no number
    "Demo-1.3rc1-py3-none-any.whl",
    "demo-1.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
)


def page() -> bytes:
    """A PEP 691 page of every combination, over four releases, some yanked."""
    names = [
        f"demo-1.{n}-{py}-{plat}.whl"
        for (n, py), plat in itertools.product(enumerate(PYTHONS), PLATFORMS)
        if (n + len(plat)) % 4  # not every release has every file
    ]
    names = [n.replace("demo-1.", f"demo-1.{i % 4}.", 1) for i, n in enumerate(names)]
    files = [
        {
            "filename": name,
            "url": f"https://files.example/{name}",
            "hashes": {"sha256": f"{i:064x}"},
            "requires-python": ">=3.9" if i % 5 == 0 else None,
            "yanked": i % 7 == 0,
        }
        for i, name in enumerate([*names, *ODD])
    ]
    return json.dumps({"meta": {"api-version": "1.1"}, "name": "demo", "files": files}).encode()


def factory(python: str, platform: str, *, sdist: bool, tmp_path: Path) -> Factory:
    request = Request.from_args(
        tf="2.15", spacy=None, python=python, platform=platform, allow_sdist=sdist
    )
    machine = Machine(driver_version=None, max_cuda=Version("12.2"), source="override")
    index = Index("http://127.0.0.1:9/simple", cache_dir=tmp_path)  # asked for nothing
    return Factory(request, machine, load(), index)


@pytest.mark.parametrize(
    ("python", "platform"),
    [
        ("3.11", "manylinux_2_28_x86_64"),
        ("3.9", "manylinux2014_x86_64"),
        ("3.12", "manylinux_2_28_aarch64"),
        ("3.8", "manylinux_2_17_x86_64"),
    ],
)
@pytest.mark.parametrize("sdist", [False, True])
def test_the_cut_page_gives_the_same_releases(python, platform, sdist, tmp_path) -> None:
    made = factory(python, platform, sdist=sdist, tmp_path=tmp_path)
    try:
        tags = made.request.target.supported_tags()
        body, url = page(), "https://example.org/simple/demo/"
        whole = parse_json_page(body, url, runs_on(platform))
        cut = parse_json_page(body, url, for_target(platform, tags, sdists=sdist))
        chosen = [link for link in whole if made._file_rank(link) is not None]
        assert chosen, "the page must hold files the target can use"
        assert len(cut) < len(whole)  # the cut leaves something out ...
        assert set(chosen) <= set(cut) <= set(whole)  # ... never a file the solve could pick
        before = releases.dump(releases.best_files(whole, made._file_rank))
        after = releases.dump(releases.best_files(cut, made._file_rank))
        assert after == before
        if not sdist:
            assert all(link.filename.endswith(".whl") for link in cut)
    finally:
        made.close()


def test_a_client_cut_for_another_target_gives_the_whole_answer(solve_server, tmp_path) -> None:
    """A remedy solves for another Python on the same client: its factory must read every
    file of the page, not the files cut for the first target."""
    machine = Machine(driver_version=None, max_cuda=Version("12.2"), source="override")
    first = Request.from_args(tf="2.15", spacy=None, python="3.12", platform=PLATFORM)
    remedy = Request.from_args(tf="2.15", spacy=None, python="3.10", platform=PLATFORM)

    def releases_of(request: Request, **cut) -> list[tuple[str, str]]:
        cache = tmp_path / str(len(list(tmp_path.iterdir())))
        with Index(solve_server.url, cache_dir=cache, platform=PLATFORM, **cut) as index:
            made = Factory(request, machine, load(), index)
            try:
                found = made.releases(canonicalize_name("numpy"))
                return [(str(r.version), r.link.filename) for r in found]
            finally:
                made.close()

    whole = releases_of(remedy)
    assert whole and whole != releases_of(first)  # the targets pick other files
    cut = {"tags": first.target.supported_tags(), "sdists": False}
    assert releases_of(remedy, **cut) == whole
    assert releases_of(first, **cut) == releases_of(first)
