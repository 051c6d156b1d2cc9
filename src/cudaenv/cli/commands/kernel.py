"""``cudaenv kernel -p ENV``: register ENV as a Jupyter kernel that starts with its activation.

Parse, call, render: :mod:`cudaenv.activation.kernelspec` writes the kernel spec (``kernel.json``
with the activation's variables in its ``env``) where Jupyter looks (``--user``, the default,
honours ``JUPYTER_DATA_DIR``; ``--prefix P`` is ``P/share/jupyter/kernels``). Without ipykernel in
ENV it says how to add it; ``--install-ipykernel`` adds it from the index, hash-checked, and records
that ENV now differs from its lock (:mod:`cudaenv.pipeline.add`).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from cudaenv.cli import render
from cudaenv.cli.commands._options import default_prefix
from cudaenv.errors import OK, UsageError

if TYPE_CHECKING:
    import argparse

    from cudaenv.envs.base import Env

NAME = "kernel"
HELP = "register an environment as a Jupyter kernel that runs with its activation"
ORDER = 60
EXAMPLES = (
    "kernel -p ./tf215-spacy37",
    "kernel -p ./tf215-spacy37 --install-ipykernel --display-name 'TF 2.15 (GPU)'",
    "kernel -p ./tf215-spacy37 --prefix /opt/jupyterhub",
)

__all__ = ["EXAMPLES", "HELP", "NAME", "ORDER", "configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-p", "--env", dest="env", metavar="ENV", help="the environment (default: the active one)"
    )
    parser.add_argument(  # not dest "name": under conda, that is a conda environment's name
        "--name", dest="kernel_name", help="kernel name (default: from ENV's folder name)"
    )
    parser.add_argument("--display-name", help="name shown in Jupyter")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--user", action="store_true", help="the user's Jupyter data folder (the default)"
    )
    where.add_argument(
        "--prefix", metavar="P", help="under P/share/jupyter/kernels (a Jupyter env)"
    )
    parser.add_argument(
        "--install-ipykernel",
        action="store_true",
        help="add ipykernel (and what it needs) from the index, hash-checked, if missing",
    )
    parser.add_argument("--force", action="store_true", help="replace a kernel of that name")
    parser.add_argument("--index-url", metavar="URL", help="index (default: ENV's lock's)")
    parser.add_argument("--cache-dir", metavar="DIR", help="HTTP cache folder")
    parser.add_argument("--offline", action="store_true", help="use the cache only, no network")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from cudaenv.activation import kernelspec
    from cudaenv.envs.base import Env

    env = Env.from_prefix(Path(default_prefix(args.env, "kernel")))
    name = kernelspec.default_name(env) if args.kernel_name is None else args.kernel_name
    where = kernelspec.kernels_dir(Path(args.prefix) if args.prefix is not None else None)
    kernelspec.check(name=name, where=where, force=args.force)  # before ipykernel is installed
    added = _ensure_ipykernel(env, args)
    display = args.display_name or f"Python {env.site_packages.parent.name[6:]} ({env.prefix.name})"
    folder = kernelspec.register(
        env, name=name, display_name=display, where=where, force=args.force
    )
    if args.json:
        render.emit_json(
            {
                "name": name,
                "display_name": display,
                "kernel": str(folder / "kernel.json"),
                "added": added,
            }
        )
        return OK
    render.line(f"registered Jupyter kernel {name!r} ({display}): {folder / 'kernel.json'}")
    if added:
        render.line(f"  added to {env.prefix} (recorded in pylock.added.toml): {', '.join(added)}")
    return OK


def _ensure_ipykernel(env: Env, args: argparse.Namespace) -> list[str]:
    from cudaenv.activation import kernelspec

    if kernelspec.has_ipykernel(env):
        return []
    if not args.install_ipykernel:
        raise UsageError(
            f"ipykernel is not installed in {env.prefix}: Jupyter could not start this kernel",
            hint=f"add it (from the index, hash-checked) with `{_again(env, args)}`",
        )
    from cudaenv.pipeline.add import add
    from cudaenv.pipeline.steps import IndexOptions

    cache_dir = Path(args.cache_dir) if args.cache_dir else None
    options = IndexOptions(url=args.index_url, cache_dir=cache_dir, offline=args.offline)
    with render.activity(notes=None if args.json else render.line) as sink:
        added = add(env, ["ipykernel"], index=options, sink=sink)
    return [f"{p.name} {p.version}" for p in added]


def _again(env: Env, args: argparse.Namespace) -> str:
    """This command as given, with ``--install-ipykernel``."""
    words = ["cudaenv", "kernel", "-p", str(env.prefix)]
    for flag, value in (
        ("--name", args.kernel_name),
        ("--display-name", args.display_name),
        ("--prefix", args.prefix),
        ("--index-url", args.index_url),
        ("--cache-dir", args.cache_dir),
    ):
        if value is not None:
            words += [flag, str(value)]
    words += [f for f, on in (("--user", args.user), ("--force", args.force)) if on]
    return shlex.join([*words, "--install-ipykernel"])
