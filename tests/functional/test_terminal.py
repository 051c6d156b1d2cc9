"""A live terminal: a real ``python -m cudaenv`` on a pseudo-terminal never stays silent for 2 s.

Each long step is made slow on purpose (the test index stalls pages or wheel downloads; a
stand-in TensorFlow takes seconds to import, as the real one does), so that without the status
line the terminal would stay silent longer than that. The status line says what is happening:
the solve's pages and the URL it is waiting for, the installer's step, the smoke test's part.
On a pipe and with ``--json`` there is none of it (stdout stays pure JSON); ``-v`` adds debug
lines (requests, solver decisions).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tests.functional.solve_index import build_index, serve
from tests.tools.terminal import run_on_terminal

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.tools.index_server import IndexServer

LIMIT = 2.0  # seconds: the longest a terminal may stay silent during a step
STALL = 3.0  # seconds a slow index makes each stalled request wait (> LIMIT)
SOLVE = ("--tf", "2.15", "--spacy", "3.7", "--driver", "535.104.05", "--python", "3.11",
         "--platform", "manylinux_2_28_x86_64")  # fmt: skip
CUDAENV = [sys.executable, "-m", "cudaenv"]
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"  # the status line's first character


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_index(tmp_path_factory.mktemp("wheels"))


@pytest.fixture
def index(wheels: Path) -> Iterator[IndexServer]:
    """A server of the test's own: tests make it stall."""
    server = serve(wheels)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def slow_pages(index: IndexServer) -> Iterator[IndexServer]:
    index.stall(STALL, path="/simple/tensorflow/")
    try:
        yield index
    finally:
        index.stall(0)


def _environ(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "COLUMNS")}
    return {**env, "CUDAENV_CACHE_DIR": str(tmp_path / "cache"), "PYTHONUNBUFFERED": "1"}


def _solve_args(index: IndexServer, tmp_path: Path) -> list[str]:
    return [*SOLVE, "--index-url", index.url, "--cache-dir", str(tmp_path / "cache")]


def test_a_solve_on_a_slow_index_shows_progress_and_the_url_it_waits_for(slow_pages, tmp_path):
    run = run_on_terminal(
        [*CUDAENV, "solve", *_solve_args(slow_pages, tmp_path)], env=_environ(tmp_path)
    )
    assert run.code == 0, run.text[-3000:]
    assert run.longest_silence < LIMIT, run.longest_silence
    text = run.text
    assert "solving: " in text and f" METADATA read from {slow_pages.url} (" in text
    assert f"s for {slow_pages.url}/tensorflow/" in text  # the request it waits on, by URL
    assert "\x1b[2K" in text  # a status line, erased as it is redrawn
    assert "tensorflow  2.15.1" in text  # and then the report, as always
    widest = max(len(x) for chunk in text.split("\r") for x in chunk.split("\n"))
    assert widest < 120 + len("\x1b[2K"), "the status line fits the terminal: it never wraps"


def test_create_shows_the_install_and_ends_with_a_summary_not_uvs_lines(index, tmp_path):
    lock = tmp_path / "pylock.toml"
    made = subprocess.run(
        [*CUDAENV, "lock", *_solve_args(index, tmp_path), "-o", str(lock)],
        capture_output=True,
        text=True,
        env=_environ(tmp_path),
        check=False,
    )
    assert made.returncode == 0, made.stderr
    index.stall(STALL, path="/files/")  # every wheel download is slow
    try:
        run = run_on_terminal(
            [*CUDAENV, "create", "--from", str(lock), "-p", str(tmp_path / "env"), "--no-smoke"],
            env={**_environ(tmp_path), "UV_CACHE_DIR": str(tmp_path / "uv")},
        )
    finally:
        index.stall(0)
    assert run.code == 0, run.text[-3000:]
    assert run.longest_silence < LIMIT, run.longest_silence
    text = run.text
    assert "installing " in text and " wheels (" in text and "with uv: downloading" in text
    assert "installed " in text and " locked wheels (" in text and " with uv in " in text
    assert " + tensorflow==" not in text and "Prepared " not in text  # uv's lines: -v only


