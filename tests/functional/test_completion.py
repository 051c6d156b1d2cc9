"""``cudaenv completion bash|zsh|fish``: scripts generated from the parser, loaded and used by
the real shells (bash's completion function called as bash calls it, fish's completion engine,
and an interactive zsh driven through a pseudo-terminal pressing Tab)."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from cudaenv import cli

if TYPE_CHECKING:
    from pathlib import Path


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)


def _script(tmp_path: Path, shell: str) -> Path:
    done = subprocess.run(
        [sys.executable, "-m", "cudaenv", "completion", shell],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stderr == ""
    path = tmp_path / f"cudaenv.{shell}"
    path.write_text(done.stdout)
    return path


def _need(shell: str) -> str:
    found = shutil.which(shell)
    if found is None:
        pytest.skip(f"{shell} is not installed (scripts/test installs it where it may)")
    return found


BASH = """
source "$1"
complete -p cudaenv
reply() {
    COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=(); _cudaenv; echo "${COMPREPLY[*]}"
}
reply cudaenv cr
reply cudaenv -v cre
reply cudaenv create --back
reply cudaenv create --backend mi
reply cudaenv completion z
reply cudaenv lock --format env
"""


def test_bash_loads_the_script_and_completes_commands_options_and_choices(tmp_path):
    bash = _need("bash")
    script = _script(tmp_path, "bash")
    r = _run(bash, "-c", BASH, "bash", str(script))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout.splitlines() == [
        "complete -o default -F _cudaenv cudaenv",
        "create",
        "create",
        "--backend",
        "micromamba",
        "zsh",
        "environment.yml",
    ]


def test_bash_completes_file_names_where_an_option_names_a_file(tmp_path):
    bash = _need("bash")
    script = _script(tmp_path, "bash")
    (tmp_path / "pylock.gpu.toml").write_text("")
    code = (
        'source "$1"; cd "$2"; COMP_WORDS=(cudaenv create --from pylock.g); COMP_CWORD=3; '
        '_cudaenv; echo "${COMPREPLY[*]}"'
    )
    r = _run(bash, "-c", code, "bash", str(script), str(tmp_path))
    assert r.stdout.strip() == "pylock.gpu.toml", r.stderr


def test_fish_loads_the_script_and_completes(tmp_path):
    fish = _need("fish")
    script = _script(tmp_path, "fish")
    code = (
        "source $argv[1]; or exit 3\n"
        "complete -C 'cudaenv cr'\n"
        "complete -C 'cudaenv create --backend '\n"
        "complete -C 'cudaenv completion '\n"
    )
    r = _run(fish, "--no-config", "-c", code, str(script))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    found = [line.split("\t")[0] for line in r.stdout.splitlines()]
    assert found == ["create", "conda", "mamba", "micromamba", "venv", "bash", "fish", "zsh"]


def test_zsh_loads_the_script_without_error(tmp_path):
    zsh = _need("zsh")
    script = _script(tmp_path, "zsh")
    code = "autoload -Uz compinit && compinit -u -D; source $1 && print -r -- ${_comps[cudaenv]}"
    r = _run(zsh, "-f", "-c", code, "zsh", str(script))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout.strip() == "_cudaenv"


def _type(fd: int, text: str, wait_for: str, timeout: float = 20.0) -> str:
    """Write ``text`` to an interactive shell and read until ``wait_for`` shows (or time out)."""
    os.write(fd, text.encode())
    seen = b""
    end = time.monotonic() + timeout
    while wait_for.encode() not in seen and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    return seen.decode(errors="replace")


def test_zsh_completes_a_command_name_when_tab_is_pressed(tmp_path):
    """An interactive zsh in a pseudo-terminal: `cudaenv cre<Tab>` becomes `cudaenv create `."""
    zsh = _need("zsh")
    script = _script(tmp_path, "zsh")
    pid, fd = pty.fork()
    if pid == 0:  # the child: a clean interactive zsh
        os.execve(zsh, [zsh, "-f", "-i"], {"TERM": "dumb", "HOME": str(tmp_path), "PS1": "> "})
    try:
        _type(fd, f"autoload -Uz compinit && compinit -u -D; source {script}; echo LOADED\n",
              "LOADED\r\n> ")  # fmt: skip
        screen = _type(fd, "cudaenv cre\t", "create")
        assert "cudaenv create" in screen, screen
    finally:
        os.write(fd, b"\x03exit\n")
        os.close(fd)
        os.waitpid(pid, 0)


def test_every_command_is_in_every_script(tmp_path):
    names = [m.NAME for m in cli._command_modules()]
    for shell in ("bash", "zsh", "fish"):
        text = _script(tmp_path, shell).read_text()
        assert all(name in text for name in names), shell
