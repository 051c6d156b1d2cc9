"""Add packages to a finished environment, hash-checked, and record that it now differs from
its lock.

``cudaenv kernel --install-ipykernel`` needs ipykernel in an environment made from a lock that
does not have it. :func:`add` solves the packages asked for with cudaenv's own solver, for the
environment's target, with every package already installed fixed at its installed version (so
nothing in the lock changes), installs only the new pins, by URL and sha256, with no dependency
resolution by the installer, and records them in ``PREFIX/pylock.added.toml`` (a PEP 751 lock of
its own), which ``cudaenv verify`` reads: they are reported as added, not as drift.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement

from cudaenv.errors import UsageError
from cudaenv.events import Note, discard

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cudaenv.envs.base import Env
    from cudaenv.events import Sink
    from cudaenv.pipeline.steps import IndexOptions
    from cudaenv.resolution import Pin, Resolution

__all__ = ["add"]

_LOCK = "pylock.toml"


def add(
    env: Env,
    wanted: Sequence[str],
    *,
    index: IndexOptions,
    installer: str = "auto",
    sink: Sink = discard,
) -> tuple[Pin, ...]:
    """Install ``wanted`` (requirement strings) and what they need into ``env``; return the
    pins installed (none when all are there). The index is ``index.url``, else the one the
    environment's lock was made from. ``sink`` is told the solve's and the install's steps, and
    which wheels are added (a :class:`~cudaenv.events.Note`). Cost: a solve, and the download
    of the new wheels."""
    from cudaenv.envs import busy

    with busy.holding(env.prefix):  # not while another cudaenv replaces or adds to it
        return _add(env, wanted, index=index, installer=installer, sink=sink)


def _add(
    env: Env,
    wanted: Sequence[str],
    *,
    index: IndexOptions,
    installer: str,
    sink: Sink,
) -> tuple[Pin, ...]:
    from cudaenv.machine import Overrides
    from cudaenv.pipeline import steps
    from cudaenv.pipeline.install import install
    from cudaenv.request import Request
    from cudaenv.verify.installed import scan

    base = _base(env)
    have = {d.name: d.version for d in scan(env.site_packages)}
    request = Request(
        frameworks=(),
        target=base.target,
        gpu=False,
        packages=tuple(_parse(text) for text in wanted),
        fixed=tuple(Requirement(f"{name}=={version}") for name, version in have.items()),
    )
    options = replace(index, url=index.url or base.index_url)
    solved = steps.solve(request, Overrides(), options, sink=sink).resolution
    new = tuple(p for p in solved.pins if p.name not in have)
    if not new:
        return ()
    sink(Note(f"adding {len(new)} wheels: {', '.join(f'{p.name} {p.version}' for p in new)}"))
    install(replace(solved, pins=new), env, installer=installer, sink=sink)
    _record(env, replace(solved, pins=new), base)
    return new


def _parse(text: str) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as e:
        raise UsageError(f"{text!r} is not a requirement", hint="e.g. ipykernel>=6") from e


def _base(env: Env) -> Resolution:
    """The environment's lock (its target and index); a bare target for this host without."""
    from cudaenv import lock
    from cudaenv.request import Target, host_platform
    from cudaenv.resolution import Resolution

    path = env.prefix / _LOCK
    if path.is_file():
        return lock.read(path)
    python = env.site_packages.parent.name.removeprefix("python")
    target = Target.from_strings(python, host_platform())
    return Resolution(pins=(), target=target, frameworks=())


def _record(env: Env, added: Resolution, base: Resolution) -> None:
    """Merge ``added`` into ``PREFIX/pylock.added.toml``, the record ``verify`` reads; its
    packages may need those of ``base`` (the environment's lock)."""
    from cudaenv import lock
    from cudaenv.knowledge import load
    from cudaenv.verify import ADDED_LOCK, added_pins

    path = env.prefix / ADDED_LOCK
    before = added_pins(env.prefix, base.pins)
    pins = {p.name: p for p in before} | {p.name: p for p in added.pins}
    note = "packages added after the environment's lock (cudaenv kernel --install-ipykernel)"
    merged = replace(added, pins=tuple(sorted(pins.values(), key=lambda p: p.name)), notes=(note,))
    lock.write(merged, path, knowledge_version=load().version)
