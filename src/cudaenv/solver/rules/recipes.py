"""How recipes become requirements: a request's roots, what a release adds, what is refused.

Wheel metadata does not say which CUDA a framework release needs (docs/architecture.md), so:

- TensorFlow: ``--tf 2.15`` roots ``tensorflow[and-cuda] ==2.15.*`` where the line has the
  extra, else plain ``tensorflow`` (2.12/2.13), and ``__cuda >= min_cuda`` of the lines it may
  pick. Each TensorFlow release then adds its own line's ``__cuda`` floor and, for lines
  without the extra, the line's ``requirements`` (the cu11 wheel pins) as its dependencies, so
  a specifier spanning lines still gets the right set for whichever release wins.
- PyTorch and JAX: :mod:`.frameworks`; spaCy: :mod:`.spacy`. All of them run on the one CUDA
  major chosen first (:func:`choose`, :mod:`.majors`); :func:`plan` then makes the roots for it.
- Recipe ``constraints`` (``numpy<2`` for spaCy < 3.8, TF 2.14) narrow candidates without
  adding packages. They are taken from every line the request may pick, which can only
  over-restrict a specifier that spans lines, never admit a bad set.
- Refused releases: recipe ``bad`` entries (on the GPU path) and global exclusions, never
  picked; pinning one exactly is an error that gives the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from cudaenv.errors import Explanation, Remedy, ResolutionError
from cudaenv.knowledge import SpacyLine
from cudaenv.solver.requirements import (
    CUDA,
    PYTHON,
    SpecifierRequirement,
    VirtualRequirement,
    admits,
    exact_version,
)
from cudaenv.solver.rules import alternatives, explain, frameworks, majors, spacy

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.requirements import Requirement as Pep508
    from packaging.specifiers import SpecifierSet
    from packaging.utils import NormalizedName
    from packaging.version import Version

    from cudaenv.knowledge import Knowledge
    from cudaenv.request import FrameworkRequest, Request
    from cudaenv.solver.candidates import WheelCandidate
    from cudaenv.solver.requirements import Requirement
    from cudaenv.solver.rules.catalog import Catalog
    from cudaenv.solver.rules.context import Context
    from cudaenv.solver.rules.majors import Line

__all__ = ["Choice", "Plan", "choose", "plan", "refused", "release_requirements"]

TENSORFLOW = canonicalize_name("tensorflow")
SPACY = canonicalize_name("spacy")
_FLAGS = {name: (majors.LABELS[name], majors.FLAGS[name]) for name in majors.LABELS}


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    """The recipe lines each framework may pick, on the stack's CUDA major (``context``
    carries it), and the ``__python`` roots of frameworks without wheels for the target."""

    context: Context
    lines: Mapping[NormalizedName, tuple[Line, ...]]
    roots: tuple[Requirement, ...] = ()


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


def choose(ctx: Context, catalog: Catalog) -> Choice:
    """The lines each framework of ``ctx.request`` may pick and, on the GPU, the stack's CUDA
    major (:func:`.majors.choose`); a release asked for exactly that the recipes refuse on it
    is an error now. Cost: the frameworks' pages, read together."""
    request = ctx.request
    catalog.prefetch([fw.name for fw in request.frameworks] + _named(request.packages))
    roots: list[Requirement] = []  # __python roots of frameworks without wheels for it
    known = {fw.name: majors.known_lines(ctx.knowledge, fw.name) for fw in request.frameworks}
    lines = {fw.name: _lines(ctx, catalog, fw, known[fw.name], roots) for fw in request.frameworks}
    stack = majors.choose(ctx, catalog, lines) if request.gpu else None
    if stack is not None:
        ctx = ctx.on(stack)
        lines = {n: majors.reaching(ls, stack.major) for n, ls in lines.items()}
        for fw in request.frameworks:
            _check_exact(ctx, fw)  # again: a release of another CUDA major is refused now
    return Choice(context=ctx, lines=lines, roots=tuple(roots))


