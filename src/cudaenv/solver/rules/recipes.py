"""How recipes become requirements: a request's roots, what a release adds, what is refused.

Wheel metadata does not say which CUDA a framework release needs (docs/architecture.md), so:

- TensorFlow: ``--tf 2.15`` roots ``tensorflow[and-cuda] ==2.15.*`` where the line has the
  extra, else plain ``tensorflow`` (2.12/2.13), and ``__cuda >= min_cuda`` of the lines it may
  pick. Each TensorFlow release then adds its own line's ``__cuda`` floor and, for lines
  without the extra, the line's ``requirements`` (the cu11 wheel pins) as its dependencies, so
  a specifier spanning lines still gets the right set for whichever release wins.
- PyTorch and JAX: :mod:`.frameworks`; spaCy: :mod:`.spacy`. All of them run on the one CUDA
  major the plan chooses first (:mod:`.majors`).
- Recipe ``constraints`` (``numpy<2`` for spaCy < 3.8, TF 2.14) narrow candidates without
  adding packages. They are taken from every line the request may pick, which can only
  over-restrict a specifier that spans lines, never admit a bad set.
- Refused releases: recipe ``bad`` entries (on the GPU path) and global exclusions, never
  picked; pinning one exactly is an error that gives the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from cudaenv.errors import Remedy
from cudaenv.solver import alternatives, explain, frameworks, majors, spacy
from cudaenv.solver.requirements import (
    CUDA,
    PYTHON,
    SpecifierRequirement,
    VirtualRequirement,
    admits,
    exact_version,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.requirements import Requirement as Pep508
    from packaging.specifiers import SpecifierSet
    from packaging.utils import NormalizedName
    from packaging.version import Version

    from cudaenv.knowledge import Knowledge, TfLine
    from cudaenv.request import FrameworkRequest, Request
    from cudaenv.solver.candidates import WheelCandidate
    from cudaenv.solver.factory import Factory
    from cudaenv.solver.majors import StackMajor
    from cudaenv.solver.requirements import Requirement

    Limits = Mapping[NormalizedName, SpecifierSet]  # constraints: narrow, never add

__all__ = ["Plan", "plan", "refused", "release_requirements"]

TENSORFLOW = canonicalize_name("tensorflow")
SPACY = canonicalize_name("spacy")
_FLAGS = {name: (majors.LABELS[name], majors.FLAGS[name]) for name in majors.LABELS}


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """What to hand the resolver (roots, in the user's order) and the factory (constraints by
    project, for :meth:`~cudaenv.solver.factory.Factory.restrict`)."""

    roots: tuple[Requirement, ...]
    constraints: Mapping[NormalizedName, SpecifierSet]


def _req(req: Pep508, origin: str) -> SpecifierRequirement:
    extras = frozenset(canonicalize_name(e) for e in req.extras)
    return SpecifierRequirement.from_requirement(req, extras, origin=origin)


def _merge(into: dict[NormalizedName, SpecifierSet], reqs: Sequence[Pep508]) -> None:
    for r in reqs:
        name = canonicalize_name(r.name)
        into[name] = into[name] & r.specifier if name in into else r.specifier


def refused(
    knowledge: Knowledge,
    request: Request,
    name: NormalizedName,
    version: Version,
    major: int | None = None,
) -> str | None:
    """Why cudaenv never picks ``name`` ``version`` for this request, or None; ``major`` is the
    stack's CUDA major, when one was chosen (:func:`.majors.choose`)."""
    reason = knowledge.excluded(name, version)
    if reason or not request.gpu:
        return reason
    if name == TENSORFLOW:
        line = knowledge.tf_line(version)
        if line is None:
            return "cudaenv's recipes do not know which CUDA this release needs"
        if major is not None and line.cuda_major != major:
            return (
                f"TensorFlow {line.line} is built for CUDA {line.cuda_major}, and this "
                f"environment's CUDA stack is CUDA {major} (one CUDA major per environment)"
            )
        return line.bad_reason(version, request.target.python)
    if name in (frameworks.TORCH, frameworks.JAX):
        asked = request.framework(name) is not None
        return frameworks.refused(knowledge, name, version, major, asked=asked)
    if name == SPACY and knowledge.spacy_line(version) is None:
        return "cudaenv's recipes do not know how this release reaches the GPU"
    return None


