"""``cudaenv doctor (-p PREFIX | --python PATH)``: why an environment does or does not use the GPU.

Works on any environment, including ones cudaenv did not make (one it made, not active, is
judged as its activation sets it up, and the report says so). Prints each finding (cause,
severity, message, and the command that fixes it). Exit 0 when nothing is an error, 2 otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cudaenv.cli import render
from cudaenv.cli.commands._options import add_env_arguments, env_prefix
from cudaenv.errors import FAILURE, OK

if TYPE_CHECKING:
    import argparse

    from cudaenv.doctor import Diagnosis

NAME = "doctor"
HELP = "diagnose an environment: CUDA libraries, copies, driver, versions, activation"
ORDER = 70
EXAMPLES = ("doctor -p ./tf215-spacy37", "doctor --python /usr/bin/python3", "doctor --json")

__all__ = ["EXAMPLES", "HELP", "NAME", "ORDER", "configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    add_env_arguments(where)
    where.add_argument("--python", metavar="PATH", help="the environment's python interpreter")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from cudaenv.doctor import diagnose, env_for_python
    from cudaenv.events import Detail, Step
    from cudaenv.smoke import open_env

    with render.activity() as sink:
        sink(Step(text="finding the environment"))  # -n under conda: `conda info`
        if args.python:
            env = env_for_python(Path(args.python))
        else:
            env = open_env(env_prefix(args, NAME))
        sink(Step(text="examining the environment", where=env.prefix))
        sink(Detail("its Python imports its frameworks"))
        diagnosis = diagnose(env)
    if args.json:
        render.emit_json(diagnosis.to_json())
    else:
        show(diagnosis)
    return FAILURE if diagnosis.worst == "error" else OK


def show(diagnosis: Diagnosis) -> None:
    report = diagnosis.report
    render.line(f"environment: {diagnosis.prefix} (python {report.python or '?'})")
    if diagnosis.as_activated:
        render.line(
            "judged as its activation sets it up: cudaenv made it to be used activated, and it "
            "is not the active environment here"
        )
    frameworks = ", ".join(f"{k} {v}" for k, v in sorted(report.distributions.items()))
    none = "no TensorFlow, PyTorch, JAX, spaCy, CuPy or NVIDIA wheels"
    render.line(f"packages: {frameworks or none}")
    tf = report.tensorflow
    if tf is not None:
        render.line(f"TensorFlow {tf.version or '?'} built for CUDA {tf.cuda}, cuDNN {tf.cudnn}")
    torch = report.torch
    if torch is not None:
        built = f"built for CUDA {torch.cuda}" if torch.cuda else "a CPU-only build"
        cudnn = f", loads cuDNN {torch.cudnn}" if torch.cudnn else ""
        render.line(f"PyTorch {torch.version or '?'} {built}{cudnn}")
    hook = diagnosis.hook
    if hook is not None and hook.present:
        state = "off (CUDAENV_NO_PRELOAD)" if hook.disabled else f"loads {len(hook.loaded)}"
        render.line(f"start-up hook: {hook.written_by or 'present'}, {state} of {hook.planned}")
    if report.libraries:
        rows = []
        for lib in report.libraries:
            copies = "; ".join(f"{p} ({w})" for w, p in diagnosis.places.get(lib.soname, ()))
            loads = str(lib.path) if lib.loaded else "does not load"
            first = hook.loaded_from(lib.soname) if hook is not None else None
            if first is not None and first != lib.path:
                loads += f" by name; the start-up hook loads {first}"
            rows.append((lib.soname, loads, copies))
        render.line()
        render.table(rows, ["library", "loads from", "copies on disk"])
    render.line()
    if not diagnosis.findings:
        render.line("no findings: nothing stands between this environment and the GPU")
    for f in diagnosis.findings:
        render.line(f"{f.severity} [{f.cause}]: {f.message}")
        render.line(f"  fix: {f.fix}")
