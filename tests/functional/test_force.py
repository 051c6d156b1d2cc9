"""--force replaces only what cudaenv made, and never deletes a file an environment does not hold.

Real venvs (stdlib ``venv``, and ones ``cudaenv create`` made), a real lock of wheels served on
127.0.0.1, and the real CLI. The case of the environment cudaenv itself runs from starts a real
``python -m cudaenv`` with that environment's own interpreter.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cudaenv import lock
from cudaenv.envs import INCOMPLETE_MARKER, MARKER
from tests.functional.test_install import pin_for, resolution_of

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def lock_file(tmp_path, make_nvidia_wheel, local_index) -> Path:
    wheel = make_nvidia_wheel("nvidia-cuda-runtime-cu12", "12.2.140", libs=["libcudart.so.12"])
    resolution = resolution_of(pin_for(wheel, local_index))
    return lock.write(resolution, tmp_path / "pylock.toml", knowledge_version="t")


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else b"<dir>"
        for p in root.rglob("*")
        if not p.is_symlink()
    }


def create(cli, lock_file: Path, prefix: Path, *more: str):
    return cli("create", "--from", str(lock_file), "-p", str(prefix), "--no-smoke", *more)


def test_force_never_replaces_a_venv_cudaenv_did_not_make(cli, tmp_path, lock_file):
    proj = tmp_path / "proj"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(proj)], check=True)
    (proj / "src").mkdir()
    (proj / "src" / "important.py").write_text("x\n")
    before = tree(proj)
    result = create(cli, lock_file, proj, "--force")
    assert result.code == 2, result.err
    assert "was not made by cudaenv" in result.err
    assert "Traceback" not in result.err
    assert tree(proj) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj", "pylock.toml", "wheels"]


def test_force_replaces_an_env_cudaenv_made_and_it_carries_the_marker(cli, tmp_path, lock_file):
    prefix = tmp_path / "env"
    assert create(cli, lock_file, prefix).code == 0
    assert (prefix / MARKER).is_file()
    # what using the environment leaves: bytecode of its packages, a changed package file
    site = next(prefix.glob("lib/python3*/site-packages"))
    subprocess.run([str(prefix / "bin/python"), "-m", "compileall", "-q", str(site)], check=True)
    assert list(site.glob("nvidia/cuda_runtime/__pycache__/*.pyc"))
    edited = site / "nvidia" / "cuda_runtime" / "__init__.py"
    edited.unlink()  # a new file, not an edit of uv's hardlinked copy (its cache would keep it)
    edited.write_text("# edited\n")
    again = create(cli, lock_file, prefix, "--force")
    assert again.code == 0, again.err
    assert (site / "nvidia" / "cuda_runtime" / "__init__.py").read_text() != "# edited\n"
    assert (prefix / MARKER).is_file()
    assert not (prefix / INCOMPLETE_MARKER).exists()


@pytest.mark.parametrize(
    ("mine", "named"),
    [
        ("bin/mytool", "bin/mytool"),
        ("lib/python3/site-packages/nvidia/cuda_runtime/lib/notes.txt", None),
        ("lib/python3/site-packages/mine/__init__.py", "lib/python3/site-packages/mine/"),
        ("bin/__pycache__/mytool.cpython-311.pyc", "bin/__pycache__/"),
    ],
)
def test_force_keeps_and_names_a_users_file_at_any_depth(cli, tmp_path, lock_file, mine, named):
    prefix = tmp_path / "env"
    assert create(cli, lock_file, prefix).code == 0
    site = next(prefix.glob("lib/python3*/site-packages")).relative_to(prefix)
    mine = mine.replace("lib/python3/site-packages", str(site))
    (prefix / mine).parent.mkdir(parents=True, exist_ok=True)
    (prefix / mine).write_text("mine\n")
    before = tree(prefix)
    result = create(cli, lock_file, prefix, "--force")
    assert result.code == 2, result.err
    shown = (named or mine).replace("lib/python3/site-packages", str(site))
    assert f"holds files cudaenv did not put there: {shown};" in result.err
    assert tree(prefix) == before
    assert (prefix / mine).read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env", "pylock.toml", "wheels"]


def test_force_on_an_env_of_an_earlier_cudaenv_is_refused_with_the_way_out(
    cli, tmp_path, lock_file
):
    prefix = tmp_path / "env"
    assert create(cli, lock_file, prefix).code == 0
    marker = json.loads((prefix / MARKER).read_text())
    old = {k: marker[k] for k in ("about", "created-by", "version", "backend")}
    (prefix / MARKER).write_text(json.dumps({**old, "entries": sorted(os.listdir(prefix))}))
    before = tree(prefix)
    result = create(cli, lock_file, prefix, "--force")
    assert result.code == 2 and "made by an earlier cudaenv" in result.err
    assert tree(prefix) == before
    hint = next(ln for ln in result.err.splitlines() if ln.startswith("hint:"))
    subprocess.run(hint.split("`")[1], shell=True, check=True)  # the way out, followed
    assert create(cli, lock_file, prefix, "--force").code == 0


def test_force_refuses_an_env_holding_the_users_files_and_names_them(cli, tmp_path, lock_file):
    prefix = tmp_path / "env"
    assert create(cli, lock_file, prefix).code == 0
    (prefix / "src").mkdir()
    (prefix / "src" / "x.py").write_text("mine\n")
    (prefix / "notes.txt").write_text("mine too\n")
    before = tree(prefix)
    result = create(cli, lock_file, prefix, "--force")
    assert result.code == 2
    assert "notes.txt, src/;" in result.err
    assert tree(prefix) == before
    # The hint says to move them out; doing so lets --force go ahead.
    assert "move them out" in result.err
    (prefix / "src").rename(tmp_path / "src")
    (prefix / "notes.txt").rename(tmp_path / "notes.txt")
    again = create(cli, lock_file, prefix, "--force")
    assert again.code == 0, again.err
    assert (tmp_path / "src" / "x.py").read_text() == "mine\n"


def test_force_replaces_a_half_made_env_and_an_empty_folder(cli, tmp_path, lock_file):
    half = tmp_path / "half"
    (half / "bin").mkdir(parents=True)
    (half / INCOMPLETE_MARKER).write_text("stopped")
    assert create(cli, lock_file, half, "--force").code == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    assert create(cli, lock_file, empty, "--force").code == 0
    assert (half / MARKER).is_file() and (empty / MARKER).is_file()


def test_a_marker_that_is_not_cudaenvs_is_refused(cli, tmp_path, lock_file):
    prefix = tmp_path / "env"
    prefix.mkdir()
    (prefix / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (prefix / MARKER).write_text('{"created-by": "someone else", "entries": []}')
    (prefix / "data.csv").write_text("1,2\n")
    before = tree(prefix)
    result = create(cli, lock_file, prefix, "--force")
    assert result.code == 2
    assert tree(prefix) == before


def run_from(env: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """``python -m cudaenv ARGV`` with the interpreter of ``env`` (sys.prefix is ``env``)."""
    import packaging

    import cudaenv

    paths = {str(Path(m.__file__).resolve().parents[1]) for m in (cudaenv, packaging)}
    return subprocess.run(
        [str(env / "bin" / "python"), "-m", "cudaenv", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sorted(paths))},
        check=False,
    )


@pytest.mark.parametrize("made_by_cudaenv", [True, False])
def test_force_on_the_env_cudaenv_runs_from_is_refused(cli, tmp_path, lock_file, made_by_cudaenv):
    env = tmp_path / "running"
    if made_by_cudaenv:
        assert create(cli, lock_file, env).code == 0
    else:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    before = tree(env)
    done = run_from(env, "create", "--from", str(lock_file), "-p", str(env), "--force")
    assert done.returncode == 2, done.stderr
    assert "cudaenv is running from" in done.stderr
    assert "Traceback" not in done.stderr
    assert tree(env) == before


def test_a_second_cudaenv_on_a_prefix_is_refused_while_the_first_works(
    cli, tmp_path, lock_file, local_index
):
    from tests.functional.test_signals import start, wait_until

    prefix = tmp_path / "env"
    assert create(cli, lock_file, prefix).code == 0
    before = tree(prefix)
    local_index.hold("/files/")  # the first one's download of the wheel, with a cache of its own
    first = start(
        "create", "--from", str(lock_file), "-p", str(prefix), "--force", "--no-smoke",
        env={"UV_CACHE_DIR": str(tmp_path / "uv-cache-first")},
    )  # fmt: skip
    try:
        wait_until(local_index.held.is_set, "asked for the wheel", first)
        second = create(cli, lock_file, prefix, "--force")
        assert second.code == 2
        assert second.err.startswith(f"error: another cudaenv is working on {prefix}\n")
        assert "Traceback" not in second.err
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 143, err
    assert tree(prefix) == before, "the first one put the environment back; the second left it"
    assert create(cli, lock_file, prefix, "--force").code == 0, "the lock went with the first"


def test_the_installers_lock_file_is_not_world_writable(cli, tmp_path, lock_file):
    old = os.umask(0)  # uv makes it 0666 whatever the umask
    try:
        assert create(cli, lock_file, tmp_path / "env").code == 0
    finally:
        os.umask(old)
    assert (tmp_path / "env" / ".lock").stat().st_mode & 0o777 == 0o644


def test_without_force_a_folder_cudaenv_did_not_make_is_not_offered_force(cli, tmp_path, lock_file):
    proj = tmp_path / "proj"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(proj)], check=True)
    before = tree(proj)
    result = create(cli, lock_file, proj)
    assert result.code == 2
    assert "was not made by cudaenv" in result.err
    assert "--force" not in result.err.split("hint:")[1]
    assert tree(proj) == before
