"""``cudaenv create``: detect -> solve -> lock -> make env -> install(lock) -> activation -> smoke.

``create --tf 2.15`` solves; ``create --from pylock.toml`` reads a lock instead. Both then take
the one path, :func:`materialize`: the lock is written into the new prefix (``PREFIX/pylock.toml``,
where ``doctor`` and ``lock`` find it later), the installer reads that file back, and the
activation scripts are written, all inside the backend's create transaction, so any failure or
Ctrl-C removes the half-made environment. The smoke test runs on the finished environment.
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cudaenv import render
from cudaenv.errors import OK, UsageError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from cudaenv.envs.base import Env, EnvBackend
    from cudaenv.resolution import Resolution

    Say = Callable[[str], None]

NAME = "create"
HELP = "make an environment where TensorFlow/spaCy use the GPU (solve, lock, install, activate)"
ORDER = 40

__all__ = ["HELP", "NAME", "ORDER", "configure", "default_name", "materialize", "run"]

BACKEND_NAMES = ("venv", "conda", "mamba", "micromamba")
LOCK_NAME = "pylock.toml"


def configure(parser: argparse.ArgumentParser) -> None:
    from cudaenv.commands.solve import add_solver_arguments

    add_solver_arguments(parser)  # the same options as ``solve`` and ``lock``
    parser.add_argument(
        "--from", dest="from_lock", metavar="PYLOCK", help="install this lock instead of solving"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("-p", "--prefix", type=Path, help="where to make the environment")
    where.add_argument("-n", "--name", help="environment name (venv: ./NAME; conda: envs dir)")
    parser.add_argument(
        "--backend", choices=BACKEND_NAMES, help="venv (default) or a conda-like tool"
    )
    parser.add_argument(
        "-c", "--channel", action="append", default=[], help="conda channel (conda backends)"
    )
    parser.add_argument(
        "--installer", choices=("auto", "uv", "pip"), default="auto", help="default: uv if found"
    )
    parser.add_argument("--force", action="store_true", help="replace an existing environment")
    parser.add_argument("--no-smoke", action="store_true", help="skip the smoke test")
    parser.add_argument(
        "--require-gpu", action="store_true", help="exit 2 if the smoke test finds no GPU in use"
    )


def run(args: argparse.Namespace) -> int:
    from cudaenv.envs import find_backend
    from cudaenv.envs.base import check_prefix

    backend_name = args.backend or ("conda" if getattr(args, "host", "") == "conda" else "venv")
    options = {"channels": args.channel} if backend_name != "venv" else {}
    backend = find_backend(backend_name, **options)
    prefix = args.prefix if args.name is None else backend.prefix_for_name(args.name)
    if prefix is not None:
        check_prefix(Path(os.path.abspath(prefix)), force=args.force)  # before the slow solve
    resolution, knowledge, lock_file = _resolve(args)
    if prefix is None:
        prefix = backend.prefix_for_name(default_name(resolution))
    say = _say(args)
    env, installer = materialize(
        resolution,
        prefix,
        backend=backend,
        installer=args.installer,
        force=args.force,
        knowledge=knowledge,
        lock_file=lock_file,
        say=say,
    )
    as_json = bool(getattr(args, "json", False))
    facts = _facts(env, resolution, installer)
    if not as_json:
        _summary(facts)
    if args.no_smoke:
        if as_json:
            render.emit_json({**facts, "smoke": None})
        return OK
    return _smoke(env, facts, as_json=as_json, require_gpu=args.require_gpu)


def _quiet(text: str) -> None:
    """Progress lines are left out of --json output."""


def _say(args: argparse.Namespace) -> Say:
    return _quiet if getattr(args, "json", False) else render.line


def _resolve(args: argparse.Namespace) -> tuple[Resolution, Any, Path | None]:
    """(resolution, knowledge or None, the lock file it came from or None)."""
    if args.from_lock:
        if args.tf or args.spacy:
            raise UsageError(
                "--from installs a lock; --tf/--spacy ask for a new solve",
                hint="give either --from PYLOCK or --tf/--spacy, not both",
            )
        return _from_lock(args), None, Path(args.from_lock)
    return (*_solve(args), None)


def _from_lock(args: argparse.Namespace) -> Resolution:
    from cudaenv import knowledge, lock
    from cudaenv.machine import Overrides, detect

    resolution = lock.read(args.from_lock)
    overrides = Overrides.from_env_and_args(driver=args.driver, cuda=args.cuda)
    machine = detect(overrides, driver_to_cuda=knowledge.load().max_cuda_for_driver)
    for warning in lock.check_machine(resolution, machine):
        render.warn(warning)
    return resolution


def _solve(args: argparse.Namespace) -> tuple[Resolution, Any]:
    from cudaenv.commands.solve import request_machine_index_from_args
    from cudaenv.solver import solve

    request, machine, know, index = request_machine_index_from_args(args)
    with index:
        return solve(request, machine, know, index), know


def default_name(resolution: Resolution) -> str:
    """``tf215``, ``spacy37`` or ``tf215-spacy37`` from the pinned framework releases."""
    parts = []
    for name, short in (("tensorflow", "tf"), ("spacy", "spacy")):
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
    knowledge: Any = None,
    lock_file: Path | None = None,
    say: Say | None = None,
) -> tuple[Env, str]:
    """Make the environment for ``resolution`` at ``prefix``, atomically; return (env, installer).

    The lock goes to ``PREFIX/pylock.toml`` (a copy of ``lock_file`` when installing one) and
    the installer reads it back from there: what is installed is what the lock says.
    """
    from cudaenv import activation, lock
    from cudaenv.install import install

    say = say or _quiet
    with backend.creating(prefix, resolution.target.python, force=force) as env:
        say(f"created {backend.name} environment at {env.prefix}")
        written = _write_lock(resolution, env.prefix / LOCK_NAME, knowledge, lock_file)
        locked = lock.read(written)
        used = install(locked, env, installer=installer)
        say(f"installed {len(locked.pins)} locked wheels with {used}")
        activation.write(env, _lines(locked, knowledge))
    return env, used


def _write_lock(resolution: Resolution, path: Path, knowledge: Any, lock_file: Path | None) -> Path:
    from cudaenv import lock

    if lock_file is not None:
        shutil.copyfile(lock_file, path)
        return path
    version = getattr(knowledge, "version", None) or "unknown"
    return lock.write(resolution, path, knowledge_version=str(version))


def _lines(resolution: Resolution, knowledge: Any) -> tuple[Any, ...]:
    """The recipe lines whose run-time needs activation carries (none if recipes are absent)."""
    from cudaenv import activation
    from cudaenv.errors import KnowledgeError

    try:
        return activation.recipe_lines(resolution, knowledge)
    except (ImportError, KnowledgeError):
        return ()


def _smoke(env: Env, facts: dict[str, Any], *, as_json: bool, require_gpu: bool) -> int:
    """Run the smoke test on the finished environment (a failure here leaves it in place)."""
    from cudaenv import smoke
    from cudaenv.commands.smoke import show

    if not as_json:
        render.line("running the smoke test inside the new environment ...")
    report = smoke.run(env)
    code: int = report.exit_code(require_gpu=require_gpu)
    if as_json:
        render.emit_json({**facts, "smoke": report.to_json()})
        return code
    show(report)
    if code != OK:
        prefix = shlex.quote(facts["prefix"])
        render.line(f"the environment is kept; `cudaenv doctor -p {prefix}` says what to fix")
    return code


def activate_command(env: Env) -> str:
    """The command that activates ``env``, quoted for a POSIX shell."""
    if env.is_conda:
        return f"conda activate {shlex.quote(str(env.prefix))}"
    return f". {shlex.quote(str(env.bin_dir / 'activate'))}"


def _facts(env: Env, resolution: Resolution, installer: str) -> dict[str, Any]:
    from cudaenv.lock import format_driver

    floor = resolution.driver_floor
    return {
        "cuda": str(resolution.cuda) if resolution.cuda else None,
        "cudnn": str(resolution.cudnn) if resolution.cudnn else None,
        "driver_floor": format_driver(floor) if floor else None,
        "prefix": str(env.prefix),
        "backend": env.backend,
        "python": str(resolution.target.python),
        "wheels": len(resolution.pins),
        "installer": installer,
        "lock": str(env.prefix / LOCK_NAME),
        "activate": activate_command(env),
    }


def _summary(facts: dict[str, Any]) -> None:
    render.line(f"ready: {facts['prefix']} ({facts['backend']}, Python {facts['python']})")
    if facts["cuda"]:
        render.line(
            f"  stack: CUDA {facts['cuda']}, cuDNN {facts['cudnn']}; "
            f"needs an NVIDIA driver >= {facts['driver_floor']} to use the GPU"
        )
    render.line(f"  lock: {facts['lock']}")
    render.line(f"  activate with: {facts['activate']}")
