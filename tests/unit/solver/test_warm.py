"""The warm path: what a solve keeps from an earlier one, and why it can never be stale.

A warm solve reuses the best file of each release computed from a page (keyed by the page's
digest and the target), METADATA kept by the file's sha256, and imports no HTTP client. All
against the real local index on 127.0.0.1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version
from tests.functional.solve_index import build_index, serve, solve_server

from cudaenv.index import Index
from cudaenv.knowledge import load
from cudaenv.machine import Machine, Overrides, detect
from cudaenv.request import Request
from cudaenv.solver import solve
from cudaenv.solver.factory import Factory

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.tools.index_server import IndexServer

__all__ = ["solve_server"]  # the fixture, imported for pytest

PLATFORM = "manylinux_2_28_x86_64"
MACHINE = Machine(driver_version=None, max_cuda=Version("12.2"), source="override")


@pytest.fixture
def factory_on(tmp_path: Path) -> Iterator:
    """``factory_on(url, python=..., offline=...)``: a factory over a cache shared by the test."""
    made: list[Factory] = []

    def make(url: str, *, python: str = "3.11", offline: bool = False) -> Factory:
        request = Request.from_args(tf="2.15", spacy=None, python=python, platform=PLATFORM)
        index = Index(url, cache_dir=tmp_path / "cache", offline=offline, platform=PLATFORM)
        made.append(Factory(request, MACHINE, load(), index))
        return made[-1]

    yield make
    for f in made:
        f.close()
        f.index.close()


def versions(factory: Factory, name: str) -> list[str]:
    return [str(r.version) for r in factory.releases(canonicalize_name(name))]


def test_a_warm_offline_factory_answers_without_reading_the_page(
    solve_server: IndexServer, factory_on
) -> None:
    cold = factory_on(solve_server.url)
    tf = canonicalize_name("tensorflow")
    expected = [(r.version, r.yanked, r.link) for r in cold.releases(tf)]
    derived = cold.index.cache_dir / "derived"
    assert not list(derived.rglob("*.json"))  # fetched and read now: nothing kept yet
    first_warm = factory_on(solve_server.url, offline=True)  # reads the page file, keeps
    assert [(r.version, r.yanked, r.link) for r in first_warm.releases(tf)] == expected
    assert list(derived.rglob("tensorflow.json"))
    warm = factory_on(solve_server.url, offline=True)
    assert [(r.version, r.yanked, r.link) for r in warm.releases(tf)] == expected
    ((_url, page),) = warm.index._pages[tf].pages
    assert page.body is None  # only the page file's first line was read


def test_the_target_is_part_of_the_key(solve_server: IndexServer, factory_on) -> None:
    tf = canonicalize_name("tensorflow")
    f311, f310 = factory_on(solve_server.url), factory_on(solve_server.url, python="3.10")
    assert "cp311" in f311.releases(tf)[0].link.filename
    assert "cp310" in f310.releases(tf)[0].link.filename
    again = factory_on(solve_server.url, python="3.10", offline=True)
    assert "cp310" in again.releases(tf)[0].link.filename


def test_a_changed_page_is_never_answered_from_the_old_one(
    make_wheel, local_index: IndexServer, factory_on
) -> None:
    make_wheel("alpha", "1.0")
    assert versions(factory_on(local_index.url), "alpha") == ["1.0"]
    make_wheel("alpha", "2.0")  # a new upload: new ETag, new body, new digest
    assert versions(factory_on(local_index.url), "alpha") == ["2.0", "1.0"]
    assert versions(factory_on(local_index.url, offline=True), "alpha") == ["2.0", "1.0"]


@pytest.mark.parametrize(
    "damage",
    [b"not json", b'{"page": 1}', b'{"page": "%s", "value": [["x", 0, {}]]}'],
    ids=["not-json", "other-shape", "bad-entries"],
)
def test_a_damaged_derived_file_is_computed_again(
    make_wheel, local_index: IndexServer, factory_on, tmp_path: Path, damage: bytes
) -> None:
    make_wheel("alpha", "1.0")
    assert versions(factory_on(local_index.url), "alpha") == ["1.0"]
    first = factory_on(local_index.url, offline=True)  # the page from the cache: kept now
    assert versions(first, "alpha") == ["1.0"]
    digest = first.index.page_digest("alpha")
    files = list((tmp_path / "cache" / "derived").rglob("alpha.json"))
    assert files, "the warm run kept what it computed"
    for path in files:
        path.write_bytes(damage.replace(b"%s", digest.encode()))
    assert versions(factory_on(local_index.url, offline=True), "alpha") == ["1.0"]


def test_an_offline_solve_never_imports_the_http_client(
    solve_server: IndexServer, tmp_path: Path
) -> None:
    args = [
        "solve",
        "--tf=2.15",
        "--spacy=3.7",
        "--python=3.11",
        f"--platform={PLATFORM}",
        "--driver=535.104.05",
        f"--index-url={solve_server.url}",
        f"--cache-dir={tmp_path}",
        "--json",
    ]
    probe = (
        "import sys; from cudaenv.cli import main; code = main(sys.argv[1:]); "
        "print('cudaenv.net.transport' in sys.modules and 'http.client' in sys.modules, "
        "file=sys.stderr); sys.exit(code)"
    )
    outs = []
    for extra in ([], ["--offline"]):
        done = subprocess.run(
            [sys.executable, "-c", probe, *args, *extra],
            check=False,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        outs.append((json.loads(done.stdout), done.stderr.strip().splitlines()[-1]))
    (online, online_client), (offline, offline_client) = outs
    assert online == offline and online["packages"]
    assert (online_client, offline_client) == ("True", "False")


# -- remembered solves ---------------------------------------------------------------------------


@pytest.fixture
def own_index(tmp_path: Path) -> Iterator[IndexServer]:
    """The case index, built for this test alone (it changes the index)."""
    server = serve(build_index(tmp_path / "wheels", projects=SOLVE_PROJECTS))
    try:
        yield server
    finally:
        server.stop()


SOLVE_PROJECTS = ("tensorflow", "numpy", "typing-extensions", "spacy", "thinc", "click")
SOLVE_PROJECTS += tuple(f"nvidia-{p}-cu12" for p in ("cublas", "cuda-nvrtc", "cuda-runtime"))
SOLVE_PROJECTS += tuple(f"nvidia-{p}-cu12" for p in ("cudnn", "cufft", "curand", "cusolver"))
SOLVE_PROJECTS += ("nvidia-cusparse-cu12", "cupy-cuda12x", "fastrlock")


def solve_on(url: str, cache: Path, *, driver: str = "535.104.05", offline: bool = False):
    request = Request.from_args(tf="2.15", spacy="3.7", python="3.11", platform=PLATFORM)
    know = load()
    machine = detect(Overrides(driver=driver), driver_to_cuda=know.max_cuda_for_driver)
    events: list[object] = []
    with Index(url, cache_dir=cache, offline=offline, platform=PLATFORM) as index:
        return solve(request, machine, know, index, on_event=events.append), events


def test_the_same_solve_over_the_same_pages_is_remembered(
    own_index: IndexServer, tmp_path: Path
) -> None:
    first, searched = solve_on(own_index.url, tmp_path / "cache")
    again, events = solve_on(own_index.url, tmp_path / "cache")
    offline, _ = solve_on(own_index.url, tmp_path / "cache", offline=True)
    assert searched and not events  # no search: every page was asked for and was unchanged
    assert again == first == offline
    assert {p.name: str(p.version) for p in again.pins}["numpy"] == "1.26.4"


def test_a_changed_page_makes_the_solve_search_again(
    own_index: IndexServer, tmp_path: Path
) -> None:
    first, _ = solve_on(own_index.url, tmp_path / "cache")
    numpy = first.pin("numpy")
    assert numpy is not None and str(numpy.version) == "1.26.4"
    for wheel in (own_index.root).glob("numpy-1.26.4-*.whl"):
        own_index.yank(wheel.name, "broken")
    second, events = solve_on(own_index.url, tmp_path / "cache")
    assert events and str(second.pin("numpy").version) == "1.26.3"


def test_other_inputs_or_a_damaged_entry_search_again(
    own_index: IndexServer, tmp_path: Path
) -> None:
    first, _ = solve_on(own_index.url, tmp_path / "cache")
    other, events = solve_on(own_index.url, tmp_path / "cache", driver="550.54.14")
    assert events and other.pins == first.pins  # another key: searched, same pins here
    for kept in (tmp_path / "cache" / "solves").rglob("*.json"):
        data = json.loads(kept.read_text())
        data["resolution"]["pins"][0]["wheel"] = None
        kept.write_text(json.dumps(data))
    again, events = solve_on(own_index.url, tmp_path / "cache")
    assert events and again == first


def test_refresh_on_an_index_without_validators_reads_no_unchanged_page(
    own_index: IndexServer, tmp_path: Path
) -> None:
    own_index.validators = False  # every revalidation is a 200 with the whole page
    first, _ = solve_on(own_index.url, tmp_path / "cache")
    own_index.clear_log()
    request = Request.from_args(tf="2.15", spacy="3.7", python="3.11", platform=PLATFORM)
    know = load()
    machine = detect(Overrides(driver="535.104.05"), driver_to_cuda=know.max_cuda_for_driver)
    events: list[object] = []
    index = Index(own_index.url, cache_dir=tmp_path / "cache", platform=PLATFORM, revalidate=True)
    with index:
        again = solve(request, machine, know, index, on_event=events.append)
        assert index._pages and not index._links  # fetched again, none parsed again
    assert again == first and not events and own_index.count("/simple/") == len(index._pages)


def test_a_page_that_is_gone_makes_the_solve_search_again(
    own_index: IndexServer, tmp_path: Path
) -> None:
    first, _ = solve_on(own_index.url, tmp_path / "cache")
    for kept in (tmp_path / "cache" / "solves").rglob("*.json"):
        data = json.loads(kept.read_text())
        data["pages"]["no-such-project"] = "0" * 64  # read by that solve, deleted since
        kept.write_text(json.dumps(data))
    again, events = solve_on(own_index.url, tmp_path / "cache")
    assert events and again == first
