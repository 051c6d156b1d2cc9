"""The command line and the order of the checks.

``scripts/gpu-check OUT`` runs in two stages. The first runs under any Python 3 (on a lent
machine, the image's ``python3``): it rebuilds the carried wheels and finds or makes an
interpreter that runs this checkout's cudaenv (:mod:`.tool`), then starts the second stage
under it. The second runs the checks and writes the report to OUT after each:

1. ``machine`` (nvidia-smi's own outputs, verbatim) and ``detect`` (each probe forced in turn);
2. ``smoke-image``: ``cudaenv smoke --python`` of the machine's Python, alone, so that its
   timings are not shared with other work;
3. at once, on other cores: ``doctor-image`` and ``cupy-image`` beside ``wheelhouse``,
   ``lock`` and ``create`` (the environment, offline);
4. ``activation-bash`` and ``cupy-env``, ``cudaenv-run``, ``smoke-env`` (spaCy, GPU and CPU).

Exit 0 only when every check passed (or, in a ``--dry-run``, did not apply); 1 otherwise;
2 for bad input. Every check runs within ``--budget`` seconds in all.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gpucheck.report import Check, Deadline, Report

if TYPE_CHECKING:
    from collections.abc import Callable

    from gpucheck.context import Context

__all__ = ["main"]

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "gpu-check"
CARRIED = REPO / ".gpu-check"  # where --prepare puts it by default (git ignores it)
BUDGET = 285.0  # seconds: a lent machine's call must end within 5 minutes
EXPECT = "torch,jax"  # the lent image's frameworks (PyTorch and JAX for CUDA 13)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/gpu-check",
        description="show, on a machine with an NVIDIA GPU and no network, that every GPU path "
        "of cudaenv works; write report.json, summary.txt and log.txt to OUT",
    )
    parser.add_argument("out", nargs="?", metavar="OUT", help="the folder for the report")
    parser.add_argument("--prepare", metavar="DIR", help="here, with the index: what to carry")
    parser.add_argument("--carried", metavar="DIR", help=f"what --prepare made ({CARRIED.name})")
    parser.add_argument("--python", metavar="PATH", help="the machine's Python (this one)")
    parser.add_argument("--work", metavar="DIR", help="scratch space (a new temporary folder)")
    parser.add_argument("--budget", type=float, default=BUDGET, metavar="S")
    parser.add_argument("--dry-run", action="store_true", help="no GPU expected (CPU, fakes)")
    parser.add_argument("--expect", metavar="NAMES", help=f"frameworks there ({EXPECT})")
    parser.add_argument("--stage2", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--started", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.prepare and not args.out:
        parser.error("give OUT, the folder for the report (or --prepare DIR)")
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.prepare:
        from gpucheck.prepare import prepare

        return prepare(Path(args.prepare).resolve())
    return stage2(args) if args.stage2 else stage1(args)


def stage1(args: argparse.Namespace) -> int:
    """Carried wheels rebuilt, an interpreter for cudaenv found; then the second stage. A
    failure here is reported in OUT too."""
    started = time.time()
    work = Path(args.work or tempfile.mkdtemp(prefix="cudaenv-gpu-check-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    groups, carried = _carried(args)
    checks = [carried]
    if groups is not None:
        try:
            groups = _unpack(Path(args.carried or CARRIED), work, checks)
        except Exception as e:  # a broken archive, a full disk: said in the report
            checks[-1] = Check("carried", False, f"{type(e).__name__}: {e}")
    found = _tool(work, groups or {}, checks)
    if found is None:
        report = Report(Path(args.out), {"mode": "dry" if args.dry_run else "gpu"})
        for check in checks:
            report.add(check)
        return 1
    python, extra = found
    state = {"checks": [asdict(c) for c in checks],
             "carried": {k: [str(p) for p in v] for k, v in (groups or {}).items()}}  # fmt: skip
    (work / "stage1.json").write_text(json.dumps(state))
    image = str(Path(args.python).absolute()) if args.python else sys.executable
    again = [SCRIPT.as_posix(), *_passed_on(args), "--stage2", "--work", str(work),
             "--python", image, "--started", str(started)]  # fmt: skip
    if python == sys.executable and not extra:
        return main(again[1:])
    os.execve(python, [python, *again], {**os.environ, **extra})
    return 1  # not reached


def _carried(args: argparse.Namespace) -> tuple[dict[str, list[Path]] | None, Check]:
    folder = Path(args.carried) if args.carried else CARRIED
    if folder.is_dir():
        return {}, Check("carried", True, f"{folder}")
    return None, Check("carried", None, f"nothing carried ({folder} is not there)")


def _unpack(folder: Path, work: Path, checks: list[Check]) -> dict[str, list[Path]]:
    from gpucheck import carry

    clock = time.monotonic()
    groups = carry.unpack(folder, work / "carried")
    said = ", ".join(f"{len(v)} for {k}" for k, v in sorted(groups.items()))
    checks[-1] = Check("carried", True, f"rebuilt from {folder}: {said}", time.monotonic() - clock)
    return groups


def _tool(
    work: Path, groups: dict[str, list[Path]], checks: list[Check]
) -> tuple[str, dict[str, str]] | None:
    from gpucheck import tool

    clock = time.monotonic()
    try:
        python, extra, how = tool.choose(REPO, work, groups.get("tool", []))
    except Exception as e:  # no interpreter for cudaenv: nothing else can run
        checks.append(Check("tool", False, f"{type(e).__name__}: {e}", time.monotonic() - clock))
        return None
    checks.append(Check("tool", True, f"{python}: {how}", time.monotonic() - clock))
    return python, extra


def _passed_on(args: argparse.Namespace) -> list[str]:
    out = [str(Path(args.out).absolute()), "--budget", str(args.budget)]
    out += ["--dry-run"] if args.dry_run else []
    out += ["--expect", args.expect] if args.expect is not None else []
    return out


def stage2(args: argparse.Namespace) -> int:
    from gpucheck.context import Context

    work = Path(args.work)
    state = json.loads((work / "stage1.json").read_text())
    spent = time.time() - (args.started or time.time())
    deadline = Deadline(args.budget - spent)
    expect = args.expect if args.expect is not None else ("" if args.dry_run else EXPECT)
    facts = {"mode": "dry" if args.dry_run else "gpu", "python": args.python,
             "tool": sys.executable, "work": str(work)}  # fmt: skip
    report = Report(Path(args.out), facts)
    ctx = Context(
        repo=REPO, work=work, report=report, deadline=deadline, python=Path(args.python),
        cudaenv=(sys.executable, "-m", "cudaenv"), gpu=not args.dry_run,
        expect=tuple(x for x in expect.split(",") if x),
        carried={k: [Path(p) for p in v] for k, v in state["carried"].items()},
    )  # fmt: skip
    for check in state["checks"]:
        report.add(Check(**check))
    if all(c.ok is not False for c in report.checks):
        run_checks(ctx)
    facts["seconds"] = spent + deadline.elapsed()
    report.write()
    return 0 if report.passed else 1


if TYPE_CHECKING:
    Body = Callable[[Context], Check | list[Check]]


def _one(ctx: Context, name: str, body: Body) -> None:
    """Run one check (or the several one body returns) unless the budget is spent; a check
    that raises is a failed check, with what it raised."""
    if ctx.deadline.left() <= 0:
        ctx.report.add(Check(name, False, "not run: out of time (--budget)"))
        return
    started = time.monotonic()
    try:
        found = body(ctx)
    except Exception as e:  # a surprise of the machine, or a bug: the report still says it
        found = Check(name, False, f"{type(e).__name__}: {e}")
    seconds = time.monotonic() - started
    for check in found if isinstance(found, list) else [found]:
        ctx.report.add(replace(check, seconds=check.seconds or seconds))


def _sequence(ctx: Context, bodies: tuple[tuple[str, Body], ...]) -> None:
    for name, body in bodies:
        _one(ctx, name, body)


def run_checks(ctx: Context) -> None:
    from gpucheck import build, steps

    ctx.report.facts.update(steps.facts(ctx))
    first: tuple[tuple[str, Body], ...] = (
        ("machine", steps.machine),
        ("detect", steps.detect),
        ("smoke-image", steps.smoke_image),
    )
    _sequence(ctx, first)
    image: tuple[tuple[str, Body], ...] = (
        ("doctor-image", steps.doctor_image),
        ("cupy-image", steps.cupy_image),
    )
    env: tuple[tuple[str, Body], ...] = (
        ("wheelhouse", build.wheelhouse),
        ("lock", build.lock),
        ("create", build.create),
    )
    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(_sequence, ctx, image), pool.submit(_sequence, ctx, env)]:
            future.result()
    last: tuple[tuple[str, Body], ...] = (
        ("activation-bash", steps.activation),
        ("cudaenv-run", steps.run_command),
        ("smoke-env", steps.smoke_env),
    )
    _sequence(ctx, last)
