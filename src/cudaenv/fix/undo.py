"""``cudaenv fix --undo``: put an environment back as the before-lock says, the same way.

The last fix recorded its changes in ``PREFIX/.cudaenv-fix/undo.json``. Undoing them is a
plan of its own: what fix added is removed; what it replaced or removed is installed again
from ``pylock.before-fix.toml`` (by URL and sha256, cudaenv's installer), or, for a package
no index has, its files are copied back from ``.cudaenv-fix/undo``; the scripts fix wrote over
get their old text back and those it created go. It runs in the same transaction as a fix
(:func:`cudaenv.fix.apply.changing`): a failure or a signal leaves the fixed environment as
it was. Done, the before-lock and fix's folder are removed: there is nothing left to undo.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from cudaenv.errors import FixError, Remedy
from cudaenv.events import Step, discard
from cudaenv.fix.apply import UNDO_FILE, changing
from cudaenv.fix.before import BEFORE_LOCK
from cudaenv.fix.files import STATE, UNDO, Aside

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cudaenv.envs.base import Env
    from cudaenv.events import Sink
    from cudaenv.fix.installed import Dist
    from cudaenv.net.auth import Credentials
    from cudaenv.resolution import Pin

__all__ = ["Undone", "undo"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Undone:
    """What ``--undo`` did: packages installed again, removed, files put back."""

    installed: tuple[str, ...]  # "name version"
    removed: tuple[str, ...]
    restored: int  # files copied back from .cudaenv-fix/undo
    installer: str | None
    seconds: float


def _record(env: Env) -> dict[str, Any]:
    lock = env.prefix / BEFORE_LOCK
    if not lock.is_file():
        raise FixError(
            f"nothing to undo: {env.prefix} has no {BEFORE_LOCK} (fix has not changed it, or "
            "its change was undone already)",
            hint=f"`cudaenv fix -p {env.prefix} --dry-run` shows what fix would change",
            remedies=(Remedy.run(("cudaenv", "fix", "-p", str(env.prefix), "--dry-run")),),
        )
    try:
        data: dict[str, Any] = json.loads((env.prefix / STATE / UNDO_FILE).read_text())
    except (OSError, ValueError):
        data = {}  # a fix whose change was only the lock (rolled back): the lock alone
    return data


def undo(
    env: Env,
    *,
    installer: str = "auto",
    offline: bool = False,
    credentials: Credentials | None = None,
    sink: Sink = discard,
) -> Undone:
    """Undo the last fix of ``env`` (see the module's docstring)."""
    from cudaenv import lock
    from cudaenv.fix import guard
    from cudaenv.fix import installed as reading
    from cudaenv.pipeline.install import install

    started = time.monotonic()
    guard.check(env, {})  # never the Python cudaenv runs from, nor an externally managed one
    record = _record(env)
    lock_path = env.prefix / BEFORE_LOCK
    before = lock.read(lock_path)
    dists = reading.read(env.site_packages)
    have: dict[str, Dist] = {d.name: d for d in dists}
    changes = record.get("changes") or []
    touched = {canonicalize_name(c["package"]) for c in changes}
    pins = [p for p in before.pins if p.name in touched and _differs(p, have)]
    added = {canonicalize_name(c["package"]) for c in changes if c.get("kind") == "add"}
    leaving = [d for d in dists if d.name in added or any(p.name == d.name for p in pins)]
    restore = [r for r in record.get("restore") or [] if (env.prefix / STATE / UNDO / r).exists()]
    used: dict[str, str | None] = {"installer": None}

    def body(aside: Aside) -> None:
        sink(Step(text=f"putting back what fix changed in {env.prefix}"))
        aside.remove(record.get("created") or [])
        if pins:
            wanted = replace(before, pins=tuple(pins))
            used["installer"] = install(
                wanted, env, installer=installer, offline=offline, credentials=credentials,
                sink=sink,
            )  # fmt: skip
        for rel in restore:
            target = env.prefix / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(env.prefix / STATE / UNDO / rel, target, follow_symlinks=False)

    names = {d.name for d in leaving}
    staying = [d for d in dists if d.name not in names]
    aside, _ = changing(env, leaving, staying, body, lock=lock_path)
    aside.commit([])  # the fixed state is gone for good: there is no undo of an undo
    shutil.rmtree(env.prefix / STATE, ignore_errors=True)
    lock_path.unlink(missing_ok=True)
    return Undone(
        installed=tuple(f"{p.name} {p.version}" for p in pins),
        removed=tuple(f"{d.name} {d.version}" for d in leaving if d.name in added),
        restored=len(restore),
        installer=used["installer"],
        seconds=time.monotonic() - started,
    )


def _differs(pin: Pin, have: Mapping[str, Dist]) -> bool:
    dist = have.get(pin.name)
    return dist is None or dist.version != pin.version
