"""create fetches ahead, while it solves, the wheels its recipes are sure of, and installs from
disk only what the lock then pins, with the lock's sha256.

Everything is real: the solver's test index on 127.0.0.1 (TensorFlow 2.15 with its NVIDIA
wheels; PyTorch and TensorFlow 2.18 with theirs), real venvs, uv installing. A guess the solve
does not take is a release the index adds on top (tensorflow 2.15.3, which needs a NumPy no one
has, and pins a cuDNN of its own); a mirror that changes bytes is the index's ``tamper``; Ctrl-C
is a real SIGINT to a real ``python -m cudaenv create`` while the solve waits on a held request.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from packaging.version import Version

from cudaenv import knowledge, lock
from cudaenv.index import Index
from cudaenv.request import Request
from cudaenv.wheelhouse.store import Store
from cudaenv.wheelhouse.sure import sure_wheels
from tests.functional.solve_index import (  # noqa: F401 (frameworks_server: a fixture)
    CASE,
    build_index,
    frameworks_server,
    serve,
)
from tests.functional.test_solve_frameworks import run_solve
from tests.tools.make_wheel import make_nvidia_wheel, make_wheel
from tests.tools.signals import python_with_default_signals

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.tools.index_server import IndexServer

ROOT = Path(__file__).resolve().parents[2]
TARGET = ("--python", "3.11", "--platform", "manylinux_2_28_x86_64", "--driver", "535.104.05")
CUDNN = "nvidia_cudnn_cu12-8.9.4.25-py3-none-manylinux1_x86_64.whl"
CUBLAS = "nvidia_cublas_cu12-12.2.5.6-py3-none-manylinux1_x86_64.whl"  # fetched ahead


@pytest.fixture(autouse=True)
def fetch_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    """On, whatever the CPUs of the machine running the tests (by default only with 4 or more)."""
    monkeypatch.setenv("CUDAENV_FETCH_AHEAD", "1")


@pytest.fixture(scope="module")
def tf_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The solver's test index, with a tensorflow 2.15.3 the solve cannot take (numpy>=99)
    whose and-cuda extra pins nvidia-cudnn-cu12 8.9.9.9, which the index also has."""
    dest = build_index(tmp_path_factory.mktemp("ahead-wheels"))
    case = json.loads(CASE.read_text())
    base = next(r for r in case["projects"]["tensorflow"] if r["version"] == "2.15.1")
    needs = [
        "numpy>=99" if r.startswith("numpy") else r.replace("8.9.4.25", "8.9.9.9")
        for r in base["requires_dist"]
    ]
    for tag in case["tags"][base["tags"]]:
        make_wheel(
            dest,
            "tensorflow",
            "2.15.3",
            requires_dist=needs,
            tag=tag,
            provides_extra=["and-cuda"],
            requires_python=base.get("requires_python"),
        )
    make_nvidia_wheel(dest, "nvidia-cudnn-cu12", "8.9.9.9", libs=["libcudnn.so.8"])
    return dest


@pytest.fixture
def server(tf_wheels: Path) -> Iterator[IndexServer]:
    srv = serve(tf_wheels)  # the test's own: it reads the log and changes answers
    try:
        yield srv
    finally:
        srv.stop()


def create_args(server: IndexServer, cache: Path, prefix: Path) -> list[str]:
    return [
        "create",
        "--tf",
        "2.15",
        *TARGET,
        "--index-url",
        server.url,
        "--cache-dir",
        str(cache),
        "--no-smoke",
        "-p",
        str(prefix),
    ]


def installed(prefix: Path) -> set[str]:
    """name-version of every distribution installed into the environment (pip aside: the
    venv's own)."""
    site = next(prefix.glob("lib/python*/site-packages"))
    names = {p.name.removesuffix(".dist-info").lower() for p in site.glob("*.dist-info")}
    return {n for n in names if not n.startswith("pip-")}


def stored(cache: Path) -> list[str]:
    """What the wheel store holds: every file's name (the stamps aside)."""
    return sorted(
        p.name for p in (cache / "wheels").rglob("*") if p.is_file() and p.name != ".verified"
    )


def leftovers(cache: Path) -> list[Path]:
    """Anything of a fetch ahead still there: its temporary folders and partial files."""
    return [*(cache / "wheels").glob(".ahead-*"), *cache.rglob("*.part")]


