"""envs: the registry, prefix checks, the atomic create transaction, and the venv backend."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from packaging.version import Version

from cudaenv.envs import BACKENDS, INCOMPLETE_MARKER, Env, EnvBackend, Terminated, find_backend
from cudaenv.envs.base import check_prefix
from cudaenv.envs.venv import VenvBackend, find_python, safe_prompt
from cudaenv.errors import EnvError, UsageError

if TYPE_CHECKING:
    from pathlib import Path

PY = Version(f"{sys.version_info[0]}.{sys.version_info[1]}")


class Scripted(EnvBackend):
    """A backend that writes a file and then does what the test asks (the base is under test)."""

    name = "scripted"

    def __init__(self, then=None):
        self.then = then
        self.seen_marker = False

    def perform_create(self, prefix: Path, python_version: Version) -> Env:
        self.seen_marker = (prefix / INCOMPLETE_MARKER).exists()
        (prefix / "bin").mkdir()
        (prefix / "bin" / "python").write_text("")
        if self.then is not None:
            self.then()
        return Env(prefix=prefix, python=prefix / "bin/python", site_packages=prefix, backend="x")


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_registry_is_lazy_and_complete():
    assert "venv" in BACKENDS
    assert BACKENDS["venv"] is VenvBackend
    assert isinstance(find_backend("auto", with_pip=False), VenvBackend)


def test_unknown_backend_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown environment backend 'nope'"):
        find_backend("nope")


def test_success_leaves_env_without_marker(tmp_path: Path):
    backend = Scripted()
    env = backend.create(tmp_path / "deep" / "env", PY)
    assert backend.seen_marker, "the marker must exist while the backend works"
    assert env.prefix == tmp_path / "deep" / "env"
    assert (env.prefix / "bin/python").exists()
    assert not (env.prefix / INCOMPLETE_MARKER).exists()


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_any_failure_removes_everything_made(tmp_path: Path, exc: BaseException):
    def fail():
        raise exc

    with pytest.raises(type(exc)):
        Scripted(fail).create(tmp_path / "a" / "b" / "env", PY)
    assert list(tmp_path.iterdir()) == [], "the parents we made go too"


def test_failure_in_the_with_body_rolls_back(tmp_path: Path):
    prefix = tmp_path / "env"
    with pytest.raises(ValueError), Scripted().creating(prefix, PY) as env:
        assert (env.prefix / INCOMPLETE_MARKER).exists()
        raise ValueError("install failed")
    assert not prefix.exists()


def test_sigterm_rolls_back_and_restores_handler(tmp_path: Path):
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated):
        Scripted(lambda: os.kill(os.getpid(), signal.SIGTERM)).create(tmp_path / "env", PY)
    assert not (tmp_path / "env").exists()
    assert signal.getsignal(signal.SIGTERM) is before


def test_existing_prefix_refused_and_untouched(tmp_path: Path):
    prefix = tmp_path / "env"
    Scripted().create(prefix, PY)
    before = snapshot(prefix)
    with pytest.raises(EnvError, match="never changed without --force") as e:
        Scripted().create(prefix, PY)
    assert "add --force" in (e.value.hint or "")
    assert snapshot(prefix) == before


def test_without_force_the_hint_offers_force_only_where_it_would_replace(tmp_path: Path):
    prefix = tmp_path / "env"
    Scripted().create(prefix, PY)
    (prefix / "mine.txt").write_text("keep")
    before = snapshot(prefix)
    with pytest.raises(EnvError, match=r"holds files cudaenv did not put there: mine\.txt") as e:
        Scripted().create(prefix, PY)
    assert "--force" not in (e.value.hint or "")
    assert snapshot(prefix) == before
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.tex").write_text("years of work")
    with pytest.raises(EnvError, match="not made by cudaenv") as e:
        check_prefix(tmp_path / "docs", force=False)
    assert "--force" not in (e.value.hint or "")


@pytest.mark.parametrize("where", ["/", "home", "cwd"])
def test_the_root_home_and_current_folders_are_named_for_what_they_are(
    where, tmp_path, monkeypatch
):
    from pathlib import Path

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    prefix = {"/": Path("/"), "home": tmp_path / "home", "cwd": tmp_path / "work"}[where]
    what = {"/": "the root folder", "home": "your home folder", "cwd": "the current folder"}
    with pytest.raises(EnvError, match=f"is {what[where]}, not an environment; it is kept") as e:
        check_prefix(prefix, force=True)
    assert "running from" not in e.value.message


def test_force_replaces_and_failed_force_puts_old_back(tmp_path: Path):
    prefix = tmp_path / "env"
    Scripted().create(prefix, PY)
    (prefix / "bin" / "python").write_text("old")  # a file cudaenv made, changed
    before = snapshot(prefix)

    def fail():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        Scripted(fail).create(prefix, PY, force=True)
    assert snapshot(prefix) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env"], "no backup left behind"

    Scripted().create(prefix, PY, force=True)
    assert (prefix / "bin" / "python").read_text() == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env"]


def test_force_never_deletes_a_folder_that_is_not_an_env(tmp_path: Path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.tex").write_text("years of work")
    with pytest.raises(EnvError, match="not made by cudaenv"):
        check_prefix(tmp_path / "docs", force=True)
    assert (tmp_path / "docs" / "thesis.tex").read_text() == "years of work"


@pytest.mark.parametrize("bad", ["a:b", "a\nb"])
def test_prefix_that_cannot_go_on_ld_library_path(tmp_path: Path, bad: str):
    with pytest.raises(UsageError):
        check_prefix(tmp_path / bad, force=False)


def test_safe_prompt_keeps_nothing_a_shell_expands():
    assert safe_prompt("tf215") == "tf215"
    assert safe_prompt("a $(touch x) `y` 'q'") == "a___touch_x___y___q_"


def test_find_python_finds_the_running_version():
    found = find_python(PY)
    assert found.exists()


def test_find_python_says_how_to_get_a_missing_one():
    with pytest.raises(EnvError) as err:
        find_python(Version("3.99"))
    assert "Python 3.99" in err.value.message
    assert "uv python install 3.99" in (err.value.hint or "")


def test_venv_backend_makes_a_real_venv(tmp_path: Path):
    env = VenvBackend(with_pip=False).create(tmp_path / "v", PY)
    assert env.backend == "venv"
    assert env.python.exists()
    assert env.site_packages.is_dir()
    assert env.site_packages.is_relative_to(env.prefix)
    assert Env.from_prefix(env.prefix) == env
    assert not (env.prefix / INCOMPLETE_MARKER).exists()


def test_from_prefix_refuses_a_plain_folder(tmp_path: Path):
    with pytest.raises(EnvError, match="not a Python environment"):
        Env.from_prefix(tmp_path)


def test_venv_of_another_python_version(tmp_path: Path):
    """The target's Python, not ours (pyenv shims for unselected versions fail and are skipped)."""
    other = Version("3.12") if PY != Version("3.12") else Version("3.11")
    try:
        find_python(other)
    except EnvError:
        pytest.skip(f"no Python {other} on this machine")
    env = VenvBackend(with_pip=False).create(tmp_path / "other", other)
    assert env.site_packages.parent.name == f"python{other}"


