"""Portable locks: without --platform a lock targets manylinux_2_28, not the glibc of the machine
that made it, and ``create --from`` on an older machine refuses it clearly.

The index serves NumPy for three glibc tags; the lock's wheels are read back by their file
names (every platform tag parsed). An older host is a real ``cudaenv`` process whose glibc
query, ``gnu_get_libc_version()``, is answered by a preloaded library (tests/tools/fake_glibc):
the same interface the real detection asks, since this host's glibc cannot be changed.
"""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from packaging.utils import parse_wheel_filename

from cudaenv import lock
from cudaenv.machine import libc
from tests.functional.fleet_index import PY, build_cpu_index, lock_args
from tests.tools.fake_driver import compiler
from tests.tools.fake_glibc import build_fake_glibc
from tests.tools.index_server import IndexServer

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [
    pytest.mark.skipif(platform.machine() != "x86_64", reason="the test wheels are x86_64"),
    pytest.mark.skipif(
        (libc.host_glibc() or (0, 0)) < (2, 34), reason="needs a host newer than manylinux_2_34"
    ),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory):
    wheels = build_cpu_index(tmp_path_factory.mktemp("fleet-wheels"))
    with IndexServer(wheels, shared=True) as server:
        yield server


def glibc_of(filename: str) -> set[tuple[int, int]]:
    """The glibc versions a wheel's platform tags ask for (none for a pure wheel)."""
    out = set()
    for tag in parse_wheel_filename(filename)[3]:
        if tag.platform.startswith("manylinux_"):
            major, minor = tag.platform.split("_")[1:3]
            out.add((int(major), int(minor)))
        elif tag.platform.startswith("manylinux2014"):
            out.add((2, 17))
        else:
            assert tag.platform == "any", f"{filename}: unexpected platform {tag.platform}"
    return out


def test_a_lock_without_platform_targets_manylinux_2_28(cli, tmp_path, index) -> None:
    out = tmp_path / "pylock.toml"
    result = cli(*lock_args(index.url, tmp_path / "cache", out))
    assert result.code == 0, result.err
    assert "target: Python" in result.out and "manylinux_2_28_x86_64" in result.out
    resolution = lock.read(out)
    assert resolution.target.platform == "manylinux_2_28_x86_64"
    assert 'platform = "manylinux_2_28_x86_64"' in out.read_text()
    needs = {p.wheel.filename: glibc_of(p.wheel.filename) for p in resolution.pins}
    assert all(g <= (2, 28) for versions in needs.values() for g in versions), needs
    numpy = resolution.pin("numpy")
    assert numpy is not None and numpy.wheel.filename.endswith("manylinux_2_28_x86_64.whl")

    newer = tmp_path / "pylock.new.toml"
    asked = cli(*lock_args(index.url, tmp_path / "cache", newer, "--platform", GLIBC_234))
    assert asked.code == 0, asked.err
    assert lock.read(newer).pin("numpy").wheel.filename.endswith("manylinux_2_34_x86_64.whl")


GLIBC_234 = "manylinux_2_34_x86_64"


def cudaenv(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cudaenv", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=cwd,
        timeout=300,
        check=False,
    )


@pytest.mark.skipif(compiler() is None, reason="building the fake glibc needs a C compiler")
def test_create_from_on_an_older_glibc_refuses_and_the_hint_works(cli, tmp_path, index) -> None:
    made = tmp_path / "pylock.toml"
    assert cli(*lock_args(index.url, tmp_path / "cache", made)).code == 0
    old_host = {
        "LD_PRELOAD": str(build_fake_glibc(tmp_path, "2.17")),
        "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
    }
    prefix = tmp_path / "env"
    refused = cudaenv(
        "create", "--from", str(made), "-p", str(prefix), "--no-smoke", env=old_host, cwd=tmp_path
    )
    assert refused.returncode == 2, refused.stderr
    first = refused.stderr.splitlines()[0]
    assert "needs glibc ≥ 2.28 on x86_64" in first and "has glibc 2.17 on x86_64" in first
    assert "Traceback" not in refused.stderr
    assert not prefix.exists()

    hint = next(ln for ln in refused.stderr.splitlines() if ln.startswith("hint:"))
    command = shlex.split(hint.split("`")[1])
    assert command[:2] == ["cudaenv", "lock"] and "--platform" in command
    relocked = cudaenv(*command[1:], env=old_host, cwd=tmp_path)
    assert relocked.returncode == 0, relocked.stderr
    fitted = lock.read(tmp_path / "pylock.toml")
    assert fitted.target.platform == "manylinux_2_17_x86_64"
    assert fitted.pin("numpy").wheel.filename.endswith("manylinux_2_17_x86_64.whl")
    done = cudaenv(
        "create",
        "--from",
        "pylock.toml",
        "-p",
        str(prefix),
        "--no-smoke",
        env=old_host,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert list(prefix.glob(f"lib/python{PY}/site-packages/numpy-1.26.4.dist-info"))


@pytest.mark.skipif(compiler() is None, reason="building the fake glibc needs a C compiler")
@pytest.mark.parametrize(
    ("glibc", "default"),
    [("2.17", "manylinux_2_17_x86_64"), ("2.28", "manylinux_2_28_x86_64"), ("2.39", None)],
)
def test_the_default_target_is_2_28_or_an_older_host_glibc(tmp_path, glibc, default) -> None:
    """A host newer than 2.28 still locks for 2.28; an older one locks for itself, so a lock
    made on a node always installs on that node."""
    code = "from cudaenv.machine import libc; print(libc.host_platform(), libc.default_platform())"
    env = {**os.environ, "LD_PRELOAD": str(build_fake_glibc(tmp_path, glibc))}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    host, chosen = done.stdout.split()
    assert host == f"manylinux_{glibc.replace('.', '_')}_x86_64"
    assert chosen == (default or "manylinux_2_28_x86_64")