def release_requirements(
    knowledge: Knowledge, request: Request, cand: WheelCandidate
) -> list[Requirement]:
    """What the recipes add to one release: a TF or PyTorch line's ``__cuda`` floor, TF's cu11
    pins; what a spaCy line imports but does not declare (click), on the GPU or not; what a
    JAX line's ``needs`` say of a jaxlib or plugin release (``numpy<2`` before jaxlib 0.4.26)."""
    if cand.name == frameworks.TORCH:
        return frameworks.release_requirements(knowledge, request, cand)
    if cand.name not in (SPACY, TENSORFLOW):
        who = f"recipe: {cand.name} {cand.version}"
        return [_req(r, who) for r in knowledge.release_needs(cand.name, cand.version)]
    if cand.name == SPACY:
        sp_line = knowledge.spacy_line(cand.version)
        if sp_line is None:
            return []
        return [_req(r, f"recipe: spaCy {sp_line.line}") for r in sp_line.requirements]
    if cand.name != TENSORFLOW or not request.gpu:
        return []
    line = knowledge.tf_line(cand.version)
    if line is None:
        return []
    who = f"TensorFlow {line.line}"
    added: list[Requirement] = [VirtualRequirement.at_least(CUDA, line.min_cuda, who=who)]
    if line.extra is None:
        added += [_req(r, f"recipe: {who}") for r in line.requirements]
    return added


def plan(factory: Factory) -> Plan:
    """The roots and constraints for ``factory.request``; the caller hands the constraints to
    the factory (:meth:`Factory.restrict`). Sets the stack's CUDA major on the factory
    (:attr:`Factory.cuda_major`, from :func:`.majors.choose`), and otherwise changes
    no answer of it: it only reads the index through it, and starts its lookahead on the first
    framework's roots early. Cost: the frameworks' pages, and for spaCy on the GPU one METADATA
    and CuPy's page (both needed by the solve anyway)."""
    request = factory.request
    factory.index.prefetch([fw.name for fw in request.frameworks] + _named(request.packages))
    roots: list[Requirement] = []  # __python roots of frameworks without wheels for it
    constraints: dict[NormalizedName, SpecifierSet] = {}
    _merge(constraints, request.fixed)
    known = {fw.name: majors.known_lines(factory.knowledge, fw.name) for fw in request.frameworks}
    lines = {fw.name: _lines(factory, fw, known[fw.name], roots) for fw in request.frameworks}
    stack = majors.choose(factory, lines) if request.gpu else None
    if stack is not None:
        factory.cuda_major = stack.major
        lines = {n: majors.reaching(ls, stack.major) for n, ls in lines.items()}
        for fw in request.frameworks:
            _check_exact(factory, fw)  # again: a release of another CUDA major is refused now
    for fw in request.frameworks:
        fw_lines = lines[fw.name]
        _merge(constraints, [c for line in fw_lines for c in getattr(line, "constraints", ())])
        if fw.name == SPACY:
            roots += spacy.roots(factory, fw, fw_lines, stack, constraints)
        else:
            made = _framework_roots(factory, fw, fw_lines, stack)
            roots += made
            factory.warm(made)  # the lookahead starts on it while the next one is planned
    roots += [_req(r, "asked for") for r in request.packages]
    virtual = [r for r in roots if isinstance(r, VirtualRequirement)]  # most actionable first
    return Plan(roots=(*virtual, *(r for r in roots if r not in virtual)), constraints=constraints)


def _named(reqs: Sequence[Pep508]) -> list[str]:
    return [canonicalize_name(r.name) for r in reqs]


