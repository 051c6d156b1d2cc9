"""The stack cudaenv reports is the stack it installs (issue 14, item 3).

TensorFlow 2.21's ``and-cuda`` extra gives ranges, so the pins (``nvidia-cuda-runtime-cu12``
12.9, ``nvidia-cudnn-cu12`` 9.10 on this index) are newer than what TF was built with (CUDA
12.5, cuDNN 9.3). ``solve``, ``solve --json``, the lock's ``[tool.cudaenv]`` and the ``create``
summary report both, and the driver floor follows from the pinned runtime under NVIDIA's
minor-version compatibility.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from packaging.version import Version

from cudaenv import knowledge, lock
from cudaenv._toml import tomllib
from cudaenv.index import Index
from cudaenv.machine import Overrides, detect
from cudaenv.request import Request
from cudaenv.solver import solve
from tests.functional.solve_index import hints_server  # noqa: F401 (a fixture)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.tools.index_server import IndexServer

PLATFORM = "manylinux_2_28_x86_64"
STACK = "CUDA 12.9, cuDNN 9.10 (the pinned wheels; TensorFlow 2.21.0 was built with CUDA 12.5, cuDNN 9.3)"  # noqa: E501
WHERE = ("--python", "3.11", "--platform", PLATFORM, "--driver", "535.104.05")


def test_the_stack_is_read_from_the_pins(hints_server: IndexServer, tmp_path: Path) -> None:  # noqa: F811
    know = knowledge.load()
    machine = detect(Overrides(driver="535.104.05"), driver_to_cuda=know.max_cuda_for_driver)
    request = Request.from_args(tf="2.21", spacy=None, python="3.11", platform=PLATFORM)
    with Index(hints_server.url, cache_dir=tmp_path, platform=PLATFORM) as index:
        res = solve(request, machine, know, index)
    pins = {p.name: p.version for p in res.pins}
    assert pins["nvidia-cuda-runtime-cu12"] == Version("12.9.79")
    assert pins["nvidia-cudnn-cu12"] == Version("9.10.2.21")
    assert (res.stack.cuda, res.stack.cudnn) == (Version("12.9"), Version("9.10"))
    assert (res.stack.built_cuda, res.stack.built_cudnn) == (Version("12.5"), Version("9.3"))
    # minor-version compatibility: any CUDA 12 runtime runs on the CUDA 12 floor
    assert str(res.stack.driver_floor) == "525.60.13"
    assert res.stack_text() == STACK
    assert any(
        n.startswith("the pinned CUDA 12.9 wheels run on this driver (CUDA 12.2)")
        and n.endswith("need a driver ≥ 575.51.03")
        for n in res.notes
    ), res.notes


def test_solve_lock_and_create_say_both(
    hints_server: IndexServer,  # noqa: F811
    tmp_path: Path,
    cli,
) -> None:
    where = [*WHERE, "--index-url", hints_server.url, "--cache-dir", str(tmp_path / "cache")]
    human = cli("solve", "--tf", "2.21", *where)
    assert human.code == 0, human.err
    assert f"stack:   {STACK}" in human.out
    doc = json.loads(cli("solve", "--tf", "2.21", *where, "--json").out)
    assert (doc["cuda"], doc["cudnn"]) == ("12.9", "9.10")
    assert doc["built_with"] == {"cuda": "12.5", "cudnn": "9.3"}
    path = tmp_path / "pylock.toml"
    assert cli("lock", "--tf", "2.21", *where, "-o", str(path)).code == 0
    table = tomllib.loads(path.read_text())["tool"]["cudaenv"]
    assert (table["cuda"], table["cudnn"]) == ("12.9", "9.10")
    assert (table["built-with-cuda"], table["built-with-cudnn"]) == ("12.5", "9.3")
    assert lock.read(path).stack_text() == STACK  # read back the same
    made = cli("create", "--from", str(path), "-p", str(tmp_path / "env"), "--no-smoke")
    assert made.code == 0, made.err
    assert f"stack: {STACK}; needs an NVIDIA driver >= 525.60.13" in made.out


def test_where_pins_and_build_agree_one_stack_is_said(
    hints_server: IndexServer,  # noqa: F811
    tmp_path: Path,
    cli,
) -> None:
    where = [*WHERE, "--index-url", hints_server.url, "--cache-dir", str(tmp_path)]
    out = cli("solve", "--tf", "2.15", *where).out
    assert "stack:   CUDA 12.2, cuDNN 8.9\n" in out
