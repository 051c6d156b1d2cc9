"""Why a conda-like tool failed to create an environment, in its own words, and what to do.

``conda create`` ends a failure with its exception's name and message (``CondaValueError: You
have chosen a non-default solver backend (libmamba) but it was not recognized...``) above a
page of advice. The first line of cudaenv's error is that reason, so that a user sees conda's
cause, not a guess; the hint is chosen by it. mamba and micromamba write no exception name:
their first ``error``/``critical`` line is the reason, else their last line.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from cudaenv.errors import EnvError

if TYPE_CHECKING:
    import subprocess

__all__ = ["create_failure", "output_tail"]

# conda's own reason: its exception's CamelCase name, then its message (first line).
_REASON = re.compile(r"^(?:[a-z_.]+\.)?((?:[A-Z][a-z0-9]+){2,}[A-Za-z]*): (.+)$", re.M)
_MAMBA = re.compile(r"^(?:critical|error)\s+(?:libmamba\s+)?(.+)$", re.M)
_SOLVER = re.compile(r"solver backend \(([\w-]+)\) but it was not recognized")
_CHANNEL_HINT = "check the channels (`conda config --show channels`), or name one with --channel"


def create_failure(kind: str, done: subprocess.CompletedProcess[str]) -> EnvError:
    """The error for a failed ``create``: its first line is the tool's own reason (conda's
    exception message, mamba's error line, else its last line), the hint what to do about it."""
    output = f"{done.stderr or ''}\n{done.stdout or ''}"
    found = _REASON.search(output)
    mamba = _MAMBA.search(output)
    if found:
        exception, said = found[1], found[2].strip()
    else:
        exception, said = "", mamba[1].strip() if mamba else _last_line(output)
    reason, hint = _explain(exception, said)
    failed = f"`{kind} create` failed (exit {done.returncode})"
    return EnvError(
        f"{failed}: {reason}" if reason else failed,
        context=output_tail(done),
        hint=hint,
    )


def _explain(exception: str, said: str) -> tuple[str, str]:
    """(reason, hint) for what the tool said."""
    if solver := _SOLVER.search(said):
        name = solver[1]
        return (
            f"solver backend ({name}) is not installed",
            f"set CONDA_SOLVER=classic, or install conda-{name}-solver",
        )
    if exception.startswith(("PackagesNotFound", "ResolvePackageNotFound")):
        return said, "name a channel that has them with --channel, or choose another --python"
    if exception in ("UnavailableInvalidChannel", "CondaHTTPError", "ChannelError"):
        return said, "check the channel and the network, or name another with --channel"
    return said, _CHANNEL_HINT


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def output_tail(done: subprocess.CompletedProcess[str]) -> str | None:
    """The end of what the tool wrote (stderr, then stdout), for an error's context."""
    return ((done.stderr or "") + (done.stdout or "")).strip()[-2000:] or None
