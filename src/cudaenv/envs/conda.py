"""conda, mamba and micromamba environments: one backend, parameterised by the executable.

The three share the CLI used here (``create -y -q -p PREFIX [-c CHANNEL] SPEC``, and ``info
--json`` with ``channels`` and ``envs_dirs``), so a :class:`CondaTool` value holds the argv that
runs one, and its command lines are plain data that tests compare. conda gives the environment
only ``python=X.Y`` and ``pip``; the locked wheels are then installed with hashes exactly as into
a venv, and activation goes to ``etc/conda``. Channels are the user's: ``conda-forge`` is added
only when the tool reports none configured (micromamba ships no ``.condarc``; recent conda
defaults to none), since ``create`` cannot work without one.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from shutil import which
from typing import TYPE_CHECKING, ClassVar

from cudaenv.envs.base import Env, EnvBackend
from cudaenv.envs.conda_failure import create_failure, output_tail
from cudaenv.errors import EnvError, UsageError
from cudaenv.system import oserrors, process

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Mapping, Sequence

    from packaging.version import Version

__all__ = [
    "DEFAULT_CHANNELS",
    "KINDS",
    "CondaBackend",
    "CondaInfo",
    "CondaTool",
    "MambaBackend",
    "MicromambaBackend",
    "find_tool",
    "prefix_for_name",
]

KINDS = ("conda", "mamba", "micromamba")
# Used only when neither the user nor the tool's configuration names a channel.
DEFAULT_CHANNELS = ("conda-forge",)
_BAD_NAME_CHARS = frozenset("/ :#\\")
_SITE = "import sysconfig; print(sysconfig.get_paths()['platlib'])"


@dataclass(frozen=True, slots=True, kw_only=True)
class CondaInfo:
    """What ``<tool> info --json`` says about channels and where named environments go."""

    channels: tuple[str, ...]
    envs_dirs: tuple[Path, ...]

    @classmethod
    def from_json(cls, text: str) -> CondaInfo:
        """Parse ``info --json`` output (same keys in conda, mamba and micromamba)."""
        try:
            data = json.loads(text)
            channels = tuple(str(c) for c in data.get("channels") or ())
            dirs = tuple(Path(d) for d in data.get("envs_dirs") or ())
        except (ValueError, TypeError, AttributeError) as e:
            what = "could not read the output of `info --json`"
            raise EnvError(what, context=text[-2000:] or None) from e
        return cls(channels=channels, envs_dirs=dirs)


@dataclass(frozen=True, slots=True, kw_only=True)
class CondaTool:
    """One conda-like executable: which kind it is and the argv prefix that runs it."""

    kind: str  # one of KINDS
    argv: tuple[str, ...]  # ("/opt/conda/bin/conda",) or (python, "-m", "conda")

    def info_command(self) -> list[str]:
        return [*self.argv, "info", "--json"]

    def create_command(
        self,
        prefix: Path,
        python_version: Version,
        *,
        channels: Sequence[str] = (),
        offline: bool = False,
    ) -> list[str]:
        """The command that makes an environment with only Python ``X.Y`` and pip at ``prefix``."""
        minor = ".".join(str(n) for n in python_version.release[:2])
        cmd = [*self.argv, "create", "-y", "-q", "-p", str(prefix)]
        for channel in channels:
            cmd += ["-c", channel]
        if offline:
            cmd.append("--offline")
        return [*cmd, f"python={minor}", "pip"]

    def info(self) -> CondaInfo:
        """Run ``info --json`` (cost: one start of the tool, about a second for conda)."""
        done = _run(self.info_command())
        if done.returncode != 0:
            raise EnvError(
                f"`{self.kind} info --json` failed (exit {done.returncode})",
                context=output_tail(done),
                hint=f"check that {self.kind} works: run `{self.kind} info`",
            )
        return CondaInfo.from_json(done.stdout)


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``, output captured, in a process group of its own; on Ctrl-C or SIGTERM the
    group is stopped and reaped first, so that the rollback never races it."""
    try:  # errors="replace": a message in another encoding must not become a traceback
        return process.run(cmd, errors="replace", grace=10)
    except OSError as e:
        raise EnvError(
            f"could not run {cmd[0]}: {e.strerror or e}",
            hint="check CONDA_EXE / MAMBA_EXE, or that the tool is on PATH",
        ) from e


def _running_conda() -> tuple[str, ...] | None:
    """``python -m conda`` for the conda that runs us (``conda cudaenv``), or is importable."""
    if "conda.cli" in sys.modules or importlib.util.find_spec("conda") is not None:
        return (sys.executable, "-m", "conda")
    return None


def _exe_named(path: str | None, kind: str) -> tuple[str, ...] | None:
    if path and Path(path).name == kind and os.access(path, os.X_OK):
        return (path,)
    return None


