"""The options more than one command takes, and the values they parse into.

``solve``, ``lock`` and ``create`` take the solver options (:func:`add_solver_arguments`) and
turn them into the same :class:`~cudaenv.request.Request`, :class:`~cudaenv.machine.Overrides`
and :class:`~cudaenv.pipeline.steps.IndexOptions`; ``smoke`` and ``doctor`` find the environment the
same way (:func:`add_env_arguments`, :func:`env_prefix`). Paths stay strings here: under
``conda cudaenv``, conda itself reads ``prefix`` and ``name`` as strings. Values only: the
machine, the knowledge base and the index client are made below the CLI
(:mod:`cudaenv.pipeline.steps`). The leading underscore keeps this module out of the command list.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from cudaenv.errors import UsageError

if TYPE_CHECKING:
    import argparse

    from cudaenv.machine import Overrides
    from cudaenv.pipeline.steps import IndexOptions
    from cudaenv.request import Request

__all__ = [
    "add_env_arguments",
    "add_index_arguments",
    "add_solver_arguments",
    "default_prefix",
    "env_prefix",
    "index_from_args",
    "overrides_from_args",
    "request_from_args",
]


def add_solver_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every solving command takes (``solve``, ``lock``, ``create``)."""
    parser.add_argument(
        "--tf",
        metavar="VERSION",
        help="TensorFlow: 2.15 (newest 2.15.x that works), 2.15.1 (exactly) or a specifier",
    )
    parser.add_argument("--torch", metavar="VERSION", help="PyTorch: 2.7, 2.7.1 or a specifier")
    parser.add_argument("--jax", metavar="VERSION", help="JAX: 0.7, 0.7.2 or a specifier")
    parser.add_argument("--spacy", metavar="VERSION", help="spaCy: 3.7, 3.7.5 or a specifier")
    parser.add_argument("--driver", metavar="VERSION", help="resolve for this NVIDIA driver")
    parser.add_argument("--cuda", metavar="VERSION", help="resolve for this max CUDA (12.4)")
    parser.add_argument("--python", metavar="X.Y", help="target Python (default: this one)")
    parser.add_argument(
        "--platform",
        metavar="TAG",
        help="target manylinux tag (default: manylinux_2_28 for this machine's architecture, "
        "which older nodes install too; this machine's glibc where that is older)",
    )
    add_index_arguments(parser)
    parser.add_argument("--cache-dir", metavar="DIR", help="HTTP cache folder")
    parser.add_argument("--offline", action="store_true", help="use the cache only, no network")
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="ask the index about every cached page, even one it said is fresh for a while",
    )
    parser.add_argument("--pre", action="store_true", help="allow pre-releases")
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="a CPU-only stack: no CUDA wheels, no CuPy, no driver needed",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def add_index_arguments(parser: argparse.ArgumentParser) -> None:
    """Where packages come from; what is not given is read from pip's and uv's settings."""
    parser.add_argument(
        "--index-url",
        metavar="URL",
        help="the default index (else PIP_INDEX_URL, UV_DEFAULT_INDEX, pip.conf, uv.toml, PyPI)",
    )
    parser.add_argument(
        "--extra-index-url",
        metavar="URL",
        action="append",
        default=[],
        help="another index, searched before the default one (repeatable)",
    )
    parser.add_argument(
        "--find-links",
        metavar="PATH|URL",
        action="append",
        default=[],
        help="a folder of wheels or an HTML page of links (repeatable)",
    )
    parser.add_argument(
        "--index-strategy",
        choices=("first-index", "unsafe-best-match"),
        help="first-index: each project from the first index that has it (uv's default); "
        "unsafe-best-match: the best version on any index (pip's rule)",
    )


def request_from_args(args: argparse.Namespace) -> Request:
    """``--tf``, ``--torch``, ``--jax``, ``--spacy``, the target and the solver switches; bad
    input is a UsageError."""
    from cudaenv.request import Request

    return Request.from_args(
        tf=args.tf,
        torch=args.torch,
        jax=args.jax,
        spacy=args.spacy,
        python=args.python,
        platform=args.platform,
        pre=args.pre,
        allow_sdist=getattr(args, "allow_sdist", False),  # ``solve`` only
        gpu=not args.cpu,
    )


def overrides_from_args(args: argparse.Namespace) -> Overrides:
    """``--driver``, ``--cuda`` and ``CONDA_OVERRIDE_CUDA``; bad input is a UsageError."""
    from cudaenv.machine import Overrides

    return Overrides.from_env_and_args(driver=args.driver, cuda=args.cuda)


def index_from_args(args: argparse.Namespace) -> IndexOptions:
    """``--index-url``, ``--extra-index-url``, ``--find-links``, ``--index-strategy``,
    ``--cache-dir``, ``--offline``, ``--refresh``."""
    from cudaenv.pipeline.steps import IndexOptions

    cache_dir = Path(args.cache_dir) if args.cache_dir else None
    return IndexOptions(
        url=args.index_url,
        extra_urls=tuple(getattr(args, "extra_index_url", ())),
        find_links=tuple(getattr(args, "find_links", ())),
        strategy=getattr(args, "index_strategy", None),
        cache_dir=cache_dir,
        offline=args.offline,
        refresh=args.refresh,
    )


def add_env_arguments(where: argparse.ArgumentParser | argparse._MutuallyExclusiveGroup) -> None:
    """``-p PREFIX`` or ``-n NAME``: an existing environment (``smoke``, ``doctor``)."""
    where.add_argument(
        "-p", "--prefix", metavar="PREFIX", help="the environment (default: the active one)"
    )
    where.add_argument(
        "-n",
        "--name",
        metavar="NAME",
        help="the environment by name: ./NAME (cudaenv), a conda environment (conda cudaenv)",
    )


def env_prefix(args: argparse.Namespace, command: str) -> str:
    """The environment of ``-n NAME`` (where ``create -n NAME`` makes it: ./NAME, or conda's
    envs folder under ``conda cudaenv``), else :func:`default_prefix`."""
    if getattr(args, "name", None):
        from cudaenv.envs import find_backend

        backend = find_backend("conda" if getattr(args, "host", "") == "conda" else "venv")
        return str(backend.prefix_for_name(args.name))
    return default_prefix(args.prefix, command)


def default_prefix(prefix: str | None, command: str) -> str:
    """``-p``, else the active venv or conda environment; ``command`` names the hint's
    command."""
    chosen = prefix or os.environ.get("VIRTUAL_ENV") or os.environ.get("CONDA_PREFIX")
    if not chosen:
        from cudaenv.doctor.elsewhere import remedies

        raise UsageError(
            "which environment? none is active and no prefix was given",
            remedies=remedies(command),
        )
    return chosen
