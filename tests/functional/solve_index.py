"""The solver's test index: ``tests/cases/solve/index.json`` built into wheels and served.

The case file lists releases with their real Requires-Dist (trimmed); this module builds one
wheel per release and tag with ``tests.tools.make_wheel`` and serves them from a real
:class:`~tests.tools.index_server.IndexServer` on 127.0.0.1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.tools.index_server import IndexServer
from tests.tools.make_wheel import make_wheel

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = [
    "CASE",
    "FRAMEWORKS",
    "HINTS",
    "build_index",
    "frameworks_server",
    "hints_server",
    "own_solve_server",
    "serve",
    "solve_server",
]

CASE = Path(__file__).resolve().parents[1] / "cases" / "solve" / "index.json"
# More releases on top of CASE, for the requests whose hints tests follow.
HINTS = Path(__file__).resolve().parents[1] / "cases" / "hints" / "index.json"
# PyTorch, JAX and TensorFlow 2.18 with the NVIDIA wheels they pin, on top of CASE.
FRAMEWORKS = Path(__file__).resolve().parents[1] / "cases" / "frameworks" / "index.json"


def _case(more: Iterable[Path]) -> dict[str, Any]:
    """CASE with each of ``more`` added: their tags and releases join CASE's."""
    case: dict[str, Any] = json.loads(CASE.read_text())
    for path in more:
        extra = json.loads(path.read_text())
        case["tags"].update(extra["tags"])
        for name, releases in extra["projects"].items():
            case["projects"].setdefault(name, []).extend(releases)
    return case


def build_index(
    dest: Path, *, projects: Iterable[str] | None = None, more: Iterable[Path] = ()
) -> Path:
    """Write the case file's wheels (all projects, or only ``projects``; with the releases of
    the files ``more``) into ``dest``."""
    case = _case(more)
    wanted = set(projects) if projects is not None else None
    for name, releases in case["projects"].items():
        if wanted is not None and name not in wanted:
            continue
        for rel in releases:
            for tag in case["tags"][rel["tags"]]:
                make_wheel(
                    dest,
                    name,
                    rel["version"],
                    requires_dist=rel.get("requires_dist", ()),
                    requires_python=rel.get("requires_python"),
                    provides_extra=rel.get("provides_extra", ()),
                    tag=tag,
                )
    return dest


def serve(dest: Path, *, shared: bool = False) -> IndexServer:
    """An index over ``dest``, started (the caller stops it); ``shared``: several tests use it,
    so its request log is not theirs to read (see :class:`IndexServer`)."""
    return IndexServer(dest, shared=shared).start()


@pytest.fixture(scope="module")
def solve_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    """The case file's index, built and served once per test module (its log is no test's
    to read)."""
    srv = serve(build_index(tmp_path_factory.mktemp("solve-wheels")), shared=True)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def own_solve_server(solve_server: IndexServer) -> Iterator[IndexServer]:
    """The case file's index on a server of the test's own (the module's wheels, a port of its
    own), for a test that reads the request log or changes how the index answers (a login,
    stalls): no other test's request reaches it."""
    srv = serve(solve_server.root)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def hints_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    """The case file's index with the releases of HINTS, built and served once per module."""
    srv = serve(build_index(tmp_path_factory.mktemp("hint-wheels"), more=[HINTS]), shared=True)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def frameworks_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    """The case file's index with the releases of FRAMEWORKS, built and served once per
    module."""
    wheels = build_index(tmp_path_factory.mktemp("framework-wheels"), more=[FRAMEWORKS])
    srv = serve(wheels, shared=True)
    try:
        yield srv
    finally:
        srv.stop()
