"""One CUDA major per environment: which one, chosen before the solve from the recipe lines.

One environment holds one CUDA stack: one CUDA major, one cuDNN, one set of NVIDIA wheels. CUDA
12 and CUDA 13 wheels have different names (``nvidia-cudnn-cu12``, ``nvidia-cudnn-cu13``), so
no resolver conflict would stop TensorFlow's CUDA 12 set from landing beside PyTorch 2.11's CUDA
13 set. So :func:`choose` takes the CUDA majors the lines of each framework asked for reach
(TensorFlow and PyTorch lines one each, JAX lines one per CUDA extra, spaCy lines one per
GPU extra with a CuPy build in the recipes), keeps those every framework reaches, and picks the
newest the driver runs (without a driver: CUDA 12 where allowed, the stack most drivers in use
run, else the newest). So on a CUDA 13 driver, JAX 0.8 beside spaCy 3.8 (extras up to
``cuda12x``) runs on CUDA 12, which a CUDA 13 driver runs too, rather than on a CUDA 13 that
spaCy cannot reach. spaCy alone picks its own major (:mod:`.spacy`); where spaCy shares no major
with the others, the others' major is kept and spaCy's roots refuse it with the lines that keep
the GPU (:func:`cudaenv.solver.rules.spacy.roots`). Releases of another major are then refused
during the solve (:func:`cudaenv.solver.rules.recipes.refused`); none common to the others is
refused at once, with each framework's newest line on a major the others reach as the way out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from cudaenv.errors import Explanation, Remedy, ResolutionError
from cudaenv.knowledge import JaxLine, SpacyLine, TfLine, TorchLine
from cudaenv.solver.rules.context import StackMajor

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.requirements import Requirement as Pep508
    from packaging.utils import NormalizedName
    from packaging.version import Version

    from cudaenv.knowledge import Knowledge
    from cudaenv.request import FrameworkRequest
    from cudaenv.solver.rules.catalog import Catalog
    from cudaenv.solver.rules.context import Context

__all__ = [
    "DEFAULT_CUDA_MAJOR",
    "FLAGS",
    "LABELS",
    "Line",
    "StackMajor",
    "choose",
    "constraints_of",
    "known_lines",
    "majors",
    "newest_line",
    "reaching",
    "who",
]

Line = TfLine | TorchLine | JaxLine | SpacyLine  # a recipe line of any framework

# With no driver detected and none given: CUDA 12 where the frameworks allow it.
DEFAULT_CUDA_MAJOR = 12
LABELS = {"tensorflow": "TensorFlow", "torch": "PyTorch", "jax": "JAX", "spacy": "spaCy"}
FLAGS = {"tensorflow": "--tf", "torch": "--torch", "jax": "--jax", "spacy": "--spacy"}
_FOLLOWS = "spacy"  # its CuPy extra is picked for the others' major


def known_lines(knowledge: Knowledge, name: str) -> Sequence[Line]:
    """The recipe lines of framework ``name``, oldest first."""
    lines: dict[str, Sequence[Line]] = {
        "tensorflow": knowledge.tensorflow,
        "torch": knowledge.torch,
        "jax": knowledge.jax,
        "spacy": knowledge.spacy,
    }
    return lines[canonicalize_name(name)]


def majors(line: Line) -> frozenset[int]:
    """The CUDA majors a recipe line reaches: a TensorFlow or PyTorch line's one, a JAX line's
    extras, a spaCy line's GPU extras."""
    if isinstance(line, JaxLine):
        return frozenset(line.extras)
    if isinstance(line, SpacyLine):
        return frozenset(line.gpu_extras)
    return frozenset({line.cuda_major})


def constraints_of(line: Line) -> Sequence[Pep508]:
    """What a line's recipe narrows without adding (TensorFlow's and spaCy's ``numpy<2``)."""
    return line.constraints if isinstance(line, (TfLine, SpacyLine)) else ()


def _span(lines: Sequence[Line]) -> frozenset[int]:
    return frozenset().union(*map(majors, lines))