def _fake_tensorflow(make_wheel) -> object:
    """A stand-in TensorFlow that, like the real one, takes seconds to import (a release no
    recipe knows, so no CUDA library is expected of it)."""
    code = (
        "import contextlib, time\n"
        f"time.sleep({STALL})\n"
        "__version__ = '2.99.0'\n"
        "class _T:\n    def numpy(self): return None\n"
        "class sysconfig:\n    get_build_info = staticmethod(lambda: {'cuda_version': '12.2'})\n"
        "class config:\n    list_physical_devices = staticmethod(lambda kind: [])\n"
        "class random:\n    normal = staticmethod(lambda shape: _T())\n"
        "class linalg:\n    matmul = staticmethod(lambda a, b: _T())\n"
        "device = contextlib.nullcontext\n"
    )
    return make_wheel("tensorflow", "2.99.0", files={"tensorflow/__init__.py": code})


def test_smoke_shows_each_part_as_it_runs(tmp_path, make_wheel):
    """In a folder whose path is longer than a narrow terminal is wide: the path gives way,
    the step and the part under way stay."""
    from tests.functional.test_smoke import make_venv, uv_install

    venv = make_venv(tmp_path.joinpath(*["a-deep-project-folder"] * 6, "env"))
    uv_install(venv, str(_fake_tensorflow(make_wheel)))
    columns = 40
    assert len(str(venv.prefix)) > columns
    run = run_on_terminal(
        [*CUDAENV, "smoke", "-p", str(venv.prefix), "--quick"],
        env=_environ(tmp_path),
        columns=columns,
    )
    assert run.code == 0, run.text[-3000:]
    assert run.longest_silence < LIMIT, run.longest_silence
    erased = (re.split("[\r\n]", x)[0] for x in run.text.split("\x1b[2K")[1:])
    drawn = [x for x in erased if x and x[0] in SPINNER]
    assert all(len(x) < columns for x in drawn), [x for x in drawn if len(x) >= columns]
    assert any(x.endswith(" smoke test: TensorFlow: importing") for x in drawn), drawn
    assert "TensorFlow 2.99.0" in run.text  # the report


def test_with_json_stdout_is_only_json_and_the_terminal_gets_nothing(slow_pages, tmp_path):
    run = run_on_terminal(
        [*CUDAENV, "solve", *_solve_args(slow_pages, tmp_path), "--json"],
        env=_environ(tmp_path),
        stdout_pipe=True,
    )
    assert run.code == 0, run.text
    assert json.loads(run.stdout)["frameworks"]["tensorflow"] == "2.15.1"
    assert run.text == ""


def test_on_a_pipe_there_is_no_progress(slow_pages, tmp_path):
    done = subprocess.run(
        [*CUDAENV, "solve", *_solve_args(slow_pages, tmp_path)],
        capture_output=True,
        text=True,
        env=_environ(tmp_path),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "\r" not in done.stdout and "\x1b" not in done.stdout
    assert "solving" not in done.stdout and "tensorflow  2.15.1" in done.stdout


def test_quiet_after_the_command_silences_the_status_line(index, tmp_path):
    run = run_on_terminal(
        [*CUDAENV, "solve", *_solve_args(index, tmp_path), "-q"], env=_environ(tmp_path)
    )
    assert run.code == 0, run.text
    assert "solving" not in run.text and "\x1b[2K" not in run.text
    assert "tensorflow  2.15.1" in run.text


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_shows_requests_and_solver_decisions(index, tmp_path, where):
    argv = ["solve", *_solve_args(index, tmp_path)]
    argv = ["-v", *argv] if where == "before" else [*argv, "-v"]
    done = subprocess.run(
        [*CUDAENV, *argv], capture_output=True, text=True, env=_environ(tmp_path), check=False
    )
    assert done.returncode == 0, done.stderr
    assert f"DEBUG cudaenv.net.http: GET {index.url}/tensorflow/ -> 200 in " in done.stderr
    assert "DEBUG cudaenv.solver.reporter: pin tensorflow 2.15.1" in done.stderr
    assert "cudaenv.wire" not in done.stderr  # the connections only with -vv
    plain = subprocess.run(
        [*CUDAENV, *[a for a in argv if a != "-v"]],
        capture_output=True,
        text=True,
        env=_environ(tmp_path),
        check=False,
    )
    assert "DEBUG" not in plain.stderr


def test_twice_verbose_adds_the_connections(index, tmp_path):
    done = subprocess.run(
        [*CUDAENV, "solve", *_solve_args(index, tmp_path), "-vv"],
        capture_output=True,
        text=True,
        env=_environ(tmp_path),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    host = index.url.split("://", 1)[1].split("/", 1)[0]
    assert f"DEBUG cudaenv.wire: connected to http://{host}" in done.stderr