def plan(choice: Choice, catalog: Catalog) -> Plan:
    """The roots and constraints for the request on ``choice``'s major; the caller hands the
    constraints to the factory (:meth:`Factory.restrict`). It starts the catalog's lookahead
    on each framework's roots as soon as they are made. Cost: for spaCy on the GPU one METADATA
    and CuPy's page (both needed by the solve anyway)."""
    ctx = choice.context
    roots = list(choice.roots)
    constraints: dict[NormalizedName, SpecifierSet] = {}
    _merge(constraints, ctx.request.fixed)
    for fw in ctx.request.frameworks:
        fw_lines = choice.lines[fw.name]
        _merge(constraints, [c for line in fw_lines for c in majors.constraints_of(line)])
        if fw.name == SPACY:
            sp_lines = [x for x in fw_lines if isinstance(x, SpacyLine)]
            roots += spacy.roots(ctx, catalog, fw, sp_lines, constraints)
        else:
            made = frameworks.roots(ctx, fw, fw_lines)
            roots += made
            catalog.warm(made)  # the lookahead starts on it while the next one is planned
    roots += [_req(r, "asked for") for r in ctx.request.packages]
    virtual = [r for r in roots if isinstance(r, VirtualRequirement)]  # most actionable first
    return Plan(roots=(*virtual, *(r for r in roots if r not in virtual)), constraints=constraints)


def _named(reqs: Sequence[Pep508]) -> list[str]:
    return [canonicalize_name(r.name) for r in reqs]


def _lines(
    ctx: Context,
    catalog: Catalog,
    fw: FrameworkRequest,
    known: Sequence[Line],
    roots: list[Requirement],
) -> tuple[Line, ...]:
    """The recipe lines ``fw`` may pick that run on the target Python (else a ``__python``
    root that conflicts, for the explanation); unknown releases and bad pins are errors."""
    label, _flag = _FLAGS[fw.name]
    _check_exact(ctx, fw)
    pre = ctx.request.pre
    listed = catalog.versions(fw.name)
    versions = [v for v in listed if admits(fw.specifier, v, pre=pre)]
    found = tuple(line for line in known if any(line.contains(v) for v in versions))
    if not found:
        newest = _newest_line(ctx, catalog, fw.name)
        why = explain.unknown_release(
            fw,
            known,
            label,
            versions=listed,
            newest_line=newest,
            uncurated=ctx.uncurated.get(fw.name),
            pre=pre,
        )
        raise ResolutionError.explained(why)
    fits = tuple(line for line in found if line.python.contains(ctx.python))
    if fits:
        usable = [v for v in versions if any(ln.contains(v) for ln in fits)]
        _check_usable(ctx, catalog, fw, usable)
        return fits
    last = found[-1]
    roots.append(VirtualRequirement(name=PYTHON, specifier=last.python, who=f"{label} {last.line}"))
    return found


def _newest_line(ctx: Context, catalog: Catalog, name: str) -> Version | None:
    """The newest line of ``name`` that fits this machine, target and the rest of the request."""
    request, knowledge, releases = ctx.request, ctx.knowledge, _listed(ctx, catalog)
    if name == TENSORFLOW:
        max_cuda = ctx.machine.max_cuda
        return alternatives.newest_tf(knowledge, request, releases, max_cuda=max_cuda)
    if name in (frameworks.TORCH, frameworks.JAX):
        return majors.newest_line(ctx, catalog, name)
    return alternatives.newest_spacy(knowledge, request, releases, cuda_major=None)


def _listed(ctx: Context, catalog: Catalog) -> dict[str, tuple[Version, ...]]:
    """The versions the index lists for each framework asked for (pages already read)."""
    return {str(fw.name): catalog.versions(fw.name) for fw in ctx.request.frameworks}


def _refused(ctx: Context, name: NormalizedName, version: Version) -> str | None:
    return refused(ctx.knowledge, ctx.request, name, version, ctx.cuda_major)


def _check_usable(
    ctx: Context, catalog: Catalog, fw: FrameworkRequest, versions: Sequence[Version]
) -> None:
    """Every release asked for is known-bad here: say why, not "no release fits"."""
    reasons = [_refused(ctx, fw.name, v) for v in versions]
    if not versions or not all(reasons):
        return
    label, _flag = _FLAGS[fw.name]
    listed = ", ".join(str(v) for v in sorted(versions))
    hints = explain.other_lines(ctx.machine, ctx.knowledge, ctx.request, _listed(ctx, catalog))
    raise ResolutionError.explained(
        Explanation(
            headline=f"{label} {listed} cannot be used on Python {ctx.python}: {reasons[0]}",
            hints=tuple(hints),
        )
    )


def _check_exact(ctx: Context, fw: FrameworkRequest) -> None:
    version = exact_version(fw.specifier)
    reason = version and _refused(ctx, fw.name, version)
    if version is None or not reason:
        return
    label, flag = _FLAGS[fw.name]
    line = f"{version.major}.{version.minor}"
    raise ResolutionError.explained(
        Explanation(
            headline=f"{label} {version} cannot be used: {reason}",
            hints=(
                Remedy(
                    text=f"use {flag} {line} (the newest {line}.x release that works)",
                    options=((flag, line),),
                ),
            ),
        )
    )
