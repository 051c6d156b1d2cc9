"""Other requests that may work: the lines and Pythons a hint can name.

When a solve fails, :mod:`.explain` names a way out, and a way out is only worth printing if it
is concrete and fits the whole request: ``--python`` must be one every framework asked for
supports, ``--tf`` a line the driver runs that has a spaCy GPU extra for its CUDA when spaCy is
asked for too. This module proposes those values from the knowledge base and the versions the
index lists; it is pure. The solver then tries each proposal before it is offered
(:mod:`.remedies`), because only a solve can tell that one works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from packaging.version import Version

from cudaenv.knowledge import TorchLine
from cudaenv.solver.requirements import admits

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.specifiers import SpecifierSet

    from cudaenv.knowledge import JaxLine, Knowledge, SpacyLine, TfLine
    from cudaenv.request import Request
    from cudaenv.solver.rules.majors import Line

    Releases = Mapping[str, Sequence[Version]]  # project -> versions the index lists

__all__ = [
    "PYTHONS",
    "Releases",
    "newest_on_driver",
    "newest_python",
    "newest_spacy",
    "newest_tf",
    "pythons",
    "spacy_lines",
]

# Pythons a hint may name, newest first: the range cudaenv's recipes span, with room to grow.
PYTHONS = tuple(Version(f"3.{minor}") for minor in range(20, 5, -1))
TENSORFLOW = canonicalize_name("tensorflow")
SPACY = canonicalize_name("spacy")


def _final_on_index(line: Line, versions: Sequence[Version]) -> bool:
    """The line has a final release on the index (True when the index was not read)."""
    return not versions or any(line.contains(v) and not v.is_prerelease for v in versions)


def spacy_lines(knowledge: Knowledge, request: Request, releases: Releases) -> list[SpacyLine]:
    """The spaCy lines the request admits (all of them when spaCy is not asked for)."""
    fw = request.framework(SPACY)
    if fw is None:
        return list(knowledge.spacy)
    return [s for s in knowledge.spacy if _admits_line(s, fw.specifier, releases.get(SPACY, ()))]


def _admits_line(line: TfLine | SpacyLine, spec: SpecifierSet, versions: Sequence[Version]) -> bool:
    if versions:
        return any(line.contains(v) and admits(spec, v, pre=True) for v in versions)
    return spec.contains(Version(f"{line.line}.0"), prereleases=True)


def _spacy_ok(tf: TfLine, sp: Sequence[SpacyLine], python: Version, gpu: bool) -> bool:
    """Some admitted spaCy line runs on ``python`` beside TensorFlow line ``tf``."""
    return any(s.python.contains(python) and (not gpu or tf.cuda_major in s.gpu_extras) for s in sp)


def newest_tf(
    knowledge: Knowledge,
    request: Request,
    releases: Releases,
    *,
    max_cuda: Version | None,
    python: Version | None = None,
) -> Version | None:
    """The newest TensorFlow line with a final release that runs on ``python`` (the target's by
    default) under a driver of ``max_cuda`` (any when None), beside the spaCy asked for."""
    python = python or request.target.python
    with_spacy = request.framework(SPACY) is not None
    sp = spacy_lines(knowledge, request, releases)
    versions = releases.get(TENSORFLOW, ())
    for t in sorted(knowledge.tensorflow, key=lambda t: t.line, reverse=True):
        if t.pre_release_only or not t.python.contains(python):
            continue
        if request.gpu and max_cuda is not None and t.min_cuda > max_cuda:
            continue
        if not _final_on_index(t, versions):
            continue
        if with_spacy and not _spacy_ok(t, sp, python, request.gpu):
            continue
        return t.line
    return None


def newest_spacy(
    knowledge: Knowledge,
    request: Request,
    releases: Releases,
    *,
    cuda_major: int | None,
    python: Version | None = None,
) -> Version | None:
    """The newest spaCy line with a final release for ``python`` and, on the GPU, an extra for
    ``cuda_major`` (TensorFlow's CUDA; any when None)."""
    python = python or request.target.python
    versions = releases.get(SPACY, ())
    for s in sorted(knowledge.spacy, key=lambda s: s.line, reverse=True):
        if not s.python.contains(python) or not _final_on_index(s, versions):
            continue
        if request.gpu and (not s.gpu_extras or (cuda_major and cuda_major not in s.gpu_extras)):
            continue
        return s.line
    return None


def newest_on_driver(
    knowledge: Knowledge, name: str, request: Request, releases: Releases, max_cuda: Version
) -> Version | None:
    """The newest PyTorch or JAX line with a final release for the target Python whose CUDA
    (PyTorch: its build's; JAX: one of its extras) a driver of ``max_cuda`` runs."""
    lines: Sequence[TorchLine | JaxLine] = knowledge.torch if name == "torch" else knowledge.jax
    versions = releases.get(name, ())
    fits = [
        line.line
        for line in lines
        if line.python.contains(request.target.python)
        and _final_on_index(line, versions)
        and any(m <= max_cuda.major for m in _majors(line))
    ]
    return max(fits, default=None)


def _majors(line: TorchLine | JaxLine) -> tuple[int, ...]:
    return (line.min_cuda.major,) if isinstance(line, TorchLine) else line.cuda_majors


def newest_python(
    knowledge: Knowledge, request: Request, releases: Releases, spec: SpecifierSet | None = None
) -> Version | None:
    """The newest Python inside ``spec`` that a line of every framework asked for supports
    (TensorFlow 2.13 with spaCy 3.8: 3.11, not spaCy's 3.15)."""
    return next(iter(pythons(knowledge, request, releases, spec)), None)


def pythons(
    knowledge: Knowledge, request: Request, releases: Releases, spec: SpecifierSet | None = None
) -> list[Version]:
    """Every such Python, newest first: the recipes' ranges run ahead of the wheels on the
    index (a new CPython), so the solver tries them in turn and offers the first that works."""
    tf = request.framework(TENSORFLOW)
    tf_lines = [
        t
        for t in knowledge.tensorflow
        if tf is not None
        and not t.pre_release_only
        and _admits_line(t, tf.specifier, releases.get(TENSORFLOW, ()))
    ]
    sp = spacy_lines(knowledge, request, releases) if request.framework(SPACY) else []
    out = []
    for python in PYTHONS:
        if python == request.target.python or (spec is not None and not spec.contains(python)):
            continue
        if tf is not None and not any(t.python.contains(python) for t in tf_lines):
            continue
        if sp and not any(s.python.contains(python) for s in sp):
            continue
        both = tf is not None and sp
        if both and not any(_spacy_ok(t, sp, python, request.gpu) for t in tf_lines):
            continue
        out.append(python)
    return out
