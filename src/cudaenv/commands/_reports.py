"""Text for the reports more than one command prints: the smoke report (``smoke``, and
``create`` once the environment is made). Written through :mod:`cudaenv.render`; the leading
underscore keeps this module out of the command list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cudaenv import render

if TYPE_CHECKING:
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
