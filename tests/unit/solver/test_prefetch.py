"""The pages a solve will read, asked for at its start: which ones, and that they change nothing.

The lists are read from ``recipes/prefetch.toml``; the solves run against the real local index
(``tests/cases/solve/index.json`` served on 127.0.0.1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from packaging.version import Version
from tests.functional.solve_index import build_index, serve

from cudaenv.index import Index
from cudaenv.knowledge import load
from cudaenv.machine import Overrides, detect
from cudaenv.request import Request
from cudaenv.solver import prefetch, solve

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.tools.index_server import IndexServer

PLATFORM = "manylinux_2_28_x86_64"
TABLE = {
    "tensorflow": {
        Version("2.14"): {"projects": ("keras-214",), "gpu": ("nvidia-214",)},
        Version("2.15"): {"projects": ("keras", "numpy"), "gpu": ("nvidia-cudnn-cu12",)},
    },
    "spacy": {Version("3.7"): {"projects": ("thinc",), "gpu": ("cupy-cuda12x",)}},
}


def request(tf: str | None, spacy: str | None = None, *, gpu: bool = True) -> Request:
    return Request.from_args(tf=tf, spacy=spacy, python="3.11", platform=PLATFORM, gpu=gpu)


@pytest.mark.parametrize(
    ("tf", "spacy", "gpu", "names"),
    [
        ("2.15", None, True, ["keras", "numpy", "nvidia-cudnn-cu12"]),
        ("2.15", "3.7", False, ["keras", "numpy", "thinc"]),
        ("2.14.1", None, True, ["keras-214", "nvidia-214"]),  # an exact release: its line
        (">=2.12", None, False, ["keras", "numpy"]),  # the newest line it admits
        ("<2.15", None, False, ["keras-214"]),
        ("2.13", "3.5", True, []),  # lines without lists
    ],
)
def test_the_newest_line_the_request_admits_names_the_pages(tf, spacy, gpu, names) -> None:
    assert prefetch.names(request(tf, spacy, gpu=gpu), TABLE) == names


def test_the_shipped_lists_name_each_framework_line() -> None:
    know = load()
    asks = [(str(t.line), request(str(t.line), gpu=False)) for t in know.tensorflow]
    asks += [(str(s.line), request(None, str(s.line), gpu=False)) for s in know.spacy]
    pre_only = {str(t.line) for t in know.tensorflow if t.pre_release_only}
    for line, asked in asks:
        fw = asked.frameworks[0].name
        if line not in pre_only:
            assert fw in prefetch.names(asked), f"recipes/prefetch.toml lacks {fw} {line}"


@pytest.fixture
def own_index(tmp_path: Path) -> Iterator[IndexServer]:
    projects = ("tensorflow", "numpy", "typing-extensions", "spacy", "thinc", "click")
    server = serve(build_index(tmp_path / "wheels", projects=projects))
    try:
        yield server
    finally:
        server.stop()


def solve_and_read(url: str, cache: Path) -> tuple[object, dict[str, str] | None]:
    asked = request("2.15", "3.7", gpu=False)
    know = load()
    machine = detect(Overrides(), driver_to_cuda=know.max_cuda_for_driver)
    tags = asked.target.supported_tags()
    with Index(url, cache_dir=cache, platform=PLATFORM, tags=tags, sdists=False) as index:
        return solve(asked, machine, know, index), index.pages_read()


def test_hints_change_neither_the_solve_nor_the_pages_it_read(
    own_index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hinted = ["typing-extensions", "numpy", "no-such-project", "click", "spacy"]
    monkeypatch.setattr(prefetch, "names", lambda _request: hinted)
    with_hints = solve_and_read(own_index.url, tmp_path / "a")
    asked = {r.path.split("/")[2] for r in own_index.requests if r.path.startswith("/simple/")}
    assert "no-such-project" in asked  # hinted, fetched, failed: forgotten
    monkeypatch.setattr(prefetch, "names", lambda _request: [])
    own_index.clear_log()
    without = solve_and_read(own_index.url, tmp_path / "b")
    assert not any("no-such-project" in r.path for r in own_index.requests)
    assert with_hints == without
    resolution, pages = with_hints
    assert pages is not None and "no-such-project" not in pages
    again, _ = solve_and_read(own_index.url, tmp_path / "a")  # remembered despite the failure
    assert again == resolution
