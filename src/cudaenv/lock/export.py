"""Exports of a lock for tools that do not read PEP 751: hashed requirements and environment.yml.

Both are functions of the :class:`Resolution` a lock records (as uv keeps ``lock/export`` apart
from the lock), and both keep the lock's guarantee: every wheel by exact URL with its sha256.
Like the lock, they never contain an index's ``user:password@`` (``lock.urls``).

``requirements_txt`` is one line per pin, ``NAME @ URL --hash=sha256:HEX``: pip and uv accept
per-line ``--hash`` options and, once any line has one, refuse an unhashed or mismatching file.

``environment_yml`` puts those same lines in the ``pip:`` section. conda (``conda env create``)
writes the ``pip:`` entries verbatim, one per line, into a temporary requirements file beside the
environment file and runs ``pip install -U -r`` on it (``conda/env/installers/pip.py``), so the
per-line ``--hash`` reaches pip intact; no separate ``-r requirements.txt`` file is needed, and the
export stays a single self-contained file. Each entry is a double-quoted YAML scalar.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from cudaenv import __version__
from cudaenv.lock.urls import without_auth

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cudaenv.resolution import Pin, Resolution

__all__ = ["env_name", "environment_yml", "requirement_line", "requirements_txt", "summary"]


def requirement_line(pin: Pin) -> str:
    """``NAME @ URL --hash=sha256:HEX``: the wheel by exact URL (without any ``user:password@``:
    see ``lock.urls``), checked by hash."""
    return f"{pin.name} @ {without_auth(pin.wheel.url)} --hash=sha256:{pin.wheel.sha256}"


def summary(resolution: Resolution) -> list[str]:
    """The lock's facts as short lines, for export headers and ``lock`` output."""
    r = resolution
    glibc = ".".join(map(str, r.target.glibc))
    out = [
        f"target: Python {r.target.python}, {r.target.platform} "
        f"(installs on glibc ≥ {glibc}, {r.target.arch})"
    ]
    if r.frameworks:
        out.append("frameworks: " + ", ".join(f"{f.name} {f.specifier}" for f in r.frameworks))
    if r.stack.cuda:
        out.append(f"stack: {r.stack_text()}")
    if r.stack.driver_floor:
        needs = f"needs NVIDIA driver >= {r.stack.driver_floor}"
        out.append(needs + (f" (max CUDA >= {r.stack.min_cuda})" if r.stack.min_cuda else ""))
    out += [f"relaxed: {x.text()}" for x in r.relaxed]
    default = without_auth(r.index_url) if r.index_url else None
    sources = r.sources()
    for where, pins in sources.items():
        if where == default:
            out.append(f"index: {where}" + (f" ({len(pins)})" if len(sources) > 1 else ""))
        else:
            out.append(f"from {where}: " + ", ".join(p.name for p in pins))
    return out


def requirements_txt(resolution: Resolution) -> str:
    """A hashed requirements file: ``pip install --no-deps --require-hashes -r FILE``."""
    header = [
        f"# Exported from a cudaenv {__version__} lock: every wheel by exact URL and sha256.",
        "# Install with: pip install --no-deps --require-hashes -r THIS_FILE",
        *(f"# {fact}" for fact in summary(resolution)),
    ]
    return "\n".join([*header, *(requirement_line(p) for p in resolution.pins)]) + "\n"


def env_name(resolution: Resolution) -> str:
    """A default environment name from the frameworks asked for: ``cudaenv-tensorflow-2.15``."""
    name = "-".join(["cudaenv", *(f"{f.name}-{f.text}" for f in resolution.frameworks)])
    return re.sub(r"[^A-Za-z0-9_.]+", "-", name).strip("-.")


def environment_yml(
    resolution: Resolution, *, name: str | None = None, channels: Sequence[str] = ("conda-forge",)
) -> str:
    """A conda environment file: Python and pip from ``channels``, then the hashed wheel lines."""
    quote = json.dumps  # a JSON string is a valid YAML double-quoted scalar
    lines = [
        f"# Exported from a cudaenv {__version__} lock; create with: conda env create -f THIS_FILE",
        *(f"# {fact}" for fact in summary(resolution)),
        f"name: {quote(name or env_name(resolution))}",
        "channels:",
        *(f"  - {quote(c)}" for c in channels),
        "dependencies:",
        f"  - python={resolution.target.python}",
        "  - pip",
        "  - pip:",
        *(f"      - {quote(requirement_line(p))}" for p in resolution.pins),
    ]
    return "\n".join(lines) + "\n"
