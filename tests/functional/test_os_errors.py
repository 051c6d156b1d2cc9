"""A file system that says no is an expected failure: exit 2, the path, a hint that fits, and
nothing half-made left behind.

Real failures, made for real: paths under /proc and /sys and under a file; and, in a mount
namespace of the test's own (``unshare -m``: the mounts vanish with it, nothing on the machine
changes), a read-only tmpfs and tmpfs file systems that are full. Root ignores file permissions,
so these are the ways a test that runs as root (CI does) meets EROFS, ENOSPC, EPERM and
ENOTDIR. Each case runs the real ``python -m cudaenv``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cudaenv import lock
from tests.functional.test_install import pin_for, resolution_of

ROOT = Path(__file__).resolve().parents[2]


def _can_mount() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = "mount -t tmpfs -o size=64k none /mnt"
    done = subprocess.run(["unshare", "-m", "sh", "-c", probe], capture_output=True, check=False)
    return done.returncode == 0


MOUNTS = pytest.mark.skipif(
    not _can_mount(), reason="needs `unshare -m` and tmpfs mounts (root, or user namespaces)"
)


@pytest.fixture
def lock_file(tmp_path, make_nvidia_wheel, local_index) -> Path:
    wheel = make_nvidia_wheel("nvidia-cuda-runtime-cu12", "12.2.140", libs=["libcudart.so.12"])
    resolution = resolution_of(pin_for(wheel, local_index))
    return lock.write(resolution, tmp_path / "pylock.toml", knowledge_version="t")


def cudaenv(*argv: str, mount: str | None = None, at: Path | None = None):
    """``python -m cudaenv ARGV``; with ``mount``, inside a mount namespace where tmpfs with
    those options is mounted at ``at``; then ``ls -A`` of ``at`` as cudaenv left it."""
    cmd = [sys.executable, "-m", "cudaenv", *argv]
    if mount is not None:
        assert at is not None
        at.mkdir(parents=True, exist_ok=True)
        script = (
            f"mount -t tmpfs -o {mount} none {shlex.quote(str(at))} || exit 99\n"
            f"{shlex.join(cmd)}\ncode=$?\necho '--- left:' >&2\n"
            f"ls -A {shlex.quote(str(at))} >&2\nexit $code\n"
        )
        cmd = ["unshare", "-m", "sh", "-c", script]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)


def left(err: str) -> list[str]:
    return err.split("--- left:\n", 1)[1].split()


def expected_failure(done, *words: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "this is a bug" not in done.stderr
    message = done.stderr.split("--- left:", 1)[0]
    for word in words:
        assert word in message, message


@pytest.mark.parametrize(
    ("prefix", "words"),
    [
        ("/proc/cudaenv-test/env", ("/proc/cudaenv-test", "does not exist", "-p")),
        ("/sys/cudaenv-test", ("/sys/cudaenv-test", "Operation not permitted", "permissions")),
    ],
)
def test_create_where_the_system_allows_no_folder(lock_file, prefix, words):
    done = cudaenv("create", "--from", str(lock_file), "-p", prefix, "--no-smoke")
    expected_failure(done, *words)


def test_create_under_a_file(tmp_path, lock_file):
    (tmp_path / "notes.txt").write_text("a file, not a folder\n")
    prefix = tmp_path / "notes.txt" / "env"
    done = cudaenv("create", "--from", str(lock_file), "-p", str(prefix), "--no-smoke")
    expected_failure(done, str(prefix), f"{tmp_path / 'notes.txt'} is a file, not a folder")
    assert (tmp_path / "notes.txt").read_text() == "a file, not a folder\n"
    assert "choose another with -p PATH" in done.stderr
    other = cudaenv("create", "--from", str(lock_file), "-p", str(tmp_path / "env"), "--no-smoke")
    assert other.returncode == 0, other.stderr


@MOUNTS
def test_create_on_a_read_only_file_system(tmp_path, lock_file):
    ro = tmp_path / "ro"
    done = cudaenv(
        "create", "--from", str(lock_file), "-p", str(ro / "env"), "--no-smoke",
        mount="size=1m,ro", at=ro,
    )  # fmt: skip
    expected_failure(done, str(ro / "env"), "read-only file system")
    assert left(done.stderr) == []


@MOUNTS
@pytest.mark.parametrize("limit", ["size=1m,nr_inodes=12", "size=48k"])
def test_create_on_a_full_disk_says_the_disk_is_full(tmp_path, lock_file, limit):
    """Out of inodes while venv makes its links, or out of bytes while pip goes in."""
    full = tmp_path / "full"
    done = cudaenv(
        "create", "--from", str(lock_file), "-p", str(full / "env"), "--no-smoke",
        mount=limit, at=full,
    )  # fmt: skip
    expected_failure(done, "No space left on device", "free space", "another disk")
    assert "python3-venv" not in done.stderr
    assert "--installer pip" not in done.stderr
    assert left(done.stderr) == [], "the half-made environment is gone"
    # The hint: choose another with -p PATH on another disk.
    other = cudaenv("create", "--from", str(lock_file), "-p", str(tmp_path / "env"), "--no-smoke")
    assert other.returncode == 0, other.stderr


@MOUNTS
def test_lock_into_a_read_only_folder(tmp_path):
    """``lock -o`` of a solve on the test index (the export path of ``lock`` is the same)."""
    from tests.functional.solve_index import build_index, serve

    server = serve(build_index(tmp_path / "wheels"))
    ro = tmp_path / "ro"
    try:
        done = cudaenv(
            "lock", "--spacy", "3.7", "--cpu", "--python", "3.11",
            "--platform", "manylinux_2_28_x86_64", "--index-url", server.url,
            "--cache-dir", str(tmp_path / "cache"), "-o", str(ro / "pylock.toml"),
            mount="size=1m,ro", at=ro,
        )  # fmt: skip
    finally:
        server.stop()
    assert done.returncode != 99, done.stderr
    expected_failure(done, str(ro / "pylock.toml"), "read-only file system", "-o")
    assert left(done.stderr) == []


@pytest.mark.parametrize("how", ["--cache-dir", "CUDAENV_CACHE_DIR"])
def test_a_cache_dir_that_cannot_be_a_folder(tmp_path, local_index, how):
    blocker = tmp_path / "cache-file"
    blocker.write_text("not a folder\n")
    cache = blocker / "cache"
    args = ["solve", "--spacy", "3.7", "--cpu", "--index-url", local_index.url]
    env = {**os.environ}
    if how == "--cache-dir":
        args += ["--cache-dir", str(cache)]
    else:
        env["CUDAENV_CACHE_DIR"] = str(cache)
    done = subprocess.run(
        [sys.executable, "-m", "cudaenv", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    expected_failure(done, str(cache), f"{blocker} is a file, not a folder", how)


@MOUNTS
def test_a_full_download_cache_names_its_own_disk(tmp_path, lock_file):
    """uv's wheel cache (where downloads go) on a full tmpfs while the environment's disk has
    room: the failure names the cache's disk, and the environment is removed."""
    cache, prefix = tmp_path / "uv-cache", tmp_path / "env"
    script = (
        "import sys\nfrom pathlib import Path\n"
        "from cudaenv import lock\nfrom cudaenv.pipeline.creation import materialize\n"
        "from cudaenv.envs.venv import VenvBackend\nfrom cudaenv.errors import CudaenvError\n"
        "try:\n"
        f"    materialize(lock.read({str(lock_file)!r}), Path({str(prefix)!r}),\n"
        "                backend=VenvBackend(with_pip=False), installer='uv')\n"
        "except CudaenvError as e:\n"
        "    print(e.message, e.hint, sep='\\n', file=sys.stderr)\n"
        "    sys.exit(2)\n"
    )
    cache.mkdir()
    shell = (
        f"mount -t tmpfs -o size=1m,nr_inodes=8 none {shlex.quote(str(cache))} || exit 99\n"
        f"UV_CACHE_DIR={shlex.quote(str(cache))} {shlex.quote(sys.executable)} -c "
        f"{shlex.quote(script)}\n"
    )
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", shell], capture_output=True, text=True, cwd=ROOT, check=False
    )
    expected_failure(done, "No space left on device", f"the disk holding {cache}")
    assert "-p PATH" not in done.stderr, "the environment's path is not the one to change"
    assert not prefix.exists()


