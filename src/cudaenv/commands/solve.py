"""``cudaenv solve``: detect -> solve, and show the pinned set without writing anything.

The solver options live here, in :func:`add_solver_arguments`, and the values they make in
:func:`request_machine_index_from_args`, so ``lock`` and ``create`` take the same options and
build the same request, machine and index.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from cudaenv import render
from cudaenv.errors import OK

if TYPE_CHECKING:
    import argparse

    from cudaenv.index import Index
    from cudaenv.knowledge import Knowledge
    from cudaenv.machine import Machine
    from cudaenv.request import Request
    from cudaenv.resolution import Resolution

NAME = "solve"
HELP = "resolve TensorFlow/spaCy with their CUDA wheels for this driver and show the pins"
ORDER = 25

__all__ = [
    "HELP",
    "NAME",
    "ORDER",
    "add_solver_arguments",
    "configure",
    "request_machine_index_from_args",
    "run",
    "to_json",
]

_HEADINGS = {"framework": "frameworks", "cuda": "CUDA libraries", "other": "other packages"}


def add_solver_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every solving command takes (``solve``, ``lock``, ``create``)."""
    parser.add_argument(
        "--tf",
        metavar="VERSION",
        help="TensorFlow: 2.15 (newest 2.15.x that works), 2.15.1 (exactly) or a specifier",
    )
    parser.add_argument("--spacy", metavar="VERSION", help="spaCy: 3.7, 3.7.5 or a specifier")
    parser.add_argument("--driver", metavar="VERSION", help="resolve for this NVIDIA driver")
    parser.add_argument("--cuda", metavar="VERSION", help="resolve for this max CUDA (12.4)")
    parser.add_argument("--python", metavar="X.Y", help="target Python (default: this one)")
    parser.add_argument("--platform", metavar="TAG", help="target manylinux tag (default: host)")
    parser.add_argument(
        "--index-url", metavar="URL", help="PEP 691/503 index (default: PIP_INDEX_URL, else PyPI)"
    )
    parser.add_argument("--cache-dir", metavar="DIR", type=Path, help="HTTP cache folder")
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


def request_machine_index_from_args(
    args: argparse.Namespace,
) -> tuple[Request, Machine, Knowledge, Index]:
    """The values a solve needs, from the options of :func:`add_solver_arguments`."""
    from cudaenv import knowledge
    from cudaenv.index import Index
    from cudaenv.machine import Overrides, detect
    from cudaenv.request import Request

    request = Request.from_args(
        tf=args.tf,
        spacy=args.spacy,
        python=args.python,
        platform=args.platform,
        pre=args.pre,
        allow_sdist=getattr(args, "allow_sdist", False),
        gpu=not getattr(args, "cpu", False),
    )
    know = knowledge.load()
    overrides = Overrides.from_env_and_args(driver=args.driver, cuda=args.cuda)
    machine = detect(overrides, driver_to_cuda=know.max_cuda_for_driver)
    index = Index(
        args.index_url,
        cache_dir=args.cache_dir,
        offline=args.offline,
        platform=request.target.platform,
        revalidate=getattr(args, "refresh", False),
    )
    return request, machine, know, index


def configure(parser: argparse.ArgumentParser) -> None:
    add_solver_arguments(parser)
    # solve only: locks and environments hold wheels, so nothing cudaenv makes ever builds (and
    # so runs the code of) an sdist; this shows what an sdist-only release would change.
    parser.add_argument(
        "--allow-sdist",
        action="store_true",
        help="consider sdists too (their metadata must be on the index; nothing is built)",
    )


def run(args: argparse.Namespace) -> int:
    from cudaenv.solver import solve

    request, machine, know, index = request_machine_index_from_args(args)
    with index:
        resolution = solve(request, machine, know, index)
    if args.json:
        render.emit_json(to_json(resolution, know))
        return OK
    for problem in machine.problems if machine.max_cuda is None and request.gpu else ():
        render.warn(problem)
    for text in summary(resolution, know):
        render.line(text)
    return OK


def to_json(resolution: Resolution, know: Knowledge) -> dict[str, Any]:
    """The ``solve --json`` document (exactly these keys); the driver as NVIDIA writes it
    (450.80.02: ``str(Version)`` would drop the zero)."""
    floor = resolution.driver_floor
    return {
        "packages": [
            {
                "name": p.name,
                "version": str(p.version),
                "wheel": {"url": p.wheel.url, "sha256": p.wheel.sha256},
                "why": list(p.why),
            }
            for p in resolution.pins
        ],
        "cuda": None if resolution.cuda is None else str(resolution.cuda),
        "cudnn": None if resolution.cudnn is None else str(resolution.cudnn),
        "python": str(resolution.target.python),
        "driver_floor": None if floor is None else know.driver_text(floor),
        "frameworks": {
            f.name: str(pin.version)
            for f in resolution.frameworks
            if (pin := resolution.pin(f.name)) is not None
        },
    }


def summary(resolution: Resolution, know: Knowledge) -> list[str]:
    """Pins by group, then the stack's CUDA/cuDNN and the driver it needs."""
    lines: list[str] = []
    for group, pins in resolution.grouped():
        if not pins:
            continue
        lines.append(f"{_HEADINGS[group]} ({len(pins)}):")
        width = max(len(p.name) for p in pins)
        lines += [f"  {p.name.ljust(width)}  {p.version}" for p in pins]
    target = resolution.target
    lines.append(f"target:  Python {target.python}, {target.platform}")
    if resolution.cuda is not None:
        cudnn = f", cuDNN {resolution.cudnn}" if resolution.cudnn is not None else ""
        lines.append(f"stack:   CUDA {resolution.cuda}{cudnn}")
    if resolution.driver_floor is not None:
        driver = know.driver_text(resolution.driver_floor)
        lines.append(f"driver:  ≥ {driver} (runs CUDA ≥ {resolution.min_cuda})")
    elif resolution.cuda is None and not any(p.group == "cuda" for p in resolution.pins):
        lines.append("stack:   CPU only (no CUDA wheels; no NVIDIA driver needed)")
    lines += [f"note:    {n}" for n in resolution.notes]
    return lines