def _gpu_span(knowledge: Knowledge, lines: Sequence[Line]) -> frozenset[int]:
    """The CUDA majors spaCy's ``lines`` reach: a GPU extra, and a CuPy build in the recipes."""
    return frozenset(m for m in _span(lines) if knowledge.cupy_for(m) is not None)


def who(name: str, text: str, lines: Sequence[Line]) -> str:
    """``PyTorch 2.7`` (one line) or ``PyTorch >=2.9`` (what was asked)."""
    label = LABELS.get(name, name)
    return f"{label} {lines[0].line}" if len(lines) == 1 else f"{label} {text}"


def reaching(lines: Sequence[Line], major: int) -> tuple[Line, ...]:
    """The lines that reach CUDA ``major`` (all of them when none does: the solve explains)."""
    return tuple(x for x in lines if major in majors(x)) or tuple(lines)


def choose(
    ctx: Context, catalog: Catalog, lines: Mapping[NormalizedName, Sequence[Line]]
) -> StackMajor | None:
    """The environment's CUDA major for ``ctx.request`` (each framework with the recipe
    lines it may pick); None when only spaCy is asked for (it picks its own)."""
    asked = [(fw, lines[fw.name]) for fw in ctx.request.frameworks if fw.name != _FOLLOWS]
    if not asked:
        return None
    common = frozenset.intersection(*(_span(ls) for _, ls in asked))
    if not common:
        raise ResolutionError.explained(_conflict(ctx, catalog, asked))
    follows = lines.get(canonicalize_name(_FOLLOWS))
    if follows is not None:
        with_spacy = common & _gpu_span(ctx.knowledge, follows)
        common = with_spacy or common  # none: spaCy's roots refuse, with the ways out
    max_cuda = ctx.machine.max_cuda
    if max_cuda is not None:
        fits = [m for m in common if m <= max_cuda.major]
        major = max(fits) if fits else min(common)
    else:
        major = DEFAULT_CUDA_MAJOR if DEFAULT_CUDA_MAJOR in common else max(common)
    fw, fw_lines = asked[0]
    return StackMajor(major=major, who=who(fw.name, fw.text, reaching(fw_lines, major)))


def _conflict(
    ctx: Context, catalog: Catalog, asked: Sequence[tuple[FrameworkRequest, Sequence[Line]]]
) -> Explanation:
    """``TensorFlow 2.21 for CUDA 12 and PyTorch 2.11 for CUDA 13``: the ways out are each
    framework's newest line on a major the others all reach."""
    said = [
        f"{who(fw.name, fw.text, ls)} for CUDA {' or '.join(map(str, sorted(_span(ls))))}"
        for fw, ls in asked
    ]
    hints = []
    for fw, _ in asked:
        others = [_span(ls) for f, ls in asked if f != fw]
        line = newest_line(ctx, catalog, fw.name, frozenset.intersection(*others))
        if line is not None:
            hints.append(Remedy.use((FLAGS[fw.name], str(line))))
    return Explanation(
        headline=f"{' and '.join(said)}: one environment holds one CUDA major",
        hints=tuple(hints),
    )


def newest_line(
    ctx: Context, catalog: Catalog, name: str, wanted: frozenset[int] | None = None
) -> Version | None:
    """The newest line of ``name`` that reaches one of ``wanted`` (None: a major the driver
    runs, any without a driver), has wheels for the target Python and a final release on the
    index."""
    if wanted is None:
        max_cuda = ctx.machine.max_cuda
        top = max_cuda.major if max_cuda is not None else None
        wanted = frozenset(m for m in range(10, 20) if top is None or m <= top)
    listed = catalog.versions(name)
    fits = [
        line.line
        for line in known_lines(ctx.knowledge, name)
        if wanted & majors(line)
        and line.python.contains(ctx.python)
        and any(line.contains(v) and not v.is_prerelease for v in listed)
    ]
    return max(fits, default=None)
