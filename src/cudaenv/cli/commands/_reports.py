"""Text for the reports more than one command prints: the smoke report (``smoke``, and
``create`` once the environment is made). Written through :mod:`cudaenv.cli.render`; the leading
underscore keeps this module out of the command list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cudaenv.cli import render

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cudaenv.smoke.report import SmokeReport

__all__ = ["show_smoke"]


def show_smoke(report: SmokeReport) -> None:
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
    if not (report.tensorflow or report.torch or report.jax or report.spacy):
        render.line(
            "frameworks: none of TensorFlow, PyTorch, JAX, spaCy is installed; libraries and "
            "driver checked"
        )
    if report.tensorflow:
        _show_tf(report)
    if report.torch:
        _show_torch(report)
    if report.jax:
        _show_jax(report)
    if report.spacy:
        _show_spacy(report)
    if report.together:
        _show_together(report)
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
    if (timings := _timings(tf.matmul_seconds)) is not None:
        render.line(timings)
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


def _timings(seconds: Mapping[str, float]) -> str | None:
    shown = ", ".join(f"{k} {v:.4f} s" for k, v in seconds.items() if k != "size")
    return f"  matmul {int(seconds.get('size', 0))}²: {shown}" if shown else None


def _show_torch(report: SmokeReport) -> None:
    run = report.torch
    assert run is not None
    built = (
        f"built for CUDA {run.cuda}, loads cuDNN {run.cudnn or '-'}"
        if run.cuda
        else "a CPU-only build"
    )
    render.line()
    render.line(f"PyTorch {run.version or '?'} ({built}); GPUs: {', '.join(run.gpus) or 'none'}")
    if not run.gpus:
        render.line(f"  runs on the CPU: {run.gpu_error or report.gpu.reason}")
    if (cudnn := run.loaded.get(_CUDNN[0]) or run.loaded.get(_CUDNN[1])) is not None:
        render.line(f"  cuDNN from {cudnn}")
    if (timings := _timings(run.matmul_seconds)) is not None:
        render.line(timings)


def _show_jax(report: SmokeReport) -> None:
    run = report.jax
    assert run is not None
    render.line()
    gpus = ", ".join(run.gpus) or "none"
    render.line(f"JAX {run.version or '?'} (backend {run.backend or '?'}); GPUs: {gpus}")
    if not run.gpus:
        render.line(f"  runs on the CPU: {run.gpu_error or report.gpu.reason}")
    if (timings := _timings(run.matmul_seconds)) is not None:
        render.line(timings)


def _show_together(report: SmokeReport) -> None:
    """Every framework in one process: where each ran, the cuDNN each loaded, by path."""
    together = report.together or {}
    render.line()
    render.line(f"all frameworks in one process ({together.get('device', '?').upper()}):")
    for name, run in (together.get("frameworks") or {}).items():
        cudnn = [p for soname, p in (run.get("loaded") or {}).items() if soname in _CUDNN]
        said = run.get("error") or f"ran on {run.get('device') or together.get('device')}"
        loads = f"; loaded cuDNN {cudnn[0]}" if cudnn else ""
        render.line(f"  {name}: {said}{loads}")


_CUDNN = ("libcudnn.so.9", "libcudnn.so.8")


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
