"""The suite's own footprint: where the big-environment tests keep their cache (the user's
cache folder, ``XDG_CACHE_HOME`` honoured), ``./scripts/test --clean-cache`` removing it, and
``scripts/install-test-shells`` saying what it installs with apt-get (a fake ``apt-get`` and
``id`` on a PATH of their own: the real ones would change this machine)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.tools.bigenv import cache_root

ROOT = Path(__file__).resolve().parents[2]


def test_the_test_cache_is_in_the_users_cache_folder(tmp_path):
    home = Path.home() / ".cache" / "cudaenv-tests"
    assert cache_root({}) == home
    assert cache_root({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "cudaenv-tests"
    assert cache_root({"XDG_CACHE_HOME": "relative/dir"}) == home  # the XDG spec ignores it
    chosen = {"XDG_CACHE_HOME": str(tmp_path), "CUDAENV_TEST_CACHE": str(tmp_path / "c")}
    assert cache_root(chosen) == tmp_path / "c"


@pytest.mark.parametrize("variable", ["XDG_CACHE_HOME", "CUDAENV_TEST_CACHE"])
def test_clean_cache_removes_the_cache_the_tests_use(tmp_path, variable):
    environ = {k: v for k, v in os.environ.items() if k != "CUDAENV_TEST_CACHE"}
    environ[variable] = str(tmp_path / "where")
    cache = cache_root(environ)
    (cache / "uv" / "wheels").mkdir(parents=True)
    (cache / "uv" / "wheels" / "big.whl").write_bytes(b"\0" * 4096)
    done = subprocess.run(
        [str(ROOT / "scripts/test"), "--clean-cache"],
        capture_output=True,
        text=True,
        env=environ,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"removing the test cache {cache} (" in done.stdout
    assert not cache.exists() and cache.parent.is_dir()


def _fake_bin(tmp_path: Path, uid: int) -> tuple[Path, Path]:
    """A PATH with bash, an ``id`` that says ``uid``, an ``apt-get`` that records its
    arguments, and no zsh, fish or tcsh."""
    folder, log = tmp_path / "bin", tmp_path / "apt-get.log"
    folder.mkdir()
    bash = shutil.which("bash")
    assert bash is not None
    (folder / "bash").symlink_to(bash)
    (folder / "id").write_text(f"#!{bash}\necho {uid}\n")
    (folder / "apt-get").write_text(f'#!{bash}\necho "$*" >> {log}\n')
    for tool in ("id", "apt-get"):
        (folder / tool).chmod(0o755)
    return folder, log


@pytest.mark.parametrize("uid", [0, 1000])
def test_install_test_shells_says_what_it_installs(tmp_path, uid):
    folder, log = _fake_bin(tmp_path, uid)
    done = subprocess.run(
        [str(folder / "bash"), str(ROOT / "scripts/install-test-shells")],
        capture_output=True,
        text=True,
        env={"PATH": str(folder)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    if uid == 0:
        assert done.stderr == (
            "scripts/test: installing zsh fish tcsh with apt-get (the activation tests run them)\n"
        )
        assert log.read_text().splitlines() == ["update -qq", "install -y -qq zsh fish tcsh"]
    else:
        assert "zsh fish tcsh not installed: their activation tests are skipped" in done.stderr
        assert not log.exists()
