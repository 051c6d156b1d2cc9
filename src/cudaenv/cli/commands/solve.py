"""``cudaenv solve``: detect -> solve, and show the pinned set without writing anything.

Takes the solver options every solving command takes (:mod:`cudaenv.cli.commands._options`), so
``lock`` and ``create`` solve exactly what ``solve`` shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cudaenv.cli import render
from cudaenv.cli.commands._options import (
    add_solver_arguments,
    index_from_args,
    overrides_from_args,
    request_from_args,
)
from cudaenv.errors import OK

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from cudaenv.resolution import Pin, Resolution

NAME = "solve"
HELP = "resolve TensorFlow/PyTorch/JAX/spaCy with their CUDA wheels for this driver; show the pins"
ORDER = 25
EXAMPLES = (
    "solve --tf 2.15 --spacy 3.7",
    "solve --tf 2.12 --driver 470.82.01 --python 3.10 --json",
    "solve --spacy 3.8 --cpu",
)

__all__ = ["EXAMPLES", "HELP", "NAME", "ORDER", "configure", "run", "summary", "to_json"]

_HEADINGS = {"framework": "frameworks", "cuda": "CUDA libraries", "other": "other packages"}


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
    from cudaenv.pipeline import steps

    request = request_from_args(args)
    with render.activity() as sink:
        solved = steps.solve(request, overrides_from_args(args), index_from_args(args), sink=sink)
    resolution, machine = solved.resolution, solved.machine
    warnings = list(machine.problems) if machine.max_cuda is None and request.gpu else []
    if args.json:
        render.emit_json(to_json(resolution, warnings=warnings))
        return OK
    for problem in warnings:
        render.warn(problem)
    for text in summary(resolution):
        render.line(text)
    return OK


def to_json(resolution: Resolution, *, warnings: Sequence[str] = ()) -> dict[str, Any]:
    """The ``solve --json`` document (exactly these keys); the driver as NVIDIA writes it.
    ``notes`` and ``warnings`` are what the text prints as ``note:`` and ``warning:``."""
    return {
        "packages": [
            {
                "name": p.name,
                "version": str(p.version),
                "wheel": {"url": p.wheel.url, "sha256": p.wheel.sha256},
                "why": list(p.why),
                "index": _index_of(p, resolution),
            }
            for p in resolution.pins
        ],
        **resolution.stack.to_json(),  # cuda, cudnn, built_with, driver_floor
        "python": str(resolution.target.python),
        "frameworks": {
            f.name: str(pin.version)
            for f in resolution.frameworks
            if (pin := resolution.pin(f.name)) is not None
        },
        "relaxed": [x.to_dict() for x in resolution.relaxed],
        "notes": list(resolution.notes),
        "warnings": list(warnings),
    }


def _index_of(pin: Pin, resolution: Resolution) -> str | None:
    """The index a pin came from, without credentials; None for a find-links file."""
    from cudaenv.net.auth import without_auth

    index = resolution.index_url if pin.index is None else pin.index
    return without_auth(index) if index else None


def summary(resolution: Resolution) -> list[str]:
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
    if resolution.stack.cuda is not None:
        lines.append(f"stack:   {resolution.stack_text()}")
    if resolution.stack.driver_floor is not None:
        driver = resolution.stack.driver_floor
        lines.append(f"driver:  ≥ {driver} (runs CUDA ≥ {resolution.stack.min_cuda})")
    elif resolution.stack.cuda is None and not any(p.group == "cuda" for p in resolution.pins):
        lines.append("stack:   CPU only (no CUDA wheels; no NVIDIA driver needed)")
    lines += _sources(resolution)
    lines += [f"note:    {n}" for n in resolution.notes]
    lines += [f"relaxed: {x.text()}" for x in resolution.relaxed]
    return lines


def _sources(resolution: Resolution) -> list[str]:
    """Where the pins came from: one line per index or find-links, naming the packages of
    all but the first (the default index)."""
    sources = resolution.sources()
    lines = []
    for n, (where, pins) in enumerate(sources.items()):
        names = "" if n == 0 else ": " + ", ".join(p.name for p in pins)
        lines.append(f"from:    {where} ({len(pins)}){names}")
    return lines