def _lines(
    factory: Factory, fw: FrameworkRequest, known: Sequence[Any], roots: list[Requirement]
) -> tuple[Any, ...]:
    """The recipe lines ``fw`` may pick that run on the target Python (else a ``__python``
    root that conflicts, for the explanation); unknown releases and bad pins are errors."""
    label, _flag = _FLAGS[fw.name]
    _check_exact(factory, fw)
    pre = factory.request.pre
    listed = factory.versions(fw.name)
    versions = [v for v in listed if admits(fw.specifier, v, pre=pre)]
    found = tuple(line for line in known if any(line.contains(v) for v in versions))
    if not found:
        newest = _newest_line(factory, fw.name)
        why = explain.unknown_release(
            fw,
            known,
            label,
            versions=listed,
            newest_line=newest,
            uncurated=factory.uncurated.get(fw.name),
            pre=pre,
        )
        raise explain.as_error(why)
    fits = tuple(line for line in found if line.python.contains(factory.python))
    if fits:
        _check_usable(factory, fw, [v for v in versions if any(ln.contains(v) for ln in fits)])
        return fits
    newest = found[-1]
    roots.append(
        VirtualRequirement(name=PYTHON, specifier=newest.python, who=f"{label} {newest.line}")
    )
    return found


def _newest_line(factory: Factory, name: str) -> Version | None:
    """The newest line of ``name`` that fits this machine, target and the rest of the request."""
    request, knowledge, releases = factory.request, factory.knowledge, _listed(factory)
    if name == TENSORFLOW:
        max_cuda = factory.machine.max_cuda
        return alternatives.newest_tf(knowledge, request, releases, max_cuda=max_cuda)
    if name in (frameworks.TORCH, frameworks.JAX):
        return majors.newest_line(factory, name)
    return alternatives.newest_spacy(knowledge, request, releases, cuda_major=None)


def _listed(factory: Factory) -> dict[str, tuple[Version, ...]]:
    """The versions the index lists for each framework asked for (pages already read)."""
    return {str(fw.name): factory.versions(fw.name) for fw in factory.request.frameworks}


def _check_usable(factory: Factory, fw: FrameworkRequest, versions: Sequence[Version]) -> None:
    """Every release asked for is known-bad here: say why, not "no release fits"."""
    reasons = [factory.refused(fw.name, v) for v in versions]
    if not versions or not all(reasons):
        return
    label, _flag = _FLAGS[fw.name]
    listed = ", ".join(str(v) for v in sorted(versions))
    hints = explain.other_lines(
        factory.machine, factory.knowledge, factory.request, _listed(factory)
    )
    raise explain.as_error(
        explain.Explanation(
            headline=f"{label} {listed} cannot be used on Python {factory.python}: {reasons[0]}",
            hints=tuple(hints),
        )
    )


def _check_exact(factory: Factory, fw: FrameworkRequest) -> None:
    version = exact_version(fw.specifier)
    reason = version and factory.refused(fw.name, version)
    if version is None or not reason:
        return
    label, flag = _FLAGS[fw.name]
    line = f"{version.major}.{version.minor}"
    raise explain.as_error(
        explain.Explanation(
            headline=f"{label} {version} cannot be used: {reason}",
            hints=(
                Remedy(
                    text=f"use {flag} {line} (the newest {line}.x release that works)",
                    options=((flag, line),),
                ),
            ),
        )
    )


def _framework_roots(
    factory: Factory, fw: FrameworkRequest, lines: Sequence[Any], stack: StackMajor | None
) -> list[Requirement]:
    """The roots of TensorFlow, PyTorch or JAX (spaCy's are :func:`_spacy_roots`)."""
    gpu = factory.request.gpu
    if fw.name == frameworks.TORCH:
        return frameworks.torch_roots(fw, lines, factory.request)
    if fw.name == frameworks.JAX:
        return frameworks.jax_roots(fw, lines, stack.major if stack is not None else None)
    return _tf_roots(fw, lines, gpu)


def _tf_roots(tf: FrameworkRequest, lines: Sequence[TfLine], gpu: bool) -> list[Requirement]:
    extra = next((line.extra for line in lines if line.extra), None) if gpu else None
    extras = frozenset({canonicalize_name(extra)}) if extra else frozenset()
    roots: list[Requirement] = [
        SpecifierRequirement(
            name=TENSORFLOW, specifier=tf.specifier, extras=extras, origin=f"--tf {tf.text}"
        )
    ]
    if gpu:
        who = f"TensorFlow {lines[0].line}" if len(lines) == 1 else f"TensorFlow {tf.text}"
        floor = min(line.min_cuda for line in lines)
        roots.insert(0, VirtualRequirement.at_least(CUDA, floor, who=who))
    return roots
