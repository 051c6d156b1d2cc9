"""The create pipeline: solve (or read a lock) -> lock -> environment -> install -> activation.

``create --tf 2.15`` solves; ``create --from pylock.toml`` reads a lock instead
(:func:`resolve_or_read`). Both then take the one path, :func:`materialize`: the lock is written
into the new prefix (``PREFIX/pylock.toml``, where ``doctor`` and ``lock`` find it later), the
installer reads that file back, and the activation scripts and the start-up hook
(:mod:`cudaenv.preload`: the environment works without activation too) are written, all inside
the backend's create transaction, so any failure or Ctrl-C removes the half-made environment.
``commands/create.py`` parses the options, calls these and renders what they return; the
smoke test then runs on the finished environment. Each step, and a line of what it did, goes to
the caller's sink (:mod:`cudaenv.events`; the terminal's status line).
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from cudaenv.events import Done, Note, Step, discard, size_text

if TYPE_CHECKING:
    from pathlib import Path

    from cudaenv.envs.base import Env, EnvBackend
    from cudaenv.events import Sink
    from cudaenv.knowledge import Knowledge, TfLine
    from cudaenv.machine import Overrides
    from cudaenv.net.auth import Credentials
    from cudaenv.pipeline.steps import IndexOptions
    from cudaenv.request import Request, Target
    from cudaenv.resolution import Resolution
    from cudaenv.wheelhouse.ahead import Ahead

__all__ = [
    "LOCK_NAME",
    "Source",
    "activate_command",
    "default_name",
    "facts",
    "fetching_ahead",
    "materialize",
    "resolve_or_read",
]

LOCK_NAME = "pylock.toml"


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """What an environment is made from: a solve (with its knowledge base) or a lock file;
    ``warnings``: where a lock was made for another machine."""

    resolution: Resolution
    knowledge: Knowledge | None = None
    lock_file: Path | None = None
    warnings: tuple[str, ...] = ()


def resolve_or_read(
    wanted: Request | Path,
    *,
    overrides: Overrides,
    index: IndexOptions,
    sink: Sink = discard,
    ahead: Ahead | None = None,
) -> Source:
    """A solve of the request, or the lock file at that path: closed (every locked package's
    requirements in it; else NotClosedError) and checked against this machine. ``ahead``:
    fetches the wheels the solve is sure to pin while it runs (:func:`fetching_ahead`)."""
    from cudaenv import lock
    from cudaenv.pipeline import steps
    from cudaenv.request import Request
    from cudaenv.system import memory

    if isinstance(wanted, Request):
        solved = steps.solve(wanted, overrides, index, sink=sink, ahead=ahead)
        memory.give_back()  # what the solve freed, before the installer runs beside us
        return Source(resolution=solved.resolution, knowledge=solved.knowledge)
    resolution = lock.read(wanted)  # a lock that records its edges is checked closed here
    if any(p.dependencies is None for p in resolution.pins):  # one that does not: by METADATA
        with replace(index, url=index.url or resolution.index_url).open() as client:
            lock.check_requirements(resolution, client, source=str(wanted))
    machine = steps.detect(overrides, sink=sink)
    warnings = tuple(lock.check_machine(resolution, machine))
    return Source(resolution=resolution, lock_file=wanted, warnings=warnings)


def fetching_ahead(index: IndexOptions) -> Ahead:
    """What fetches, while a solve runs, the wheels it is sure to pin, into the wheel store
    beside the index cache (``--cache-dir``); what the lock then pins of them, and of what
    earlier runs kept there, the installer reads from disk. A context manager: leaving it
    removes everything fetched that the lock did not take."""
    from cudaenv.wheelhouse.ahead import Ahead
    from cudaenv.wheelhouse.store import Store

    return Ahead(Store.beside(index.cache_dir))


def default_name(resolution: Resolution) -> str:
    """``tf215``, ``spacy37``, ``tf218-torch27`` ... from the pinned framework releases."""
    parts = []
    shorts = (("tensorflow", "tf"), ("torch", "torch"), ("jax", "jax"), ("spacy", "spacy"))
    for name, short in shorts:
        pin = resolution.pin(name)
        if pin is not None:
            parts.append(f"{short}{pin.version.major}{pin.version.minor}")
    return "-".join(parts) or "cudaenv"


def materialize(
    resolution: Resolution,
    prefix: Path,
    *,
    backend: EnvBackend,
    installer: str = "auto",
    force: bool = False,
    knowledge: Knowledge | None = None,
    lock_file: Path | None = None,
    wheelhouse: Path | None = None,
    offline: bool = False,
    credentials: Credentials | None = None,
    sink: Sink = discard,
    ahead: Ahead | None = None,
) -> tuple[Env, str]:
    """Make the environment for ``resolution`` at ``prefix``, atomically; return (env, installer).

    The lock goes to ``PREFIX/pylock.toml`` (a copy of ``lock_file`` when installing one) and
    the installer reads it back from there: what is installed is what the lock says (a lock
    from another tool is read for the new environment's own interpreter, whose full version
    its markers may name). ``sink`` is told each step as it starts, and gets a
    :class:`~cudaenv.events.Note` after each (what was done: packages, size, seconds).
    ``wheelhouse``: install the locked wheels from that folder (each checked against the
    lock's sha256 before anything is made), with no index; ``offline`` and ``credentials``
    go to the installer (``offline``: it makes no request at all). ``ahead``: the wheels
    fetched ahead and kept (:func:`fetching_ahead`), installed from disk where the lock pins
    them.
    """
    from cudaenv import activation, lock, preload

    checked = _from_wheelhouse(resolution, wheelhouse, lock_file)
    # read now: the lock may be the one inside the environment --force replaces
    copied = lock_file.read_bytes() if lock_file is not None else None
    sink(Step(text=f"creating the {backend.name} environment", where=prefix))
    with backend.creating(prefix, resolution.target.python, force=force) as env:
        sink(Step(text="writing the lock"))
        sink(Note(f"created {backend.name} environment at {env.prefix}"))
        written = _write_lock(resolution, env.prefix / LOCK_NAME, knowledge, copied)
        locked = lock.read(written, target=_target_of(env, resolution))
        started = time.monotonic()
        options = {"installer": installer, "offline": offline, "credentials": credentials}
        if checked is not None:
            wanted = _same_pins(locked, checked)
            used = _install([wanted], env, sink, find_links=wheelhouse, **options)
            where, kept = f" from {wheelhouse}", ""
        else:
            (used, kept), where = _install_kept(locked, env, ahead, sink, **options), ""
        seconds = time.monotonic() - started
        size = sum(p.wheel.size or 0 for p in locked.pins)
        weight = "; ".join(x for x in (size_text(size) if size else "", kept) if x)
        weight = f" ({weight})" if weight else ""
        sink(Step(text="writing the activation scripts"))
        sink(
            Note(
                f"installed {len(locked.pins)} locked wheels{weight}{where} with {used} "
                f"in {seconds:.1f} s"
            )
        )
        lines = _lines(locked, knowledge)
        activation.write(env, lines)
        sink(Step(text="writing the start-up hook"))
        preload.write(env, lines, knowledge)
    sink(Done())
    return env, used


def _install(rounds: list[Resolution], env: Env, sink: Sink, **options: Any) -> str:
    """Install each resolution in turn (the installer used)."""
    from cudaenv.pipeline.install import install

    used = ""
    for part in rounds:
        used = install(part, env, sink=sink, **options)
    return used


def _install_kept(
    locked: Resolution, env: Env, ahead: Ahead | None, sink: Sink, **options: Any
) -> tuple[str, str]:
    """Install the lock, each wheel the store keeps from disk: first everything but what is
    still being fetched ahead, then that, once it has arrived (the installer unpacks while
    the last bytes arrive). (The installer used, what came from the store.)"""
    from cudaenv.system import memory

    if ahead is None:
        return _install([locked], env, sink, **options), ""
    settled = ahead.settle(locked)
    first = [settled.now] if settled.now.pins or settled.later is None else []
    memory.give_back()  # what the dropped downloads held, before the installer runs beside us
    used = _install(first, env, sink, **options)
    kept = settled.kept
    if settled.later is not None:
        rest, found = ahead.finish(settled.later, sink)
        memory.give_back()
        used, kept = _install([rest], env, sink, **options), kept + found
    if not kept:
        return used, ""
    during = f", {size_text(ahead.fetched_bytes)} of them fetched ahead"
    return used, f"{kept} from cudaenv's wheel store{during if ahead.fetched_bytes else ''}"


def _from_wheelhouse(
    resolution: Resolution, wheelhouse: Path | None, lock_file: Path | None
) -> Resolution | None:
    """The pins pointing at the wheelhouse's files, each hash-checked (WheelhouseError)."""
    if wheelhouse is None:
        return None
    from cudaenv import wheelhouse as house

    return house.local(resolution, wheelhouse, lock_file=str(lock_file or LOCK_NAME))


def _same_pins(locked: Resolution, checked: Resolution) -> Resolution:
    """``checked`` (the wheelhouse's files) if it pins what the written lock pins."""

    def key(r: Resolution) -> list[tuple[str, str]]:
        return [(p.wheel.filename, p.wheel.sha256) for p in r.pins]

    if key(locked) != key(checked):  # the lock written is a copy of the one checked
        raise AssertionError("the lock changed between the wheelhouse check and the install")
    return checked


def _target_of(env: Env, resolution: Resolution) -> Target:
    """The lock's target, on the environment's own interpreter (its full version)."""
    from cudaenv.system import process

    probe = [str(env.python), "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"]
    done = process.run(probe, text=True)
    version = done.stdout.strip()
    return resolution.target.on_interpreter(version) if done.returncode == 0 else resolution.target


def _write_lock(
    resolution: Resolution, path: Path, knowledge: Knowledge | None, copied: bytes | None
) -> Path:
    from cudaenv import lock

    if copied is not None:
        path.write_bytes(copied)
        return path
    version = (knowledge.version if knowledge is not None else "") or "unknown"
    return lock.write(resolution, path, knowledge_version=version, flag="-p PATH")


def _lines(resolution: Resolution, knowledge: Knowledge | None) -> tuple[TfLine, ...]:
    """The recipe lines whose run-time needs activation carries (none if recipes are absent)."""
    from cudaenv import activation
    from cudaenv.errors import KnowledgeError

    try:
        return activation.recipe_lines(resolution, knowledge)
    except (ImportError, KnowledgeError):
        return ()


def activate_command(env: Env) -> str:
    """The command that activates ``env``, quoted for a POSIX shell."""
    if env.is_conda:
        return f"conda activate {shlex.quote(str(env.prefix))}"
    return f". {shlex.quote(str(env.bin_dir / 'activate'))}"


def facts(env: Env, resolution: Resolution, installer: str) -> dict[str, Any]:
    """What ``create`` reports about the finished environment (its ``--json`` keys)."""
    return {
        **resolution.stack.to_json(),  # cuda, cudnn, built_with, driver_floor: as solve --json
        "stack": resolution.stack_text(),
        "prefix": str(env.prefix),
        "backend": env.backend,
        "python": str(resolution.target.python),
        "platform": resolution.target.platform,
        "wheels": len(resolution.pins),
        "sources": {where: len(pins) for where, pins in resolution.sources().items()},
        "installer": installer,
        "lock": str(env.prefix / LOCK_NAME),
        "activate": activate_command(env),
        "interpreter": str(env.python),  # works unactivated too: the start-up hook
        "relaxed": [x.text() for x in resolution.relaxed],
        "notes": list(resolution.notes),
    }
