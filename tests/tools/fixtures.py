"""Pytest fixtures for functional tests: real wheels served by a real index on 127.0.0.1.

Loaded for the whole suite by ``pytest_plugins`` in ``tests/conftest.py``.

- ``wheel_dir``: an empty temporary directory (``Path``) that holds the wheels a test builds.
- ``make_wheel``: ``make_wheel(name, version, *, requires_dist=(), requires_python=None,
  provides_extra=(), tag="py3-none-any", files=None) -> Path``; builds a valid wheel in
  ``wheel_dir`` (see :func:`tests.tools.make_wheel.make_wheel`).
- ``make_nvidia_wheel``: ``make_nvidia_wheel(name, version, *, libs=(), component=None,
  requires_dist=(), tag="py3-none-manylinux1_x86_64", namespace=False) -> Path``; an NVIDIA
  runtime wheel with real loadable libraries at ``nvidia/<component>/lib/<soname>``.
- ``local_index``: an :class:`~tests.tools.index_server.IndexServer` over ``wheel_dir``, started,
  stopped at teardown. ``.url`` is ``http://127.0.0.1:PORT/simple`` (give it to pip/uv as
  ``--index-url`` or to ``cudaenv.index.Index``); ``.requests`` is the request log
  (``LoggedRequest(method, path, range, status, accept)``), ``.count(prefix)`` counts it,
  ``.clear_log()`` empties it; ``.pep658`` (default True) serves ``.metadata`` files;
  ``.json`` (default True) offers PEP 691 JSON; ``.honour_range`` (default True);
  ``.page_cache_control`` (default ``"max-age=0"``) is sent with project pages;
  ``.fail(n, status=500, drop=False, path="", retry_after=None)`` makes the next n requests
  fail (``retry_after``: the ``Retry-After`` header sent with them); ``.stall(seconds,
  path="")`` makes every request under ``path`` wait that long before its answer;
  ``.hold(path)`` holds later requests under ``path`` unanswered until the server stops
  (``.held`` is set once one is held); ``.yank(filename, reason="")``. Wheels may be added to
  ``wheel_dir`` after it has started.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import pytest

from tests.tools.index_server import IndexServer
from tests.tools.make_wheel import make_nvidia_wheel as _make_nvidia_wheel
from tests.tools.make_wheel import make_wheel as _make_wheel

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

__all__ = ["local_index", "make_nvidia_wheel", "make_wheel", "wheel_dir"]


@pytest.fixture
def wheel_dir(tmp_path: Path) -> Path:
    path = tmp_path / "wheels"
    path.mkdir()
    return path


@pytest.fixture
def make_wheel(wheel_dir: Path) -> Callable[..., Path]:
    return functools.partial(_make_wheel, wheel_dir)


@pytest.fixture
def make_nvidia_wheel(wheel_dir: Path) -> Callable[..., Path]:
    return functools.partial(_make_nvidia_wheel, wheel_dir)


@pytest.fixture
def local_index(wheel_dir: Path) -> Iterator[IndexServer]:
    server = IndexServer(wheel_dir).start()
    try:
        yield server
    finally:
        server.stop()