def backdoored(tmp_path: Path) -> Path:
    """A cuBLAS wheel of the same name and version with one more file: other bytes."""
    return make_nvidia_wheel(
        tmp_path / "other",
        "nvidia-cublas-cu12",
        "12.2.5.6",
        extra_files={"nvidia/cublas/backdoor.py": "x = 1\n"},
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_guess_the_solve_does_not_pin_is_fetched_never_installed_and_removed(
    cli, tmp_path, server, monkeypatch
) -> None:
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv"))
    # the solve waits for a page the guess does not need: the guess's downloads all start
    server.stall(1.0, path="/simple/typing-extensions/")
    cache, prefix = tmp_path / "cache", tmp_path / "env"
    result = cli(*create_args(server, cache, prefix))
    assert result.code == 0, result.err
    pins = {p.name: str(p.version) for p in lock.read(prefix / "pylock.toml").pins}
    assert pins["tensorflow"] == "2.15.1" and pins["nvidia-cudnn-cu12"] == "8.9.4.25"
    fetched = [r.path for r in server.requests if r.path.startswith("/files/") and r.status == 200]
    guessed = ("/files/tensorflow-2.15.3-", "/files/nvidia_cudnn_cu12-8.9.9.9-")
    assert all(any(f.startswith(g) and f.endswith(".whl") for f in fetched) for g in guessed)
    assert installed(prefix) == {f"{n.replace('-', '_')}-{v}" for n, v in pins.items()}
    assert not [f for f in stored(cache) if "2.15.3" in f or "8.9.9.9" in f]
    assert CUBLAS in stored(cache)  # a guess the lock took is kept, and installed from there
    assert "from cudaenv's wheel store" in result.out
    assert leftovers(cache) == []


def same_size_other_bytes(wheel: Path) -> bytes:
    """The wheel with its first file's modification time changed (the local header's two
    bytes at offset 10): a valid wheel of the same files and the size the index states, so
    only the sha256 tells it from the real file."""
    data = bytearray(wheel.read_bytes())
    assert data[:4] == b"PK\x03\x04"
    data[10:12] = bytes(b ^ 0x01 for b in data[10:12])
    return bytes(data)


@pytest.mark.parametrize("other", ["longer", "same size"])
def test_a_wheel_whose_bytes_differ_from_its_sha256_is_refused(
    cli, tmp_path, server, other
) -> None:
    """The index's page gives cuBLAS's sha256 and size, its file server other bytes (a wheel
    with one file more, or the same length changed): the fetch ahead fetches them and refuses
    them, the installer (given the lock's URL) refuses them too, nothing is made or kept."""
    real = server.root / CUBLAS
    bad = backdoored(tmp_path).read_bytes() if other == "longer" else same_size_other_bytes(real)
    assert sha256(bad) != sha256(real.read_bytes())
    server.tamper(CUBLAS, bad)
    # the solve waits for a page the guess does not need: the guess's downloads all start
    server.stall(1.0, path="/simple/typing-extensions/")
    cache, prefix = tmp_path / "cache", tmp_path / "made" / "env"
    result = cli(*create_args(server, cache, prefix), env={"UV_CACHE_DIR": str(tmp_path / "uv")})
    assert result.code == 2
    assert "hash mismatch for nvidia-cublas-cu12 12.2.5.6" in result.err
    whole = [
        r
        for r in server.requests
        if r.path == f"/files/{CUBLAS}" and r.method == "GET" and r.status == 200
    ]
    assert len(whole) == 2  # fetched ahead once, by the installer again
    assert CUBLAS not in stored(cache) and leftovers(cache) == []
    assert not (tmp_path / "made").exists()


def test_a_kept_wheel_changed_on_disk_is_read_again_and_never_installed(
    cli, tmp_path, server, monkeypatch
) -> None:
    """A second environment takes the store's wheels (the installer links what it unpacked of
    them); one whose bytes changed since it was checked is found out, removed, fetched again."""
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv"))
    cache = tmp_path / "cache"
    assert cli(*create_args(server, cache, tmp_path / "one")).code == 0
    kept = next((cache / "wheels").rglob(CUBLAS))
    kept.write_bytes(backdoored(tmp_path).read_bytes())
    result = cli(*create_args(server, cache, tmp_path / "two"))
    assert result.code == 0, result.err
    assert not list((tmp_path / "two").rglob("backdoor.py"))
    assert sha256(kept.read_bytes()) == sha256((server.root / CUBLAS).read_bytes())
    assert "from cudaenv's wheel store" in result.out


def test_ctrl_c_while_the_solve_and_the_downloads_run_leaves_nothing_behind(
    tmp_path, server
) -> None:
    """SIGINT while the solve waits on cuDNN's METADATA and its wheel is being fetched ahead:
    no environment, nothing in the store, no temporary folder or partial file."""
    server.hold(f"/files/{CUDNN}")  # the wheel and its METADATA: neither is ever answered
    server.hold("/files/nvidia_cudnn_cu12-8.9.9.9-")  # what the guess fetches of cuDNN
    cache, prefix = tmp_path / "cache", tmp_path / "env"
    cmd = python_with_default_signals("-m", "cudaenv", *create_args(server, cache, prefix))
    env = {**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv")}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (server.held.is_set() and server.count("/files/nvidia_cublas_cu12-") >= 1):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        assert list((cache / "wheels").glob(".ahead-*")), "downloads under way"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert not prefix.exists()
    assert stored(cache) == [] and leftovers(cache) == []


def test_the_guess_for_tensorflow_and_torch_is_what_their_solve_pins(
    frameworks_server,  # noqa: F811
    tmp_path,
) -> None:
    """TensorFlow 2.18 pins cuDNN 9.3.0.75, torch 2.7 pins 9.5.1.17: the solve relaxes to the
    newer, and so does the guess; every wheel guessed is one the solve pins."""
    solved = run_solve(frameworks_server.url, tmp_path / "cache", tf="2.18", torch="2.7")
    request = Request.from_args(
        tf="2.18", torch="2.7", spacy=None, python="3.11", platform="manylinux_2_28_x86_64"
    )
    with Index(frameworks_server.url, cache_dir=tmp_path / "cache") as client:
        guessed = {
            (x.name, x.version, x.sha256) for x in sure_wheels(request, knowledge.load(), client)
        }
    pinned = {(p.name, p.version, p.wheel.sha256) for p in solved.pins}
    assert guessed <= pinned
    names = {name: version for name, version, _ in guessed}
    assert names["nvidia-cudnn-cu12"] == Version("9.5.1.17")
    assert {"tensorflow", "torch", "nvidia-nccl-cu12", "nvidia-cublas-cu12"} <= set(names)


def test_store_refuses_names_that_leave_it(tmp_path) -> None:
    from cudaenv.resolution import WheelFile

    store = Store(tmp_path / "wheels")
    good = "a" * 64
    assert store.path(WheelFile(filename="x-1-py3-none-any.whl", url="", sha256=good))
    for name, digest in (
        ("../x-1-py3-none-any.whl", good),
        ("x.whl", "../" + good[3:]),
        (".x-1.whl", good),
        ("x-1.tar.gz", good),
    ):
        assert store.path(WheelFile(filename=name, url="", sha256=digest)) is None


def test_a_folder_left_by_a_run_killed_outright_goes_with_the_next(cli, tmp_path, server) -> None:
    """SIGKILL leaves a fetch ahead's temporary folder (nothing runs on the way out); the next
    create removes it, and leaves a running one's alone."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    store = tmp_path / "cache" / "wheels"
    stale, live = store / f".ahead-{gone.pid}-x", store / f".ahead-{os.getpid()}-y"
    for folder in (stale, live):
        (folder / "a").mkdir(parents=True)
        (folder / "a" / "b.whl.part").write_bytes(b"half")
    args = create_args(server, tmp_path / "cache", tmp_path / "env")
    result = cli(*args, env={"UV_CACHE_DIR": str(tmp_path / "uv")})
    assert result.code == 0, result.err
    assert not stale.exists() and live.is_dir()


def test_fetch_ahead_off_fetches_nothing_but_the_store_still_answers(
    cli, tmp_path, server, monkeypatch
) -> None:
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv"))
    cache = tmp_path / "cache"
    assert cli(*create_args(server, cache, tmp_path / "one")).code == 0  # fills the store
    monkeypatch.setenv("CUDAENV_FETCH_AHEAD", "0")
    server.clear_log()
    result = cli(*create_args(server, cache, tmp_path / "two"))
    assert result.code == 0, result.err
    guess = [r for r in server.requests if r.path.startswith("/files/tensorflow-2.15.3-")]
    assert not [r for r in guess if r.path.endswith(".whl")]  # on, it is fetched each time
    assert "from cudaenv's wheel store" in result.out
