"""``cudaenv verify``: real environments made from a small lock, then changed the way drift
happens (a file edited in place, ``pip uninstall``, ``pip install`` of another package and of
another version), each difference named; the machine's driver through ``CONDA_OVERRIDE_CUDA``,
the documented override the real detection reads.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from cudaenv import lock
from tests.functional.fleet_index import PY, build_cpu_index, create_gpu_env, lock_args
from tests.tools.index_server import IndexServer
from tests.tools.make_wheel import make_wheel

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def index(tmp_path: Path):
    with IndexServer(build_cpu_index(tmp_path / "index")) as server:
        yield server


def made(cli, tmp_path: Path, index: IndexServer) -> tuple[Path, Path]:
    """(the lock, an environment created from it)."""
    locked = tmp_path / "pylock.toml"
    assert cli(*lock_args(index.url, tmp_path / "cache", locked)).code == 0
    prefix = tmp_path / "env"
    result = cli("create", "--from", str(locked), "-p", str(prefix), "--no-smoke")
    assert result.code == 0, result.err
    return locked, prefix


def pip(prefix: Path, *args: str) -> None:
    cmd = [str(prefix / "bin/python"), "-m", "pip", "--disable-pip-version-check", *args]
    subprocess.run(cmd, check=True, capture_output=True)


def test_a_clean_environment_matches(cli, tmp_path, index) -> None:
    locked, prefix = made(cli, tmp_path, index)
    result = cli("verify", "-p", str(prefix))
    assert result.code == 0, result.out + result.err
    pins = len(lock.read(locked).pins)
    assert f"matches {prefix / 'pylock.toml'}: {pins} packages at their locked versions" in (
        result.out
    )
    data = json.loads(cli("verify", "-p", str(prefix), "--lock", str(locked), "--json").out)
    assert data["matches"] is True and data["differences"] == []
    assert data["packages"] == pins and data["files"] > pins
    assert [i.split()[0] for i in data["ignored"]] == ["pip"]  # venv's ensurepip, not locked


def test_each_kind_of_drift_is_named(cli, tmp_path, index, monkeypatch) -> None:
    # uv hardlinks files from its cache: the edit below reaches this test's cache, not the user's
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    locked, prefix = made(cli, tmp_path, index)
    site = prefix / f"lib/python{PY}/site-packages"
    (site / "thinc/__init__.py").write_text("# edited in place on the node\n")
    pip(prefix, "uninstall", "-y", "click")
    extra = make_wheel(tmp_path / "more", "requests-lite", "2.0")
    older = make_wheel(
        tmp_path / "more", "numpy", "1.26.3", tag=f"cp{PY.replace('.', '')}-none-any"
    )
    pip(prefix, "install", "--no-deps", "--no-index", str(extra), str(older))

    result = cli("verify", "-p", str(prefix))
    assert result.code == 2
    assert "thinc 8.2.5: thinc/__init__.py changed" in result.out
    assert "click 8.1.8: missing" in result.out
    assert "requests-lite 2.0: installed, not in the lock" in result.out
    assert "numpy: 1.26.3 installed, the lock has 1.26.4" in result.out
    assert f"differs from {prefix / 'pylock.toml'} (4):" in result.out

    data = json.loads(cli("verify", "-p", str(prefix), "--json").out)
    assert data["matches"] is False
    kinds = {(d["kind"], d["package"]) for d in data["differences"]}
    assert kinds == {
        ("file", "thinc"),
        ("missing", "click"),
        ("extra", "requests-lite"),
        ("version", "numpy"),
    }

    hint = next(ln for ln in result.out.splitlines() if ln.startswith("remake it exactly"))
    clean, create = hint.split(": ", 1)[1].split(" && ")
    assert clean.split()[1:] == ["cache", "clean", "thinc"]
    subprocess.run(clean, shell=True, check=True, capture_output=True)
    command = shlex.split(create)
    assert command[:2] == ["cudaenv", "create"]
    remade = subprocess.run(
        [sys.executable, "-m", "cudaenv", *command[1:], "--no-smoke"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert remade.returncode == 0, remade.stderr
    assert cli("verify", "-p", str(prefix), "--lock", str(locked)).code == 0


def test_a_deleted_file_and_another_lock(cli, tmp_path, index) -> None:
    locked, prefix = made(cli, tmp_path, index)
    site = prefix / f"lib/python{PY}/site-packages"
    (site / "spacy/__init__.py").unlink()
    result = cli("verify", "-p", str(prefix), "--lock", str(locked))
    assert result.code == 2
    assert "spacy 3.7.5: spacy/__init__.py missing" in result.out


def test_the_driver_floor_is_checked(cli, tmp_path_factory, monkeypatch) -> None:
    prefix = create_gpu_env(tmp_path_factory.mktemp("gpu"))
    monkeypatch.setenv("CONDA_OVERRIDE_CUDA", "12.4")
    assert cli("verify", "-p", str(prefix)).code == 0
    monkeypatch.setenv("CONDA_OVERRIDE_CUDA", "11.8")
    result = cli("verify", "-p", str(prefix), "--json")
    assert result.code == 2
    (difference,) = json.loads(result.out)["differences"]
    assert difference["kind"] == "machine"
    assert "525.60.13" in difference["message"] and "CUDA 11.8" in difference["message"]
