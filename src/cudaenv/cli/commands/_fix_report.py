"""Text and JSON for ``cudaenv fix``: the plan as a table, doctor's findings and the smoke
test's verdict before and after, side by side. Written through :mod:`cudaenv.cli.render`; the
leading underscore keeps this module out of the command list.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from cudaenv.cli import render

if TYPE_CHECKING:
    from cudaenv.doctor import Diagnosis
    from cudaenv.envs.base import Env
    from cudaenv.fix import Applied, Plan
    from cudaenv.smoke.report import SmokeReport

__all__ = ["count", "document", "show_plan", "show_result", "undo_command"]

_KINDS = {"add": "added", "replace": "replaced", "remove": "removed"}
_LABELS = ("tensorflow", "torch", "jax", "spacy")
_SHOWN = 12  # findings listed as gone, then a count


def show_plan(plan: Plan, *, idle: bool) -> None:
    env, machine = plan.env, plan.machine
    driver = machine.driver_version or "none"
    render.line(
        f"environment: {env.prefix} ({env.backend}, Python {plan.target.full_version}); "
        f"driver {driver} (CUDA {machine.max_cuda or '-'}, {machine.source})"
    )
    held = [d for d in plan.dists if not d.free]
    kept = ", ".join(f"{d.name} {d.version}" for d in held if d.name in _LABELS)
    render.line(
        f"held at their versions: {len(held)} packages ({kept or 'no framework'} among them); "
        "free to change: the NVIDIA wheels, CuPy, CUDA plugins"
    )
    if plan.resolution is None:
        render.line("nothing to fix: no TensorFlow, PyTorch, JAX or spaCy is installed")
        return
    if idle:
        render.line("nothing to fix: the packages are right and doctor finds nothing to change")
        return
    render.line()
    counts = {w: sum(1 for c in plan.changes if c.kind == k) for k, w in _KINDS.items()}
    said = ", ".join(f"{n} {w}" for w, n in counts.items() if n) or "no package changes"
    render.line(
        f"plan: {_n(len(plan.changes), 'package')} ({said}), then the activation scripts and "
        "the start-up hook"
    )
    if plan.changes:
        render.table(
            [(c.name, c.before or "-", c.after or "-", c.why) for c in plan.changes],
            ["package", "from", "to", "why"],
        )
    for note in plan.resolution.notes[:1]:
        render.line(f"  note: {note}")
    for dist in plan.before.unlocated:
        render.line(f"  not on any index (held, kept for --undo if changed): {dist.name}")


def _findings(diagnosis: Diagnosis) -> dict[str, Any]:
    from cudaenv import fix

    return {
        "worst": diagnosis.worst,
        "verdict": diagnosis.report.verdict,
        "cuda_findings": fix.cuda_findings(diagnosis),
        "findings": [f.to_json() for f in diagnosis.findings],
    }


def document(
    plan: Plan,
    before: Diagnosis,
    applied: Applied | None,
    after: Diagnosis | None,
    report: SmokeReport | None,
    *,
    dry_run: bool,
) -> dict[str, Any]:
    resolution = plan.resolution
    return {
        "prefix": str(plan.env.prefix),
        "python": str(plan.env.python),
        "driver": plan.machine.to_dict(),
        "dry_run": dry_run,
        "changed": applied is not None,
        "plan": [c.to_json() for c in plan.changes],
        "relaxed": [r.text() for r in resolution.relaxed] if resolution else [],
        "notes": list(resolution.notes) if resolution else [],
        "unlocated": [f"{d.name} {d.version}" for d in plan.before.unlocated],
        "applied": None
        if applied is None
        else {
            "before_lock": str(applied.before_lock),
            "installer": applied.installer,
            "seconds": round(applied.seconds, 2),
            "written": [str(p) for p in applied.written],
            "kept": list(applied.kept),
            "undo": undo_command(plan.env),
        },
        "doctor": {
            "before": _findings(before),
            "after": _findings(after) if after is not None else None,
        },
        "smoke": report.to_json() if report is not None else None,
    }


def undo_command(env: Env) -> str:
    return f"cudaenv fix -p {shlex.quote(str(env.prefix))} --undo"


def show_result(
    env: Env,
    applied: Applied,
    before: Diagnosis,
    after: Diagnosis,
    report: SmokeReport | None,
) -> None:
    from cudaenv import fix

    how = f" with {applied.installer}" if applied.installer else ""
    render.line()
    render.line(f"fixed in {applied.seconds:.1f} s{how}; before-lock: {applied.before_lock}")
    render.line()
    render.table(
        [
            ("doctor", count(before), count(after)),
            ("  CUDA findings", fix.cuda_findings(before), fix.cuda_findings(after)),
            ("probe verdict", before.report.verdict, after.report.verdict),
            ("smoke verdict", "-", report.verdict if report is not None else "not run"),
        ],
        ["", "before", "after"],
    )
    left = {(f.cause, f.message) for f in after.findings}
    gone = [f for f in before.findings if f.severity != "info" and (f.cause, f.message) not in left]
    for f in gone[:_SHOWN]:
        render.line(f"  gone: {f.severity} [{f.cause}]: {f.message}")
    if len(gone) > _SHOWN:
        render.line(f"  gone: {len(gone) - _SHOWN} more (`--json` lists every finding)")
    for f in after.findings:
        if f.severity != "info":
            render.line(f"  left: {f.severity} [{f.cause}]: {f.message}")
    if report is not None:
        libs = report.libraries
        mine = [x for x in libs if x.loaded and x.path and env.prefix in x.path.parents]
        render.line(
            f"  smoke: {len(mine)} of {len(report.libraries)} CUDA libraries load from {env.prefix}"
        )
    render.line(f"  undo with: {undo_command(env)}")


def count(diagnosis: Diagnosis) -> str:
    errors = sum(1 for f in diagnosis.findings if f.severity == "error")
    warnings = sum(1 for f in diagnosis.findings if f.severity == "warning")
    return f"{_n(errors, 'error')}, {_n(warnings, 'warning')}"


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
