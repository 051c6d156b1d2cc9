"""The doctor's values: a :class:`Finding`, and the :class:`Facts` every check reads.

:class:`Facts` also knows the two commands most fixes are made of: how to put a folder on this
environment's library path (its activation when cudaenv wrote one, else an ``export``) and how
to install a requirement into it (``uv pip install --python``), both quoted for the shell.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from packaging.version import Version

    from cudaenv.envs.base import Env
    from cudaenv.knowledge import Knowledge, TfLine
    from cudaenv.knowledge.loglines import Cause
    from cudaenv.machine import Machine
    from cudaenv.smoke.report import SmokeReport

__all__ = ["Facts", "Finding", "Severity"]

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    cause: Cause
    severity: Severity
    message: str
    fix: str

    @classmethod
    def of(cls, cause: Cause, severity: Severity, message: str, fix: str) -> Finding:
        return cls(cause=cause, severity=severity, message=message, fix=fix)

    def to_json(self) -> dict[str, str]:
        return {
            "cause": self.cause,
            "severity": self.severity,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    """Everything the checks look at, gathered once by :func:`cudaenv.doctor.diagnose`."""

    env: Env
    report: SmokeReport
    places: Mapping[str, tuple[tuple[str, Path], ...]]  # soname -> (where, path) copies
    required: frozenset[str]  # sonames the installed frameworks' recipes load
    tf_line: TfLine | None  # the recipe line of the installed TensorFlow
    dists: Mapping[str, Version]  # installed distributions (canonical names)
    machine: Machine
    knowledge: Knowledge
    environ: Mapping[str, str]
    sonames: Mapping[str, tuple[str, ...]]  # soname -> NVIDIA wheels shipping it
    runpath_dirs: frozenset[str] = frozenset()  # folders TensorFlow's own RUNPATH searches

    @property
    def activation(self) -> Path | None:
        """cudaenv's activation script in this env, if it has one."""
        for path in (
            self.env.prefix / "etc" / "conda" / "activate.d" / "cudaenv.sh",
            self.env.bin_dir / "activate",
        ):
            if path.is_file() and "_CUDAENV" in path.read_text(errors="replace"):
                return path
        return None

    def path_fix(self, *folders: Path) -> str:
        """The command that puts ``folders`` on the library path for this env."""
        if self.activation is not None:
            if self.env.is_conda:
                return f"conda activate {shlex.quote(str(self.env.prefix))}"
            return f"source {shlex.quote(str(self.env.bin_dir / 'activate'))}"
        old = "${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        joined = ":".join(str(f) for f in folders)
        return f"export LD_LIBRARY_PATH={shlex.quote(joined)}{old}"

    def install_fix(self, *requirements: str) -> str:
        reqs = " ".join(shlex.quote(r) for r in requirements)
        return f"uv pip install --python {shlex.quote(str(self.env.python))} {reqs}"
