"""Two frameworks that need one NVIDIA library in different major versions, said in its terms.

The factory relaxes frameworks' exact pins on NVIDIA wheels within a major (:mod:`.relax`), so
what is left when two frameworks still conflict over one wheel is a conflict across majors:
TensorFlow 2.15 is built for cuDNN 8.9, PyTorch >= 2.4 for cuDNN 9, and NVIDIA promises nothing
across cuDNN majors (docs/facts.md, "CUDA library compatibility rules (for relaxing pins)").
:func:`explain` finds such a conflict among resolvelib's causes and says it in the library's
terms; the ways out are,
for each framework, the lines nearest the one asked for whose cuDNN major is the other's (from
the recipes: ``TfLine.cudnn``, ``TorchLine.cudnn``, ``JaxLine.cudnn``), nearest first. The
solver keeps the first of each that resolves (:mod:`.remedies`). Pure: it reads no index.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from packaging.version import Version

from cudaenv.errors import Explanation, Remedy
from cudaenv.knowledge import JaxLine, SpacyLine, spec_text
from cudaenv.solver.rules.conflicts import asked_at
from cudaenv.solver.rules.majors import FLAGS, LABELS, known_lines
from cudaenv.solver.rules.relax import from_framework

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from packaging.specifiers import SpecifierSet

    from cudaenv.knowledge import Knowledge
    from cudaenv.request import Request
    from cudaenv.solver.requirements import Requirement
    from cudaenv.solver.rules.conflicts import Cause
    from cudaenv.solver.rules.majors import Line

__all__ = ["TRIES", "explain", "library_of"]

TRIES = 3  # lines offered per framework, nearest first; the solver keeps the first that works
_WHEEL = re.compile(r"^nvidia-(?P<lib>[a-z0-9-]+?)(-cu(?P<cuda>\d+))?$")
_NAMES = {
    "cudnn": "cuDNN",
    "cublas": "cuBLAS",
    "cufft": "cuFFT",
    "curand": "cuRAND",
    "cusolver": "cuSOLVER",
    "cusparse": "cuSPARSE",
    "nccl": "NCCL",
    "nvjitlink": "nvJitLink",
    "cuda-runtime": "the CUDA runtime",
    "cuda-nvrtc": "NVRTC",
    "cuda-cupti": "CUPTI",
    "cuda-nvcc": "NVCC",
}


def library_of(wheel: str) -> str | None:
    """``nvidia-cudnn-cu12`` -> ``cuDNN``; None for a wheel that is not an NVIDIA library."""
    m = _WHEEL.match(wheel)
    if m is None:
        return None
    return _NAMES.get(m["lib"], m["lib"])


def _framework(project: str) -> str:
    """The framework a requiring project belongs to (JAX's plugins and jaxlib are JAX)."""
    return "jax" if project.startswith(("jax-", "jaxlib")) else project


def _major(req: Requirement) -> int | None:
    """The library major a requirement asks for: its relaxed pin's, else its lowest bound's."""
    if req.relaxed is not None:
        return int(req.relaxed.release[0])
    return _major_of(req.specifier)


def _sides(causes: Collection[Cause]) -> dict[str, dict[str, tuple[int, Cause]]]:
    """wheel -> framework -> (major, the newest cause from it), for frameworks' requirements on
    NVIDIA wheels."""
    out: dict[str, dict[str, tuple[int, Cause]]] = {}
    for cause in causes:
        parent, req = cause.parent, cause.requirement
        name = req.project or ""
        if parent is None or parent.project is None or not from_framework(parent.project):
            continue
        if library_of(name) is None:
            continue
        major = _major(req)
        if major is None:
            continue
        held = out.setdefault(name, {}).get(_framework(parent.project))
        if held is None or asked_at(cause) > asked_at(held[1]):
            out[name][_framework(parent.project)] = (major, cause)
    return out


def explain(
    causes: Collection[Cause],
    knowledge: Knowledge,
    request: Request,
    releases: Mapping[str, Sequence[Version]],
) -> Explanation | None:
    """The conflict across one library's majors among ``causes``, or None when there is none."""
    for wheel, by_fw in _sides(causes).items():
        if len({major for major, _ in by_fw.values()}) < 2:
            continue
        lib = library_of(wheel) or wheel
        order: list[str] = [f.name for f in request.frameworks]
        said = [
            f"{_who(fw, asked_at(cause))} needs {lib} {major} ({wheel}{_pinned(cause.requirement)})"
            for fw, (major, cause) in sorted(
                by_fw.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99
            )
        ]
        hints: list[Remedy] = []
        if lib == "cuDNN":
            hints = _nearest(by_fw, knowledge, request, releases)
        return Explanation(
            headline=f"{' and '.join(said)}: {lib} is compatible only within a major version, "
            f"and one environment holds one {lib}",
            hints=tuple(hints),
        )
    return None


def _who(framework: str, version: Version) -> str:
    return f"{LABELS.get(framework, framework)} {version.major}.{version.minor}"


def _pinned(req: Requirement) -> str:
    """``==9.5.1.17`` (a framework's pin, as it wrote it) or ``>=9.8,<10.0`` (a range)."""
    pin = req.relaxed
    return f"=={pin}" if pin is not None else spec_text(req.specifier)


def _nearest(
    by_fw: Mapping[str, tuple[int, Cause]],
    knowledge: Knowledge,
    request: Request,
    releases: Mapping[str, Sequence[Version]],
) -> list[Remedy]:
    """For each framework asked for, up to :data:`TRIES` lines nearest the one it has whose
    cuDNN major is another framework's, nearest first."""
    out: list[Remedy] = []
    for fw, (_, cause) in by_fw.items():
        if fw not in FLAGS or request.framework(fw) is None:
            continue
        wanted = {major for other, (major, _) in by_fw.items() if other != fw}
        version = asked_at(cause)
        here = Version(f"{version.major}.{version.minor}")
        fits = [
            line.line
            for line in known_lines(knowledge, fw)
            if _cudnn_major(line) in wanted
            and line.python.contains(request.target.python)
            and _final(line, releases.get(fw, ()))
        ]
        fits.sort(key=lambda line: (abs(line.minor - here.minor), line))
        out += [Remedy.use((FLAGS[fw], str(line))) for line in fits[:TRIES]]
    return out


def _cudnn_major(line: Line) -> int | None:
    """The cuDNN major a recipe line was built for (a JAX line: its lowest, any CUDA major)."""
    if isinstance(line, SpacyLine):
        return None
    if not isinstance(line, JaxLine):
        return int(line.cudnn.major)
    majors = [_major_of(spec) for spec in line.cudnn.values()]
    return min((m for m in majors if m is not None), default=None)


def _major_of(spec: SpecifierSet) -> int | None:
    """The major of a specifier's lowest bound (``>=9.8,<10`` -> 9)."""
    bounds = [s.version for s in spec if s.operator in (">=", "==", "~=")]
    return max((Version(b.rstrip(".*")).release[0] for b in bounds), default=None)


def _final(line: Line, versions: Sequence[Version]) -> bool:
    """The line has a final release on the index (True when the index was not read)."""
    return not versions or any(line.contains(v) and not v.is_prerelease for v in versions)
