"""``create --from LOCK``: offline from uv's cache, and locks other tools wrote (uv's pylock).

Real venvs, real uv (a dependency of cudaenv), wheels built by the tests and served on
127.0.0.1; for the offline case the index is stopped and every proxy variable points at a
closed port, so any request the installer tried would fail.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from cudaenv import lock
from cudaenv.system.process import find_uv
from tests.functional.test_install import resolution_of
from tests.tools.pins import pin_for

if TYPE_CHECKING:
    from pathlib import Path


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the socket is


@pytest.fixture
def small_lock(make_nvidia_wheel, local_index, tmp_path: Path, monkeypatch) -> Path:
    """A lock of a small NVIDIA wheel on the test index; uv's cache starts empty."""
    wheel = make_nvidia_wheel("nvidia-cuda-runtime-cu12", "12.2.140", libs=["libcudart.so.12"])
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    resolution = resolution_of(pin_for(wheel, local_index))
    return lock.write(resolution, tmp_path / "pylock.toml", knowledge_version="t")


def _no_network(monkeypatch) -> None:
    closed = f"http://127.0.0.1:{_closed_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, closed)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)


def _create(cli, lock_file: Path, prefix: Path, *more: str):
    return cli("create", "--from", str(lock_file), "-p", str(prefix), "--no-smoke", *more)


def test_create_from_a_lock_offline_installs_from_uvs_cache_alone(
    small_lock, local_index, tmp_path, monkeypatch, cli
) -> None:
    cold = _create(cli, small_lock, tmp_path / "cold", "--offline")
    assert cold.code == 2  # the wheel is not in uv's cache, and uv may not fetch it
    assert local_index.requests == []  # uv ran --offline: it asked nothing
    assert "not in its cache" in cold.err and not (tmp_path / "cold").exists()
    hint = [line for line in cold.err.splitlines() if line.startswith("hint:")][-1]  # ours
    assert "without --offline" in hint
    assert _create(cli, small_lock, tmp_path / "online").code == 0  # the hint, followed
    local_index.stop()
    _no_network(monkeypatch)
    warm = _create(cli, small_lock, tmp_path / "warm", "--offline")
    assert warm.code == 0, warm.err
    site = next((tmp_path / "warm").glob("lib/python*/site-packages"))
    assert (site / "nvidia/cuda_runtime/lib/libcudart.so.12").is_file()


def test_pip_says_it_cannot_install_offline(small_lock, tmp_path, cli) -> None:
    prefix = tmp_path / "pip"
    r = _create(cli, small_lock, prefix, "--offline", "--installer", "pip")
    assert r.code == 2
    assert "pip cannot install offline" in r.err and "--installer uv" in r.err
    assert not prefix.exists()


# -- a lock written by uv --------------------------------------------------------------------

_MICRO = sys.version_info[2]
_RUNNING = ".".join(str(n) for n in sys.version_info[:3])


@pytest.mark.skipif(_MICRO == 0, reason="needs an interpreter whose micro version is not 0")
def test_a_uv_pylock_with_python_full_version_markers(make_wheel, wheel_dir, tmp_path, cli):
    """``uv pip compile --format pylock.toml`` writes ``requires-python = ">=X.Y.Z"`` (the
    interpreter it ran for) and keeps ``python_full_version`` markers: read for X.Y.0, the
    lock is refused and the marked package is dropped. cudaenv reads it for the interpreter
    that will run the environment."""
    major, minor = sys.version_info[:2]
    make_wheel("alpha", "1.0", requires_dist=[f"beta; python_full_version >= '{major}.{minor}.1'"])
    make_wheel("beta", "2.0")
    (tmp_path / "req.in").write_text("alpha\n")
    uv = find_uv()
    assert uv is not None
    out = tmp_path / "pylock.toml"
    cmd = [
        str(uv), "pip", "compile", str(tmp_path / "req.in"), "--format", "pylock.toml",
        "--no-index", "--find-links", str(wheel_dir), "--python", sys.executable,
        "-o", str(out), "-q",
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)
    text = out.read_text()
    assert 'created-by = "uv"' in text and f'requires-python = ">={_RUNNING}"' in text
    assert "python_full_version" in text
    prefix = tmp_path / "env"
    r = cli("create", "--from", str(out), "-p", str(prefix), "--no-smoke", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["wheels"] == 2
    site = next(prefix.glob("lib/python*/site-packages"))
    assert list(site.glob("alpha-1.0.dist-info")) and list(site.glob("beta-2.0.dist-info"))
