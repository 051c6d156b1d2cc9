"""``cudaenv smoke -p PREFIX``: is the GPU really used in this environment, and if not, why.

Runs the probe inside the environment under its activation (:func:`cudaenv.smoke.run`) and
prints what loads, what TensorFlow and spaCy do, and a verdict. Exit 0 when everything that can
work here works (CPU-only with its reason is fine), 2 when a library does not load or a
framework fails, and 2 under ``--require-gpu`` when no GPU is used.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from cudaenv import render
from cudaenv.errors import SmokeError, UsageError

if TYPE_CHECKING:
    import argparse

    from cudaenv.smoke.report import SmokeReport

NAME = "smoke"
HELP = "check that TensorFlow and spaCy really use the GPU in an environment (and why not)"
ORDER = 60

__all__ = ["HELP", "NAME", "ORDER", "configure", "default_prefix", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-p", "--prefix", metavar="PREFIX", help="the environment (default: the active one)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--require-gpu", action="store_true", help="exit 2 unless a GPU is really used"
    )
    parser.add_argument("--quick", action="store_true", help="a small benchmark (seconds)")
    parser.add_argument(
        "--timeout", type=int, default=900, metavar="S", help="give up after S seconds"
    )


def default_prefix(prefix: str | None) -> str:
    """``-p``, else the active venv or conda environment."""
    chosen = prefix or os.environ.get("VIRTUAL_ENV") or os.environ.get("CONDA_PREFIX")
    if not chosen:
        raise UsageError(
            "which environment? none is active and no prefix was given",
            hint="cudaenv smoke -p PREFIX",
        )
    return chosen


def run(args: argparse.Namespace) -> int:
    from cudaenv import smoke

    report = smoke.run(default_prefix(args.prefix), quick=args.quick, timeout=args.timeout)
    if args.json:
        render.emit_json(report.to_json())
    else:
        show(report)
    code = report.exit_code(require_gpu=args.require_gpu)
    if args.require_gpu and not report.gpu.available:
        render.error(
            SmokeError(
                f"no GPU is used: {report.gpu.reason}",
                hint="`cudaenv doctor -p PREFIX` explains what stands in the way",
            )
        )
    return code


def show(report: SmokeReport) -> None:
    """The human-readable report: libraries, frameworks, the GPU and the verdict."""
    state = "yes" if report.gpu.available else "no"
    render.line(f"GPU used: {state} ({report.gpu.reason})")
    if report.libraries:
        rows = [
            (x.soname, "yes" if x.loaded else "NO", str(x.path) if x.loaded else x.error)
            for x in report.libraries
        ]
        render.line()
        render.table(rows, ["library", "loads", "from / error"])
    if not (report.tensorflow or report.spacy):
        render.line("TensorFlow and spaCy: neither is installed; libraries and driver checked")
    if report.tensorflow:
        _show_tf(report)
    if report.spacy:
        _show_spacy(report)
    render.line()
    for problem in report.problems:
        render.line(f"problem: {problem}")
    render.line(f"verdict: {report.verdict}")


def _show_tf(report: SmokeReport) -> None:
    tf = report.tensorflow
    assert tf is not None
    built = f"built for CUDA {tf.cuda or '-'}, cuDNN {tf.cudnn or '-'}"
    render.line()
    render.line(f"TensorFlow {tf.version or '?'} ({built}); GPUs: {', '.join(tf.gpus) or 'none'}")
    timings = ", ".join(f"{k} {v:.4f} s" for k, v in tf.matmul_seconds.items() if k != "size")
    if timings:
        render.line(f"  matmul {int(tf.matmul_seconds.get('size', 0))}²: {timings}")
    noise = sum(1 for x in tf.log if x.verdict == "noise")
    if noise:
        render.line(f"  {noise} harmless log line(s) (noise) not shown")
    shown: set[str] = set()
    for x in tf.log:
        if x.verdict == "problem" and x.explanation not in shown:
            shown.add(x.explanation)
            render.line(f"  problem [{x.cause}] ({x.phase}): {x.line[:160]}")
            render.line(f"    means: {x.explanation}")
            render.line(f"    fix:   {x.fix}")


def _show_spacy(report: SmokeReport) -> None:
    sp = report.spacy
    assert sp is not None
    wps = sp.words_per_second
    cpu = f"{wps['cpu']:,.0f} words/s" if "cpu" in wps else "-"
    gpu = f"{wps['gpu']:,.0f} words/s" if "gpu" in wps else sp.gpu_error or "not run"
    if "gpu" not in wps and not sp.gpu_error:
        gpu += f" ({report.gpu.reason})"
    render.line()
    render.line(f"spaCy {sp.version or '?'} (tok2vec, tagger, parser, ner; default configs)")
    render.line(f"  CPU: {cpu}")
    render.line(f"  GPU: {gpu}")
