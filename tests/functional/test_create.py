"""create: the materialize path end to end, and its atomicity (failures, Ctrl-C, --force).

Environments are real venvs; wheels come from a real index on 127.0.0.1. The Ctrl-C test runs a
real ``python -m cudaenv create --from`` subprocess against a server that stalls mid-download,
so SIGINT (or SIGTERM) arrives while the installer is running.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from packaging.version import Version

from cudaenv import lock
from cudaenv.envs import INCOMPLETE_MARKER
from cudaenv.envs.venv import VenvBackend
from cudaenv.errors import InstallError
from cudaenv.pipeline.creation import default_name, materialize
from tests.functional.test_install import PY, pin_for, resolution_of
from tests.tools.signals import python_with_default_signals

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pins(make_nvidia_wheel, local_index):
    wheels = [
        make_nvidia_wheel("nvidia-cuda-runtime-cu12", "12.2.140", libs=["libcudart.so.12"]),
        make_nvidia_wheel("nvidia-cudnn-cu12", "8.9.4.25", libs=["libcudnn.so.8"]),
    ]
    return [pin_for(w, local_index) for w in wheels]


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_materialize_locks_installs_and_activates(tmp_path, pins):
    resolution = resolution_of(*pins)
    env, used = materialize(resolution, tmp_path / "tf", backend=VenvBackend(with_pip=False))
    assert used == "uv"
    assert lock.read(env.prefix / "pylock.toml").pins == resolution.pins
    assert (env.site_packages / "nvidia/cudnn/lib/libcudnn.so.8").is_file()
    activate = (env.bin_dir / "activate").read_text()
    assert str(env.site_packages / "nvidia/cudnn/lib") in activate
    assert not (env.prefix / INCOMPLETE_MARKER).exists()


def test_install_failure_leaves_no_prefix(tmp_path, pins):
    runtime, cudnn = pins
    tampered = replace(cudnn, wheel=replace(cudnn.wheel, sha256=hashlib.sha256(b"x").hexdigest()))
    prefix = tmp_path / "new" / "tf"
    with pytest.raises(InstallError, match="hash"):
        materialize(resolution_of(runtime, tampered), prefix, backend=VenvBackend(with_pip=False))
    assert not prefix.exists()
    assert not (tmp_path / "new").exists(), "parent folders made for it go too"


def test_existing_prefix_is_refused_with_exit_2_and_unchanged(cli, tmp_path, pins):
    lock_file = lock.write(resolution_of(*pins), tmp_path / "pylock.toml", knowledge_version="t")
    prefix = tmp_path / "env"
    VenvBackend(with_pip=False).create(prefix, PY)
    before = tree(prefix)
    result = cli("create", "--from", str(lock_file), "-p", str(prefix), "--no-smoke")
    assert result.code == 2
    assert "never changed without --force" in result.err
    assert tree(prefix) == before
    (prefix / "notes.txt").write_text("mine")  # now --force would refuse too: no hint offers it
    result = cli("create", "--from", str(lock_file), "-p", str(prefix), "--no-smoke")
    assert result.code == 2
    assert "holds files cudaenv did not put there: notes.txt;" in result.err
    assert "--force" not in result.err.split("hint:")[1]


def test_from_and_tf_together_is_a_usage_error(cli, tmp_path):
    result = cli("create", "--from", "pylock.toml", "--tf", "2.15", "-p", str(tmp_path / "e"))
    assert result.code == 2
    assert "--from installs a lock" in result.err
    assert not (tmp_path / "e").exists()


def test_default_name_from_the_pins(pins):
    assert default_name(resolution_of(*pins)) == "cudaenv"
    tf = replace(pins[0], name="tensorflow", version=type(pins[0].version)("2.15.1"))
    assert default_name(resolution_of(tf, *pins)) == "tf215"


class _Stall(BaseHTTPRequestHandler):
    """Serves HEAD and Range requests (uv reads metadata that way), but a whole-file download
    sends its first bytes and then waits: an install that is under way."""

    files: dict[str, bytes]
    hit: threading.Event
    release: threading.Event

    def _body(self) -> bytes:
        return type(self).files[self.path.rsplit("/", 1)[-1]]

    def _headers(self, status: int, length: int, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(length))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()

    def do_HEAD(self) -> None:
        self._headers(200, len(self._body()))

    def do_GET(self) -> None:
        body = self._body()
        spec = (self.headers.get("Range") or "").removeprefix("bytes=")
        if spec:
            first, _, last = spec.partition("-")
            start = len(body) - int(last) if not first else int(first)
            stop = len(body) - 1 if not first or not last else min(int(last), len(body) - 1)
            span = {"Content-Range": f"bytes {start}-{stop}/{len(body)}"}
            self._headers(206, stop - start + 1, span)
            self.wfile.write(body[start : stop + 1])
            return
        self._headers(200, len(body))
        self.wfile.write(body[:100])
        self.wfile.flush()
        type(self).hit.set()
        type(self).release.wait(120)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def stalling_server(wheel_dir, pins):
    files = {p.name: p.read_bytes() for p in wheel_dir.glob("*.whl")}
    events = {"hit": threading.Event(), "release": threading.Event(), "files": files}
    handler = type("Handler", (_Stall,), events)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, handler
    finally:
        handler.release.set()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_while_installing_leaves_no_prefix(tmp_path, pins, stalling_server, signum):
    server, handler = stalling_server
    base = f"http://127.0.0.1:{server.server_port}/files/"
    slow = [replace(p, wheel=replace(p.wheel, url=base + p.wheel.filename)) for p in pins]
    lock_file = lock.write(resolution_of(*slow), tmp_path / "pylock.toml", knowledge_version="t")
    prefix = tmp_path / "parent" / "env"
    cmd = python_with_default_signals("-m", "cudaenv", "create", "--from", str(lock_file))
    proc = subprocess.Popen(
        [*cmd, "-p", str(prefix), "--no-smoke", "--installer", "uv"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a cache of its own: uv must ask the stalling server, not find the wheels cached
        env={**os.environ, "CUDAENV_DRIVER": "550.54.15", "UV_CACHE_DIR": str(tmp_path / "uv")},
    )
    try:
        while not handler.hit.wait(0.2):
            assert proc.poll() is None, proc.communicate()[1]
        assert (prefix / INCOMPLETE_MARKER).exists(), "halfway: the env exists, marked"
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == (130 if signum == signal.SIGINT else 143), err
    assert ("interrupted" if signum == signal.SIGINT else "terminated") in err
    assert not prefix.exists()
    assert not (tmp_path / "parent").exists()


def test_force_replaces_an_existing_env(cli, tmp_path, pins):
    lock_file = lock.write(resolution_of(*pins), tmp_path / "pylock.toml", knowledge_version="t")
    prefix = tmp_path / "env"
    VenvBackend(with_pip=False).create(prefix, PY)
    (prefix / "pyvenv.cfg").write_text("edited\n")  # venv's own file
    result = cli("create", "--from", str(lock_file), "-p", str(prefix), "--force", "--no-smoke")
    assert result.code == 0, result.err
    assert (prefix / "pyvenv.cfg").read_text() != "edited\n"
    assert (prefix / "pylock.toml").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env", "pylock.toml", "wheels"]
    assert f". {prefix}/bin/activate" in result.out


def test_create_from_lock_runs_the_smoke_test_under_activation(cli, tmp_path, pins):
    import json

    lock_file = lock.write(resolution_of(*pins), tmp_path / "pylock.toml", knowledge_version="t")
    prefix = tmp_path / "with smoke"
    result = cli("create", "--from", str(lock_file), "-p", str(prefix), "--json")
    data = json.loads(result.out)
    assert data["prefix"] == str(prefix)
    assert data["activate"] == f". '{prefix}/bin/activate'"
    loaded = {x["soname"]: x for x in data["smoke"]["libraries"]}
    assert loaded["libcudart.so.12"]["loaded"], loaded  # dlopen by soname under the activation
    assert str(prefix) in loaded["libcudart.so.12"]["path"]
    assert result.code == 0, result.err  # no GPU is not "broken"
    assert not (prefix / INCOMPLETE_MARKER).exists()

    again = cli("create", "--from", str(lock_file), "-p", str(prefix), "--force", "--require-gpu")
    assert again.code == 2  # fake libraries give no GPU, and --require-gpu says so
    assert "activate with: . " in again.out
    assert f"`cudaenv doctor -p '{prefix}'`" in again.out
    assert (prefix / "pylock.toml").is_file(), "a smoke failure leaves the finished env in place"


def test_name_and_default_prefix_are_in_the_current_folder(cli, tmp_path, pins, monkeypatch):
    lock_file = lock.write(resolution_of(*pins), tmp_path / "pylock.toml", knowledge_version="t")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    named = cli("create", "--from", str(lock_file), "-n", "myenv", "--no-smoke")
    assert named.code == 0, named.err
    unnamed = cli("create", "--from", str(lock_file), "--no-smoke")
    assert unnamed.code == 0, unnamed.err
    assert sorted(p.name for p in work.iterdir()) == ["cudaenv", "myenv"]
    bad = cli("create", "--from", str(lock_file), "-n", "a/b", "--no-smoke")
    assert bad.code == 2
    assert "not an environment name" in bad.err


def test_create_tf_and_spacy_solves_locks_installs_and_activates(cli, tmp_path, monkeypatch):
    """The whole flow on the solver's test index: detect (--driver) -> solve -> lock -> venv ->
    install(lock) -> activation, into the default ./tf215-spacy37."""
    from tests.functional.solve_index import build_index, serve

    server = serve(build_index(tmp_path / "wheels"))
    monkeypatch.chdir(tmp_path)
    try:
        result = cli(
            "create", "--tf", "2.15", "--spacy", "3.7", "--driver", "535.104.05",
            "--python", "3.11", "--platform", "manylinux_2_28_x86_64",
            "--index-url", server.url, "--cache-dir", str(tmp_path / "cache"), "--no-smoke",
        )  # fmt: skip
    finally:
        server.stop()
    assert result.code == 0, result.err
    prefix = tmp_path / "tf215-spacy37"
    locked = lock.read(prefix / "pylock.toml")
    assert locked.pin("tensorflow").version == Version("2.15.1")
    site = next(prefix.glob("lib/python3.11/site-packages"))
    installed = {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}
    assert {p.name.replace("-", "_") for p in locked.pins} <= installed
    assert "activate with: . " in result.out
    assert "stack: CUDA 12.2, cuDNN 8.9; needs an NVIDIA driver >= 525.60.13" in result.out
    assert (prefix / "bin" / "activate").read_text().count("_CUDAENV_ACTIVE") >= 2


def test_index_serving_other_bytes_fails_with_exit_2_and_no_prefix(
    cli, tmp_path, pins, make_nvidia_wheel
):
    """The lock was made, then the index's file changed (same name, other bytes)."""
    lock_file = lock.write(resolution_of(*pins), tmp_path / "pylock.toml", knowledge_version="t")
    make_nvidia_wheel(
        "nvidia-cudnn-cu12",
        "8.9.4.25",
        libs=["libcudnn.so.8"],
        extra_files={"nvidia/cudnn/backdoor.py": "print('not what was locked')\n"},
    )
    prefix = tmp_path / "made" / "env"
    result = cli("create", "--from", str(lock_file), "-p", str(prefix), "--no-smoke")
    assert result.code == 2
    assert "hash mismatch for nvidia-cudnn-cu12 8.9.4.25" in result.err
    assert not prefix.exists()
    assert not (tmp_path / "made").exists()
