"""The PyTorch and JAX rows of ``cudaenv matrix``: which lines can share one environment.

Two frameworks share an environment when their lines run on one CUDA major and one cuDNN major;
within a major the solver relaxes their exact NVIDIA pins where NVIDIA's rules allow
(docs/facts.md, "CUDA library compatibility rules (for relaxing pins)"). So each row shows the
CUDA major (and release) the line's wheels were built for, its cuDNN, its Pythons and the
driver that runs it; a JAX line reaches one CUDA major per extra. The leading underscore
keeps this module out of the command list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from packaging.version import Version

from cudaenv.cli import render
from cudaenv.knowledge import spec_text  # matrix imports this module only when it runs

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from cudaenv.knowledge import JaxLine, Knowledge, TorchLine

__all__ = ["jax_rows", "tables", "torch_rows"]

SHARING = (
    "frameworks share one environment on one CUDA major and one cuDNN major; their exact NVIDIA "
    "pins are relaxed within a major where NVIDIA's rules allow (docs/facts.md)"
)


def _driver(k: Knowledge, major: int) -> str | None:
    found = k.min_driver_for(Version(f"{major}.0"))
    return str(found) if found is not None else None


def torch_rows(k: Knowledge, lines: Sequence[TorchLine]) -> list[dict[str, Any]]:
    """The JSON rows for PyTorch lines."""
    return [
        {
            "version": str(t.line),
            "cuda": str(t.cuda),
            "cudnn": str(t.cudnn),
            "python": spec_text(t.python),
            "min_driver": _driver(k, t.min_cuda.major),
            "gpu_machines": list(t.gpu_machines),
            "triton": str(t.triton) if t.triton is not None else None,
        }
        for t in lines
    ]


def jax_rows(k: Knowledge, lines: Sequence[JaxLine]) -> list[dict[str, Any]]:
    """The JSON rows for JAX lines: one entry per CUDA major the line reaches."""
    return [
        {
            "version": str(j.line),
            "python": spec_text(j.python),
            "cuda": {
                str(major): {
                    "extra": j.extras[major],
                    "since": str(j.since[major]) if major in j.since else None,
                    "cudnn": spec_text(j.cudnn[major]),
                    "min_driver": _driver(k, major),
                }
                for major in j.cuda_majors
            },
        }
        for j in lines
    ]


def tables(
    k: Knowledge, torch: Sequence[TorchLine], jax: Sequence[JaxLine], *, detailed: bool
) -> list[Callable[[], None]]:
    """The tables to print, each a function (the caller puts blank lines between them)."""
    out: list[Callable[[], None]] = []
    if torch:
        out.append(lambda: _torch_table(k, torch, detailed=detailed))
    if jax:
        out.append(lambda: _jax_table(k, jax, detailed=detailed))
    return out


def _torch_table(k: Knowledge, lines: Sequence[TorchLine], *, detailed: bool) -> None:
    render.table(
        [
            (t.line, t.cuda, t.cudnn, spec_text(t.python), _driver(k, t.min_cuda.major),
             ", ".join(t.gpu_machines), t.triton or "")
            for t in lines
        ],
        ["PyTorch", "CUDA", "cuDNN", "Python", "min driver", "CUDA wheels on", "triton"],
    )  # fmt: skip
    render.line(SHARING)
    for t in lines if detailed else ():
        render.line()
        render.line(
            f"PyTorch {t.line}: CUDA {t.cuda}, cuDNN {t.cudnn}; its NVIDIA wheels are pinned by "
            "its own METADATA"
        )
        for version, note in t.notes.items():
            render.line(f"note {version}: {note}")
        render.line(f"source: {t.source}")


def _jax_table(k: Knowledge, lines: Sequence[JaxLine], *, detailed: bool) -> None:
    render.table(
        [(j.line, spec_text(j.python), _extras(j), " / ".join(_drivers(k, j))) for j in lines],
        ["JAX", "Python", "CUDA extras (major: extra, cuDNN)", "min driver"],
    )
    for j in lines if detailed else ():
        render.line()
        for version, note in j.notes.items():
            render.line(f"JAX {j.line}, note {version}: {note}")
        render.line(f"JAX {j.line}, source: {j.source}")


def _extras(j: JaxLine) -> str:
    out = []
    for major in j.cuda_majors:
        since = f" from {j.since[major]}" if major in j.since else ""
        out.append(f"{major}: {j.extras[major]}{since} (cuDNN {spec_text(j.cudnn[major])})")
    return ", ".join(out)


def _drivers(k: Knowledge, j: JaxLine) -> list[str]:
    return [d for major in j.cuda_majors if (d := _driver(k, major)) is not None]