def find_tool(
    kind: str,
    *,
    environ: Mapping[str, str] | None = None,
    lookup: Callable[[str], str | None] = which,
) -> CondaTool | None:
    """The ``kind`` executable, or None. conda: the conda running us (or importable here),
    then ``CONDA_EXE``, then PATH. mamba, micromamba: PATH, then ``MAMBA_EXE`` when it names
    that tool (micromamba's shell hook sets it to micromamba, mamba 2's to mamba)."""
    if kind not in KINDS:
        raise UsageError(f"unknown conda tool {kind!r}", hint=f"use one of: {', '.join(KINDS)}")
    env = os.environ if environ is None else environ
    found: tuple[str, ...] | None
    if kind == "conda":
        in_conda = "conda.cli" in sys.modules
        found = (in_conda and _running_conda()) or _exe_named(env.get("CONDA_EXE"), "conda")
        found = found or _exe_named(lookup("conda"), "conda") or _running_conda()
    else:
        found = _exe_named(lookup(kind), kind) or _exe_named(env.get("MAMBA_EXE"), kind)
    return CondaTool(kind=kind, argv=found) if found else None


_INSTALL_HINTS = {
    "conda": "install Miniforge (https://conda-forge.org/download/) or set CONDA_EXE",
    "mamba": "install Miniforge, which includes mamba, or use --backend conda",
    "micromamba": "install micromamba (https://mamba.readthedocs.io) or set MAMBA_EXE",
}


def _require_tool(kind: str) -> CondaTool:
    tool = find_tool(kind)
    if tool is None:
        what = f"{kind} was not found (not on PATH, nor named by the environment)"
        raise EnvError(what, hint=_INSTALL_HINTS[kind])
    return tool


def _writable(folder: Path) -> bool:
    """Whether ``folder`` is, or could be made, a writable folder (its nearest existing one)."""
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    return existing is not None and existing.is_dir() and os.access(existing, os.W_OK)


def prefix_for_name(name: str, info: CondaInfo) -> Path:
    """Where conda puts the environment ``-n NAME``: the first writable ``envs_dirs`` entry."""
    if not name or name.startswith(".") or _BAD_NAME_CHARS & set(name):
        raise UsageError(
            f"{name!r} is not a valid conda environment name",
            hint="use letters, digits, '-', '_' and '.'; or give a path with --prefix",
        )
    if name == "base":
        raise UsageError(
            "cudaenv does not make or replace conda's base environment",
            hint="choose another name: the GPU stack belongs in an environment of its own",
        )
    for folder in info.envs_dirs:
        if _writable(folder):
            return folder / name
    raise EnvError(
        "none of conda's envs directories is writable",
        context="\n".join(str(d) for d in info.envs_dirs) or None,
        hint="give a path with --prefix, or add a writable folder with "
        "`conda config --append envs_dirs DIR`",
    )


class CondaBackend(EnvBackend):
    """A conda environment made by ``conda create``; mamba and micromamba differ only by tool."""

    name: ClassVar[str] = "conda"
    # micromamba aborts on a "Non-conda folder exists at prefix": the tool makes the folder.
    makes_own_directory: ClassVar[bool] = True

    def __init__(
        self,
        *,
        tool: CondaTool | None = None,
        channels: Sequence[str] = (),
        offline: bool = False,
    ) -> None:
        self._tool = tool
        self._info: CondaInfo | None = None
        self.channels = tuple(channels)
        self.offline = offline

    @property
    def tool(self) -> CondaTool:
        if self._tool is None:
            self._tool = _require_tool(self.name)
        return self._tool

    def info(self) -> CondaInfo:
        """The tool's ``info --json``, asked once per backend (about a second for conda)."""
        if self._info is None:
            self._info = self.tool.info()
        return self._info

    def channels_for(self, info: CondaInfo) -> tuple[str, ...]:
        """The user's ``--channel`` values; else none (the configured ones); else the default."""
        if self.channels:
            return self.channels
        return () if info.channels else DEFAULT_CHANNELS

    def command(self, prefix: Path, python_version: Version) -> list[str]:
        """The ``create`` command line for this machine (runs ``info --json`` once)."""
        channels = self.channels_for(self.info())
        return self.tool.create_command(
            prefix, python_version, channels=channels, offline=self.offline
        )

    def perform_create(self, prefix: Path, python_version: Version) -> Env:
        cmd = self.command(prefix, python_version)
        done = _run(cmd)
        if done.returncode != 0:
            doing = f"create the {self.name} environment at"
            refused = oserrors.from_output(
                f"{done.stderr or ''}\n{done.stdout or ''}",
                prefix,
                doing=doing,
                flag="-p PATH",
                cls=EnvError,
            )
            raise refused or create_failure(self.tool.kind, done)
        return _open(prefix, self.name)

    def prefix_for_name(self, name: str) -> Path:
        """The prefix of the named environment ``-n NAME`` (runs ``info --json`` once)."""
        return prefix_for_name(name, self.info())


def _open(prefix: Path, backend: str) -> Env:
    python = prefix / "bin" / "python"
    done = _run([str(python), "-c", _SITE]) if python.exists() else None
    if done is None or done.returncode != 0 or not done.stdout.strip():
        raise EnvError(
            f"the conda environment at {prefix} has no working Python",
            context=output_tail(done) if done is not None else None,
            hint="check that the channels provide a `python` package for this platform",
        )
    site = Path(done.stdout.strip())
    return Env(prefix=prefix, python=python, site_packages=site, backend=backend)


class MambaBackend(CondaBackend):
    name: ClassVar[str] = "mamba"


class MicromambaBackend(CondaBackend):
    name: ClassVar[str] = "micromamba"