@pytest.mark.parametrize("where", ["/proc/cudaenv-test/wheels", "file"])
def test_download_into_a_folder_that_cannot_be(tmp_path, lock_file, where):
    (tmp_path / "file").write_text("a file\n")
    dest = Path(where) if where.startswith("/") else tmp_path / where / "wheels"
    done = cudaenv("download", str(lock_file), "-d", str(dest))
    expected_failure(done, str(dest), "-d DIR")


@MOUNTS
@pytest.mark.parametrize(("options", "says"), [("ro", "read-only"), ("nr_inodes=3", "free space")])
def test_download_onto_a_refusing_file_system(tmp_path, lock_file, options, says):
    disk = tmp_path / "disk"
    done = cudaenv(
        "download", str(lock_file), "-d", str(disk / "wheels"), mount=f"size=1m,{options}", at=disk
    )
    expected_failure(done, str(disk / "wheels"), says, "-d DIR")


@MOUNTS
@pytest.mark.parametrize("verbose", [False, True])
def test_a_full_disk_shows_the_one_line_that_says_so_and_the_rest_under_v(
    tmp_path, lock_file, verbose
):
    cache = tmp_path / "uv-cache"
    cache.mkdir()
    argv = [sys.executable, "-m", "cudaenv", *(["-v"] if verbose else []), "create"]
    argv += ["--from", str(lock_file), "-p", str(tmp_path / "env"), "--no-smoke"]
    shell = (
        f"mount -t tmpfs -o size=1m,nr_inodes=8 none {shlex.quote(str(cache))} || exit 99\n"
        f"UV_CACHE_DIR={shlex.quote(str(cache))} {shlex.join(argv)}\n"
    )
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", shell], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.split("Traceback")[0].splitlines()  # -v adds the traceback
    at = next(i for i, ln in enumerate(lines) if ln.startswith("error: cannot "))
    assert "No space left on device" in lines[at]
    _, context, hint = lines[at : at + 3]
    assert "(os error 28)" in context or "[Errno 28]" in context
    assert hint.startswith(f"hint: the disk holding {cache} is full")
    assert len(lines) == at + 3
    # uv's own lines: shown with -v only (uv's cache is full as venv puts pip in with it)
    assert ("Failed to inspect Python interpreter" in "\n".join(lines[:at])) is verbose


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_a_hash_mismatch_shows_the_one_line_that_says_so(tmp_path, local_index, installer):
    from dataclasses import replace

    from tests.tools.make_wheel import make_wheel

    wheel = make_wheel(tmp_path / "wheels", "app", "1.0")
    pin = pin_for(wheel, local_index)
    pin = replace(pin, wheel=replace(pin.wheel, sha256="0" * 64))
    locked = lock.write(resolution_of(pin), tmp_path / "pylock.toml", knowledge_version="t")
    argv = ["--from", str(locked), "-p", str(tmp_path / "env"), "--installer", installer]
    done = cudaenv("create", *argv, "--no-smoke")
    assert done.returncode == 2
    error, context, hint = done.stderr.splitlines()
    assert error.startswith("error: hash mismatch for app 1.0")
    assert "hash" in context.lower() and hint.startswith("hint: the index or a mirror")
