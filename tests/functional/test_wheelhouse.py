"""Wheelhouses: ``cudaenv download`` fetches a lock's wheels (hash-checked, resumable), and
``create --from LOCK --find-links DIR --offline`` installs them with no network at all.

Everything is real: the lock is solved on an index on 127.0.0.1, the wheels are downloaded from
it, and for the offline install the index is stopped and every proxy variable points at a
closed port on 127.0.0.1, so any request the installer or cudaenv tried would fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import pty
import socket
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from cudaenv import lock
from tests.functional.fleet_index import PY, build_cpu_index, lock_args
from tests.tools.index_server import IndexServer

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def index(tmp_path: Path):
    with IndexServer(build_cpu_index(tmp_path / "index")) as server:
        yield server


@pytest.fixture
def locked(cli, tmp_path: Path, index: IndexServer) -> Path:
    out = tmp_path / "pylock.toml"
    result = cli(*lock_args(index.url, tmp_path / "cache", out))
    assert result.code == 0, result.err
    return out


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def no_network(tmp_path: Path) -> dict[str, str]:
    proxy = f"http://127.0.0.1:{closed_port()}"
    names = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
    env = dict.fromkeys(names, proxy) | {name.lower(): proxy for name in names}
    return env | {"NO_PROXY": "", "no_proxy": "", "UV_CACHE_DIR": str(tmp_path / "uv-cache")}


def cudaenv(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cudaenv", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
        check=False,
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_then_offline_create_with_no_network(cli, tmp_path, locked, index) -> None:
    house = tmp_path / "house"
    result = cli("download", str(locked), "-d", str(house), "--json")
    assert result.code == 0, result.err
    facts = json.loads(result.out)
    pins = lock.read(locked).pins
    assert (facts["wheels"], facts["downloaded"], facts["present"]) == (len(pins), len(pins), 0)
    assert all(sha256(house / p.wheel.filename) == p.wheel.sha256 for p in pins)
    assert (house / "pylock.toml").read_text() == locked.read_text()
    assert not list(house.glob("*.part"))

    index.clear_log()
    again = cli("download", str(locked), "-d", str(house))
    assert again.code == 0, again.err
    assert f"{len(pins)} already there" in again.out
    assert index.count("/files/") == 0, "complete files with the right hash are not fetched"
    assert "\r" not in again.err and "downloading" not in again.err, "no progress on a pipe"

    # The control: with the index still up, the proxies alone stop an install that needs it.
    control = cudaenv(
        "create",
        "--from",
        str(locked),
        "-p",
        str(tmp_path / "c"),
        "--no-smoke",
        env=no_network(tmp_path),
    )
    assert control.returncode == 2 and "install" in control.stderr, control.stderr
    assert not (tmp_path / "c").exists()

    index.stop()
    prefix = tmp_path / "node env"
    hint = next(ln for ln in again.out.splitlines() if "--offline" in ln)
    assert "--find-links" in hint
    done = cudaenv(
        "create",
        "--from",
        str(house / "pylock.toml"),
        "--find-links",
        str(house),
        "--offline",
        "-p",
        str(prefix),
        "--no-smoke",
        env=no_network(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    site = prefix / f"lib/python{PY}/site-packages"
    for pin in pins:
        assert (site / f"{pin.name.replace('-', '_')}-{pin.version}.dist-info").is_dir(), pin.name
    assert (prefix / "pylock.toml").read_text() == locked.read_text()


def test_a_tampered_or_missing_wheel_is_refused_and_the_hint_repairs(
    cli, tmp_path, locked, index
) -> None:
    house = tmp_path / "house"
    assert cli("download", str(locked), "-d", str(house)).code == 0
    pins = lock.read(locked).pins
    tampered, removed = (house / pins[0].wheel.filename), (house / pins[1].wheel.filename)
    data = bytearray(tampered.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte of a member changed: the zip still opens
    tampered.write_bytes(bytes(data))
    removed.unlink()
    prefix = tmp_path / "env"
    refused = cudaenv(
        "create",
        "--from",
        str(locked),
        "--find-links",
        str(house),
        "--offline",
        "-p",
        str(prefix),
        "--no-smoke",
        env=no_network(tmp_path),
    )
    assert refused.returncode == 2, refused.stderr
    first = refused.stderr.splitlines()[0]
    assert f"1 with another sha256 than the lock's: {tampered.name}" in first
    assert f"1 missing: {removed.name}" in first
    assert not prefix.exists() and "Traceback" not in refused.stderr

    hint = next(ln for ln in refused.stderr.splitlines() if ln.startswith("hint:"))
    command = hint.split("`")[1].split()
    assert command[:2] == ["cudaenv", "download"]
    assert cudaenv(*command[1:]).returncode == 0  # the index is up again where this runs
    assert sha256(tampered) == pins[0].wheel.sha256 and removed.is_file()
    done = cudaenv(
        "create",
        "--from",
        str(locked),
        "--find-links",
        str(house),
        "--offline",
        "-p",
        str(prefix),
        "--no-smoke",
        env=no_network(tmp_path),
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("honour_range", [True, False])
def test_a_partial_file_is_continued_or_restarted(cli, tmp_path, locked, index, honour_range):
    house = tmp_path / "house"
    assert cli("download", str(locked), "-d", str(house)).code == 0
    biggest = max(lock.read(locked).pins, key=lambda p: p.wheel.size or 0)
    final = house / biggest.wheel.filename
    data = final.read_bytes()
    half = len(data) // 2
    (house / f"{final.name}.part").write_bytes(data[:half])
    final.unlink()
    index.honour_range = honour_range
    index.clear_log()
    result = cli("download", str(locked), "-d", str(house), "--json")
    assert result.code == 0, result.err
    facts = json.loads(result.out)
    sent = [r for r in index.requests if r.path.startswith("/files/")]
    assert [(r.path, r.range) for r in sent] == [(f"/files/{final.name}", f"bytes={half}-")]
    if honour_range:
        assert sent[0].status == 206 and facts["resumed"] == 1
        assert facts["received"] == len(data) - half
    else:
        assert sent[0].status == 200 and facts["downloaded"] == 1
        assert facts["received"] == len(data)
    assert final.read_bytes() == data and not list(house.glob("*.part"))


@pytest.mark.parametrize("change", ["same-size", "longer"])
def test_other_bytes_on_the_index_are_refused(cli, tmp_path, locked, index, change) -> None:
    """Other bytes of the locked size fail the hash; a longer body is cut at the lock's size
    (never written past it) and refused there."""
    click = lock.read(locked).pin("click")
    served = index.root / click.wheel.filename
    data = served.read_bytes()
    served.write_bytes(data[:-1] + b"?" if change == "same-size" else data + b"changed")
    house = tmp_path / "house"
    result = cli("download", str(locked), "-d", str(house))
    assert result.code == 2
    assert click.wheel.filename in result.err
    if change == "same-size":
        assert click.wheel.sha256 in result.err
    else:
        assert f"sent more than {len(data):,} bytes (the lock's size)" in result.err
    assert "cudaenv lock --check" in result.err
    assert not (house / click.wheel.filename).exists()
    # the bad bytes are not kept; other wheels stopped halfway keep their .part to resume
    assert not (house / f"{click.wheel.filename}.part").exists()


def test_progress_is_drawn_on_a_terminal(tmp_path, locked) -> None:
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cudaenv", "download", str(locked), "-d", str(tmp_path / "h")],
            stdout=subprocess.PIPE,
            stderr=secondary,
        )
        os.close(secondary)
        out, _ = proc.communicate(timeout=120)
        drawn = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(primary)
    assert proc.returncode == 0
    assert b"\rdownloading" in drawn.replace(b"\x1b[2K", b"") and b"wheels" in drawn
    assert b"downloading" not in out, "stdout keeps the summary only"