def test_venv_with_pip_has_a_working_pip(tmp_path: Path) -> None:
    # Installed from the interpreter's own ensurepip wheel by uv (fast), or by ensurepip.
    env = VenvBackend().create(tmp_path / "with pip", PY)
    done = subprocess.run(
        [str(env.python), "-m", "pip", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert str(env.site_packages) in done.stdout


def test_one_cudaenv_at_a_time_on_a_prefix_whatever_its_spelling(tmp_path, monkeypatch):
    from cudaenv.envs import busy

    monkeypatch.setenv("CUDAENV_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with busy.holding(tmp_path / "real" / "env"):
        assert busy.lock_path(tmp_path / "link" / "env") == busy.lock_path(
            tmp_path / "real" / "sub" / ".." / "env"
        )
        with pytest.raises(EnvError, match=r"another cudaenv is working on .*link/env"):
            with busy.holding(tmp_path / "link" / "env"):
                pass
        with busy.holding(tmp_path / "real" / "other"):  # another prefix: its own lock
            pass
    assert list((tmp_path / "cache" / "locks").iterdir()) == [], "released and removed"
    with busy.holding(tmp_path / "link" / "env"):
        pass


def test_without_a_writable_lock_folder_cudaenv_goes_on(tmp_path, monkeypatch):
    from cudaenv.envs import busy

    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("CUDAENV_CACHE_DIR", str(tmp_path / "file"))
    with busy.holding(tmp_path / "env"):
        pass
