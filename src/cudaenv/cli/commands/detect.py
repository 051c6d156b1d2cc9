"""``cudaenv detect``: the NVIDIA driver, the newest CUDA it supports, and the GPUs.

What the solver will use for ``__cuda``, and where it came from, so that a user can check it
before solving (and override it with ``--driver``, ``--cuda`` or ``CONDA_OVERRIDE_CUDA``).
No driver is an answer, not an error: exit 0 with the reasons. ``--source NAME`` asks one
probe alone (NVML, libcuda, nvidia-smi or /proc), so that each way of reading the driver can be
checked on its own (``scripts/gpu-check`` compares them on a real GPU).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cudaenv.cli import render
from cudaenv.cli.commands._options import overrides_from_args
from cudaenv.errors import OK, Remedy, UsageError

if TYPE_CHECKING:
    import argparse

    from cudaenv.machine import Machine

NAME = "detect"
HELP = "show the NVIDIA driver, the newest CUDA it supports, and the GPUs"
ORDER = 10
EXAMPLES = ("detect --json", "detect --driver 535.104.05", "detect --source nvidia-smi")

__all__ = ["EXAMPLES", "HELP", "NAME", "ORDER", "PROBE_NAMES", "configure", "run", "summary"]

# The probes ``--source`` may name: cudaenv.machine.PROBE_NAMES, written out so that building
# the parser imports nothing of detection (a test holds the two equal).
PROBE_NAMES = ("nvml", "libcuda", "nvidia-smi", "proc")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--driver", metavar="VERSION", help="take this NVIDIA driver version (535.104.05)"
    )
    parser.add_argument("--cuda", metavar="VERSION", help="take this max CUDA version (12.4)")
    parser.add_argument(
        "--source",
        choices=PROBE_NAMES,
        help="ask only this probe (the others are not tried; CONDA_OVERRIDE_CUDA is not read)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from cudaenv.machine import Overrides
    from cudaenv.pipeline import steps

    if args.source and (args.driver or args.cuda):
        flag = "--driver" if args.driver else "--cuda"
        remedy = Remedy.run(("cudaenv", "detect", "--source", args.source))
        raise UsageError(
            f"--source {args.source} asks the driver, {flag} replaces asking it: give one",
            remedies=(remedy,),
        )
    overrides = Overrides() if args.source else overrides_from_args(args)
    sources = (args.source,) if args.source else None
    with render.activity() as sink:
        machine = steps.detect(overrides, sink=sink, sources=sources)
    if args.json:
        render.emit_json(machine.to_dict())
    else:
        for text in summary(machine):
            render.line(text)
    return OK


def summary(machine: Machine) -> list[str]:
    """The readable report: driver, max CUDA, GPUs, source, container hints, problems."""
    if machine.driver_version is None and machine.max_cuda is None:
        lines = ["driver:    no NVIDIA driver"]
    else:
        lines = [f"driver:    {machine.driver_version or 'unknown (not given)'}"]
    unknown = "unknown" if machine.driver_version else "none"
    lines.append(f"max CUDA:  {machine.max_cuda if machine.max_cuda is not None else unknown}")
    lines.append(f"source:    {machine.source}")
    lines += _gpus(machine)
    lines += _listed("container", machine.container)
    lines += _listed("problems", tuple(p for p in machine.problems if p not in machine.container))
    return lines


def _gpus(machine: Machine) -> list[str]:
    if not machine.gpus:
        return ["GPUs:      " + ("not probed" if machine.source == "override" else "none found")]
    out = [f"GPUs:      {len(machine.gpus)}"]
    for n, gpu in enumerate(machine.gpus):
        cc = f"compute {gpu.compute_capability}" if gpu.compute_capability else "compute ?"
        memory = f"{gpu.memory_mib} MiB" if gpu.memory_mib is not None else "memory ?"
        out.append(f"  {n}: {gpu.name} ({cc}, {memory})")
    return out


def _listed(title: str, items: tuple[str, ...]) -> list[str]:
    return [f"{title}:", *(f"  - {item}" for item in items)] if items else []
