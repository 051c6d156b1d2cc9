"""Signals: Ctrl-C (SIGINT) and SIGTERM leave nothing behind and exit 130 and 143.

Real ``python -m cudaenv`` processes are signalled while they are busy: a solve held on a real
index on 127.0.0.1 that stalls a page (its cache must then hold no temporary file), and a
smoke test whose probe's own child hangs in ``import tensorflow`` (every process cudaenv
started, the probe's children included, must be gone).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from packaging.version import Version

from cudaenv.envs.venv import VenvBackend
from tests.functional.solve_index import build_index, serve
from tests.tools.signals import python_with_default_signals

ROOT = Path(__file__).resolve().parents[2]
PY = Version(f"{sys.version_info[0]}.{sys.version_info[1]}")
CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


def start(*argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        python_with_default_signals("-m", "cudaenv", *argv),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(condition, what: str, proc: subprocess.Popen[str], limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert proc.poll() is None, f"cudaenv ended before {what}: {proc.communicate()[1]}"
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_index(tmp_path_factory.mktemp("signal-wheels"))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_solve_leaves_no_temporary_file(tmp_path, wheels, signum):
    server = serve(wheels)
    server.hold("/simple/thinc")  # asked for once spacy's page and METADATA are read
    cache = tmp_path / "cache"
    try:
        proc = start(
            "solve", "--tf", "2.15", "--spacy", "3.7", "--driver", "535.104.05",
            "--python", "3.11", "--platform", "manylinux_2_28_x86_64",
            "--index-url", server.url, "--cache-dir", str(cache),
        )  # fmt: skip
        try:
            wait_until(server.held.is_set, "asked for the stalled page", proc)
            proc.send_signal(signum)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    finally:
        server.stop()
    assert proc.returncode == CODES[signum], err
    assert "Traceback" not in err
    assert ("interrupted" if signum == signal.SIGINT else "terminated") in err
    assert [p for p in cache.rglob("*") if p.is_file()], "the pages read before were cached"
    assert [p.name for p in cache.rglob("*") if ".tmp" in p.name] == []


@pytest.fixture
def hanging_env(tmp_path) -> Path:
    """A real venv whose ``tensorflow`` writes its pid and then hangs in import."""
    env = VenvBackend(with_pip=False).create(tmp_path / "hang", PY)
    package = env.site_packages / "tensorflow"
    package.mkdir()
    (package / "__init__.py").write_text(
        "import os, pathlib, time\n"
        "pathlib.Path(os.environ['HANG_PIDS']).open('a').write(f'{os.getpid()}\\n')\n"
        "time.sleep(600)\n"
    )
    return env.prefix


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_smoke_stops_every_child(tmp_path, hanging_env, signum):
    pids = tmp_path / "pids"
    proc = start("smoke", "-p", str(hanging_env), "--quick", env={"HANG_PIDS": str(pids)})
    try:
        wait_until(lambda: pids.exists() and pids.read_text().strip(), "started TF", proc)
        hung = int(pids.read_text().split()[0])
        assert alive(hung)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
        deadline = time.monotonic() + 30
        while alive(hung) and time.monotonic() < deadline:
            time.sleep(0.05)
        survived = alive(hung)
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in pids.read_text().split() if pids.exists() else ():
            if alive(int(pid)):
                os.kill(int(pid), signal.SIGKILL)
    assert proc.returncode == CODES[signum], err
    assert not survived, "the probe's child outlived cudaenv"
    assert "Traceback" not in err


class _HalfServer:
    """Serves one wheel on 127.0.0.1 the way an index's file host does (HEAD, ranges for its
    METADATA), but a whole download stops halfway and hangs: the installer is then stopped
    mid-unpack. ``half_sent`` is set once a download is halfway."""

    def __init__(self, wheel: Path) -> None:
        import http.server
        import threading

        data, self.half_sent, self._done = wheel.read_bytes(), threading.Event(), threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                self._head(200, len(data))

            def do_GET(self) -> None:
                ranged = self.headers.get("Range", "").removeprefix("bytes=")
                if not ranged:
                    self._head(200, len(data))
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    outer.half_sent.set()
                    outer._done.wait(120)
                    return
                first, _, last = ranged.partition("-")
                if not first:  # bytes=-N: the last N
                    start, end = max(len(data) - int(last), 0), len(data) - 1
                else:
                    start, end = int(first), min(int(last or len(data) - 1), len(data) - 1)
                self._head(206, end - start + 1, f"bytes {start}-{end}/{len(data)}")
                self.wfile.write(data[start : end + 1])

            def _head(self, status: int, length: int, content_range: str = "") -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(length))
                self.send_header("Accept-Ranges", "bytes")
                if content_range:
                    self.send_header("Content-Range", content_range)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def file_url(self, filename: str) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}/files/{filename}"

    def stop(self) -> None:
        self._done.set()
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_an_install_leaves_nothing_in_uvs_cache(tmp_path, signum):
    from cudaenv import lock
    from tests.functional.test_install import resolution_of
    from tests.tools.make_wheel import make_wheel
    from tests.tools.pins import pin_for

    blobs = {f"big/part{i}.bin": os.urandom(256 * 1024) for i in range(16)}  # 4 MiB, unpacked
    wheel = make_wheel(tmp_path / "wheels", "big", "1.0", files=blobs)
    server = _HalfServer(wheel)
    uv_cache = tmp_path / "uv-cache"
    try:
        lock_file = lock.write(
            resolution_of(pin_for(wheel, server)), tmp_path / "pylock.toml", knowledge_version="t"
        )
        proc = start(
            "create", "--from", str(lock_file), "-p", str(tmp_path / "env"), "--no-smoke",
            env={"UV_CACHE_DIR": str(uv_cache)},
        )  # fmt: skip
        try:
            wait_until(server.half_sent.is_set, "downloaded half the wheel", proc)
            wait_until(lambda: list(uv_cache.glob(".tmp*/big/*.bin")), "unpacked a part", proc)
            proc.send_signal(signum)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    finally:
        server.stop()
    assert proc.returncode == CODES[signum], err
    assert not (tmp_path / "env").exists()
    assert [p.name for p in uv_cache.iterdir() if p.name.startswith(".tmp")] == []
