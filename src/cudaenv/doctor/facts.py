"""The doctor's values: a :class:`Finding`, and the :class:`Facts` every check reads.

:class:`Facts` also knows the commands most fixes are made of: how to put a folder on this
environment's library path (its activation when cudaenv wrote one, else an ``export``), how to
install a requirement into it (with the uv cudaenv would use, else the environment's own pip),
which NVIDIA wheel of a library fits its CUDA major, and how to make a new environment beside
it; all quoted for the shell and concrete, so a fix runs as written.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from packaging.version import Version

    from cudaenv.envs.base import Env
    from cudaenv.knowledge import Knowledge, TfLine
    from cudaenv.knowledge.loglines import Cause
    from cudaenv.machine import Machine
    from cudaenv.preload.probe import HookReport
    from cudaenv.smoke.report import SmokeReport

__all__ = ["Facts", "Finding", "Severity"]

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One thing found, the cause it belongs to, and the fix: in words, and as the shell
    commands that make it (``run``, in order, in one shell) where it is one. A fix with no
    commands is an action on the machine (install a driver, start the container with GPUs)."""

    cause: Cause
    severity: Severity
    message: str
    fix: str
    run: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, cause: Cause, severity: Severity, message: str, fix: str, run: tuple[str, ...] = ()
    ) -> Finding:
        return cls(cause=cause, severity=severity, message=message, fix=fix, run=run)

    @classmethod
    def command(cls, cause: Cause, severity: Severity, message: str, command: str) -> Finding:
        """A finding whose fix is one command, shown as it runs."""
        return cls(cause=cause, severity=severity, message=message, fix=command, run=(command,))

    def to_json(self) -> dict[str, str | list[str]]:
        return {
            "cause": self.cause,
            "severity": self.severity,
            "message": self.message,
            "fix": self.fix,
            "run": list(self.run),
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
    hook: HookReport | None = None  # the start-up hook, and what it loaded in a probe

    def hook_loads(self, soname: str) -> bool:
        """Whether the start-up hook loads this environment's ``soname`` before a framework
        asks for it by name (so the loader's search no longer decides which copy it gets)."""
        path = self.hook.loaded_from(soname) if self.hook is not None else None
        return path is not None and self.env.site_packages in path.parents

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

    def activate_command(self) -> str | None:
        """The command that activates this env, if cudaenv's activation is in it."""
        if self.activation is None:
            return None
        if self.env.is_conda:
            return f"conda activate {shlex.quote(str(self.env.prefix))}"
        return f"source {shlex.quote(str(self.env.bin_dir / 'activate'))}"

    def install_fix(self, *requirements: str) -> str:
        """Install into this env with the uv cudaenv would use, else the env's own pip."""
        from cudaenv.system.process import find_uv

        reqs = " ".join(shlex.quote(r) for r in requirements)
        python = shlex.quote(str(self.env.python))
        uv = find_uv()
        if uv is not None:
            return f"{shlex.quote(str(uv))} pip install --python {python} {reqs}"
        return f"{python} -m pip install {reqs}"

    def cuda_majors(self) -> frozenset[int]:
        """The CUDA majors this env's frameworks and runtime wheels are for."""
        found = {self.tf_line.cuda_major} if self.tf_line is not None else set()
        for name in self.dists:
            m = re.fullmatch(r"nvidia-cuda-runtime-cu(\d+)|cupy-cuda(\d+)x", name)
            if m:
                found.add(int(m.group(1) or m.group(2)))
        return frozenset(found)

    def wheel_for(self, soname: str) -> str | None:
        """The requirement that installs ``soname`` for this env's CUDA major: the recipe's own
        pin where a recipe names the wheel (nvidia-curand-cu12==10.3.3.141), else its name."""
        wheels = self.sonames.get(soname, ())
        majors = self.cuda_majors()
        pick = next((w for w in wheels if _cuda_major(w) in majors), wheels[0] if wheels else None)
        if pick is None:
            return None
        recipes = list(self.tf_line.wheels) if self.tf_line is not None else []
        for major in majors:
            cupy = self.knowledge.cupy_for(major)
            recipes += list(cupy.runtime_wheels) if cupy is not None else []
        named = (r for r in recipes if canonicalize_name(r.name) == pick)
        return next((str(r) for r in named), pick)

    def repair_fix(self) -> str:
        """``cudaenv fix`` of this env in place: it keeps every package but the CUDA ones."""
        return f"cudaenv fix -p {shlex.quote(str(self.env.prefix))}"

    def create_fix(self, tf_line: str) -> str:
        """``cudaenv create`` of a new env for TensorFlow ``tf_line`` beside this one."""
        python = self.report.python
        py = f" --python {python.major}.{python.minor}" if python is not None else ""
        where = shlex.quote(f"{self.env.prefix}-cudaenv")
        return f"cudaenv create --tf {tf_line}{py} -p {where}"


def _cuda_major(wheel: str) -> int | None:
    m = re.search(r"-cu(\d+)$", wheel)
    return int(m.group(1)) if m else None
