"""``cudaenv create``: detect -> solve -> lock -> make env -> install(lock) -> activation -> smoke.

Parse, call, render: the options become values, :mod:`cudaenv.pipeline.creation` runs the pipeline
(``--tf``/``--spacy`` solve, ``--from PYLOCK`` reads a lock; both then take one path), and this
module prints the progress, the summary and the smoke report (:mod:`cudaenv.smoke`).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cudaenv.cli import render
from cudaenv.cli.commands._options import (
    add_solver_arguments,
    index_from_args,
    overrides_from_args,
    request_from_args,
)
from cudaenv.cli.commands._reports import show_smoke
from cudaenv.errors import OK, UsageError

if TYPE_CHECKING:
    import argparse

    from cudaenv.envs.base import Env, EnvBackend
    from cudaenv.events import Sink
    from cudaenv.request import Request

NAME = "create"
HELP = "make an environment where TensorFlow/PyTorch/JAX/spaCy use the GPU (solve ... smoke)"
ORDER = 40
EXAMPLES = (
    "create --tf 2.15 --spacy 3.7",
    "create --from pylock.toml -p ./gpu-env",
    "create --tf 2.12 --python 3.10 -n tf212 --backend conda",
)

__all__ = ["EXAMPLES", "HELP", "NAME", "ORDER", "configure", "run"]

BACKEND_NAMES = ("venv", "conda", "mamba", "micromamba")


def configure(parser: argparse.ArgumentParser) -> None:
    add_solver_arguments(parser)  # the same options as ``solve`` and ``lock``
    parser.add_argument(
        "--from", dest="from_lock", metavar="PYLOCK", help="install this lock instead of solving"
    )
    where = parser.add_mutually_exclusive_group()
    # a string, not a Path: under ``conda cudaenv`` conda reads ``prefix`` and ``name`` itself
    where.add_argument("-p", "--prefix", metavar="PREFIX", help="where to make the environment")
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
    parser.add_argument(
        "--force", action="store_true", help="replace an environment cudaenv made (nothing else)"
    )
    parser.add_argument("--no-smoke", action="store_true", help="skip the smoke test")
    parser.add_argument(
        "--require-gpu", action="store_true", help="exit 2 if the smoke test finds no GPU in use"
    )


def run(args: argparse.Namespace) -> int:
    with render.activity() as sink:
        return _run(args, sink)


def _run(args: argparse.Namespace, sink: Sink) -> int:
    from cudaenv.envs.base import check_prefix
    from cudaenv.events import Step
    from cudaenv.pipeline import creation

    backend = _backend(args)
    sink(Step(text=f"checking where the {backend.name} environment goes"))  # `conda info`
    name_prefix = None if args.name is None else backend.prefix_for_name(args.name)
    prefix = Path(args.prefix) if args.prefix is not None else name_prefix
    if prefix is not None:
        check_prefix(Path(os.path.abspath(prefix)), force=args.force)  # before the slow solve
    index = index_from_args(args)
    wanted, wheelhouse = _wanted(args), _wheelhouse(args)
    with creation.fetching_ahead(index) as ahead:  # what is not kept goes on leaving
        source = creation.resolve_or_read(
            wanted,
            overrides=overrides_from_args(args),
            index=index,
            sink=sink,
            ahead=ahead if wheelhouse is None else None,
        )
        for warning in source.warnings:
            render.warn(warning)
        resolution = source.resolution
        if prefix is None:
            prefix = backend.prefix_for_name(creation.default_name(resolution))
        env, installer = creation.materialize(
            resolution,
            prefix,
            backend=backend,
            installer=args.installer,
            force=args.force,
            knowledge=source.knowledge,
            lock_file=source.lock_file,
            sink=sink,  # its lines of what was done: none with --json or -q
            wheelhouse=wheelhouse,
            offline=index.offline,
            credentials=index.credentials(),
            ahead=ahead,
        )
    as_json = bool(args.json)
    facts = {**creation.facts(env, resolution, installer), "warnings": list(source.warnings)}
    if not as_json:
        _summary(facts)
    if args.no_smoke:
        if as_json:
            render.emit_json({**facts, "smoke": None})
        return OK
    return _smoke(env, facts, as_json=as_json, require_gpu=args.require_gpu, sink=sink)


def _backend(args: argparse.Namespace) -> EnvBackend:
    """``--backend``, else conda under ``conda cudaenv`` and venv under ``cudaenv``."""
    from cudaenv.envs import find_backend

    name = args.backend or ("conda" if getattr(args, "host", "") == "conda" else "venv")
    options = {"channels": args.channel} if name != "venv" else {}
    return find_backend(name, **options)


def _wanted(args: argparse.Namespace) -> Request | Path:
    """The lock of ``--from``, else the request of ``--tf``/``--torch``/``--jax``/``--spacy``
    (not both)."""
    if not args.from_lock:
        return request_from_args(args)
    if args.tf or args.torch or args.jax or args.spacy:
        raise UsageError(
            "--from installs a lock; --tf/--torch/--jax/--spacy ask for a new solve",
            hint="give either --from PYLOCK or the frameworks, not both",
        )
    return Path(args.from_lock)


def _smoke(env: Env, facts: dict[str, Any], *, as_json: bool, require_gpu: bool, sink: Sink) -> int:
    """Run the smoke test on the finished environment (a failure here leaves it in place)."""
    from cudaenv import smoke
    from cudaenv.events import Done

    report = smoke.run(env, sink=sink)  # the status line says so, on a terminal
    sink(Done())
    code: int = report.exit_code(require_gpu=require_gpu)
    if as_json:
        render.emit_json({**facts, "smoke": report.to_json()})
        return code
    show_smoke(report)
    if code != OK:
        prefix = shlex.quote(facts["prefix"])
        render.line(f"the environment is kept; `cudaenv doctor -p {prefix}` says what to fix")
    return code


def _summary(facts: dict[str, Any]) -> None:
    render.line(f"ready: {facts['prefix']} ({facts['backend']}, Python {facts['python']})")
    if facts["stack"]:
        render.line(
            f"  stack: {facts['stack']}; "
            f"needs an NVIDIA driver >= {facts['driver_floor']} to use the GPU"
        )
    for relaxed in facts["relaxed"]:
        render.line(f"  relaxed: {relaxed}")
    for note in facts["notes"]:
        render.line(f"  note: {note}")
    for where, count in facts["sources"].items():
        render.line(f"  from {where}: {count} wheels, installed by {facts['installer']}")
    render.line(f"  lock: {facts['lock']} (wheels for {facts['platform']})")
    render.line(f"  activate with: {facts['activate']}")
    render.line(
        f"  or run {shlex.quote(facts['interpreter'])} as it is: its start-up hook loads the "
        "CUDA libraries (CUDAENV_NO_PRELOAD=1 turns it off)"
    )


def _wheelhouse(args: argparse.Namespace) -> Path | None:
    """With ``--from``, ``--find-links DIR`` is a wheelhouse (``cudaenv download``): the locked
    wheels are installed from its files, each hash-checked, with no index. A solve
    (``--tf``...) reads find-links as a source of wheels instead, and its lock points at them."""
    links: list[str] = list(getattr(args, "find_links", None) or [])
    if not args.from_lock or not links:
        return None
    if len(links) > 1 or "://" in links[0]:
        raise UsageError(
            "with --from, --find-links names one wheelhouse folder",
            hint="give the folder `cudaenv download LOCK -d DIR` filled: --find-links DIR",
        )
    return Path(links[0])
