"""What an environment's start-up hook does when it runs: ``cudaenv doctor``'s view of it.

:func:`probe` starts the environment's own Python as the caller's environment would, wakes the
hook there (``_cudaenv_preload.preload()``, as the first import of a framework does) and reads
its :func:`~cudaenv.preload.hook.report`: which libraries it loaded from the environment, which
a copy from elsewhere answered to first (``LD_PRELOAD``, a module imported before the hook), and
which did not load. An environment without the hook's files reports ``present=False`` and runs
nothing.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cudaenv.preload import HOOK_MODULE, written_by

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cudaenv.envs.base import Env

__all__ = ["HookReport", "probe"]

_CODE = (
    "import json, sys\n"
    f"import {HOOK_MODULE} as hook\n"
    "sys.stdout.write(json.dumps(hook.preload(trigger='cudaenv doctor')) + '\\n')\n"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class HookReport:
    """The hook in one environment, and what it did in a probe there."""

    present: bool
    written_by: str | None = None  # "cudaenv 0.1.0"
    disabled: bool = False  # CUDAENV_NO_PRELOAD was set
    planned: int = 0  # libraries its plan lists
    loaded: tuple[tuple[str, Path], ...] = ()  # (soname, file) from the environment
    elsewhere: tuple[tuple[str, Path], ...] = ()  # (soname, the other file that came first)
    failed: tuple[tuple[str, str], ...] = ()  # (soname, error)
    changed: tuple[tuple[str, str], ...] = ()  # (variable, value it set)
    error: str | None = None  # the probe itself did not run

    def loaded_from(self, soname: str) -> Path | None:
        """The environment's file the hook loaded for ``soname``, if it loaded one."""
        return next((p for s, p in self.loaded if s == soname), None)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, present_as: str | None) -> HookReport:
        loaded = tuple((str(s), Path(p)) for s, p in data.get("loaded", ()))
        return cls(
            present=True,
            written_by=present_as,
            disabled=bool(data.get("disabled")),
            planned=int(data.get("planned") or 0),
            loaded=loaded,
            elsewhere=tuple((str(s), Path(p)) for s, p in data.get("elsewhere", ())),
            failed=tuple((str(x[0]), str(x[-1])) for x in data.get("failed", ())),
            changed=tuple((str(n), str(v)) for n, v in data.get("changed", ())),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "present": self.present,
            "written_by": self.written_by,
            "disabled": self.disabled,
            "planned": self.planned,
            "loaded": [{"soname": s, "path": str(p)} for s, p in self.loaded],
            "elsewhere": [{"soname": s, "path": str(p)} for s, p in self.elsewhere],
            "failed": [{"soname": s, "error": e} for s, e in self.failed],
            "changed": [{"name": n, "value": v} for n, v in self.changed],
            "error": self.error,
        }


def probe(env: Env, environ: Mapping[str, str], *, timeout: float = 120) -> HookReport:
    """Wake the hook in ``env``'s Python under ``environ`` and return what it did. Cost: one
    interpreter start and the loads of the environment's NVIDIA libraries (a second or less)."""
    from cudaenv.system import process

    present = written_by(env.site_packages)
    if present is None:
        return HookReport(present=False)
    cmd = [str(env.python), "-c", _CODE]
    try:
        done = process.run(cmd, env=dict(environ), text=True, timeout=timeout)
        data = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.TimeoutExpired, IndexError, ValueError) as e:
        return HookReport(present=True, written_by=present, error=f"{type(e).__name__}: {e}")
    return HookReport.from_json(data, present_as=present)
