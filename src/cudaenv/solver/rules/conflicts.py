"""Package against package: name the requirements that really conflict, not the first two.

resolvelib's ``ResolutionImpossible.causes`` lists every requirement on the project that could
not be pinned, compatible ones included: TensorFlow 2.20's ``numpy>=1.26.0`` sits beside JAX
0.8's ``numpy>=2.0`` and spaCy's CuPy's ``numpy<1.29,>=1.20``, and only the last two exclude each
other. Naming the first two as "the conflict" sends the user after the wrong framework. So
:func:`conflicting` looks for two causes on one project that no release of it meets, among the
releases the solve could pick for the target (``pickable``: a file for the target, not yanked,
not refused, within the recipes' constraints), each asker's newest release first; where a
requirement is unmet even alone, the recipes' constraint on that project (``numpy<2`` for
spaCy 3.7) is the other side. Pure: the solver passes the versions and constraints in.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from packaging.version import Version

from cudaenv.errors import Explanation
from cudaenv.knowledge import spec_text
from cudaenv.solver.rules.yanked import fitting

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from packaging.specifiers import SpecifierSet
    from packaging.utils import NormalizedName
    from resolvelib.structs import RequirementInformation

    from cudaenv.errors import Remedy
    from cudaenv.knowledge import Knowledge, SpacyLine, TfLine
    from cudaenv.request import Request
    from cudaenv.solver.candidates import Candidate
    from cudaenv.solver.requirements import Requirement

    Cause = RequirementInformation[Requirement, Candidate]  # a requirement and who asked
    Pickable = Mapping[str, Sequence[Version]]  # project -> versions the solve could pick
    Limits = Mapping[NormalizedName, SpecifierSet]  # project -> the recipes' constraint on it

__all__ = [
    "Cause",
    "Limits",
    "Pickable",
    "asked_at",
    "conflicting",
    "explain",
    "side",
    "sides",
    "unmet_alone",
]

_LABELS = {"tensorflow": "TensorFlow", "spacy": "spaCy"}
_NONE = Version("0")


def asked_at(cause: Cause) -> Version:
    """The release of the project that asked (a root requirement, or a virtual parent: 0)."""
    parent = cause.parent
    return (parent.version if parent is not None else None) or _NONE


def _meets(cause: Cause, version: Version) -> bool:
    return cause.requirement.specifier.contains(version, prereleases=True)


def _by_project(causes: Collection[Cause], pickable: Pickable) -> dict[str, list[Cause]]:
    out: dict[str, list[Cause]] = {}
    for c in causes:
        project = c.requirement.project
        if project is not None and project in pickable:
            out.setdefault(str(project), []).append(c)
    return out


def _order(group: list[Cause]) -> list[Cause]:
    """The root requirements first, then each asker's releases newest first."""
    roots = [c for c in group if c.parent is None]
    asked = sorted((c for c in group if c.parent is not None), key=asked_at)
    return roots + asked[::-1]


def _asker(cause: Cause) -> object:
    parent = cause.parent
    return parent.project if parent is not None else id(cause)


def conflicting(causes: Collection[Cause], pickable: Pickable) -> tuple[Cause, Cause] | None:
    """Two causes from different askers on one project, each met by some pickable release
    but none meeting both; None when every pair can be met (the conflict takes three or more,
    or one cause is unmet alone: :func:`unmet_alone`)."""
    for project, group in _by_project(causes, pickable).items():
        versions = pickable[project]
        met = [c for c in _order(group) if any(_meets(c, v) for v in versions)]  # else alone
        for a, b in itertools.combinations(met, 2):
            if _asker(a) != _asker(b) and not any(_meets(a, v) and _meets(b, v) for v in versions):
                return a, b
    return None


def unmet_alone(causes: Collection[Cause], pickable: Pickable) -> Cause | None:
    """A cause that no pickable release meets even alone (the recipes' constraints, a target
    with no file for it), the asker's newest release first; None if each can be met."""
    for project, group in _by_project(causes, pickable).items():
        for c in _order(group):
            if not any(_meets(c, v) for v in pickable[project]):
                return c
    return None


def side(cause: Cause, others: int, knowledge: Knowledge) -> str:
    """``jax==0.8.0 needs numpy>=2.0``; a CuPy build says it is spaCy's."""
    parent = cause.parent
    who = str(parent) if parent is not None else cause.requirement.origin
    if parent is not None and any(c.name == parent.project for c in knowledge.cupy):
        who = f"{who} (spaCy's CuPy)"
    more = f" (and {others} older releases of {parent.project})" if others and parent else ""
    return f"{who or 'the request'}{more} needs {cause.requirement.format_for_error()}"


def sides(causes: Collection[Cause], knowledge: Knowledge) -> list[str]:
    """One line per asking project (its newest release), not one per release tried."""
    by_project: dict[object, list[Cause]] = {}
    for c in causes:
        by_project.setdefault(_asker(c), []).append(c)
    picked = [
        (max(group, key=asked_at) if group[0].parent else group[0], len(group))
        for group in by_project.values()
    ]
    return list(dict.fromkeys(side(c, n - 1, knowledge) for c, n in picked))


def _limit(cause: Cause, knowledge: Knowledge, request: Request, limits: Limits) -> str | None:
    """``spaCy 3.7's recipe limits numpy to <2``: the constraint that leaves ``cause`` no
    release, with the recipe line it comes from."""
    project = cause.requirement.project
    spec = limits.get(project) if project is not None else None
    if spec is None:
        return None
    whose = "cudaenv's recipes limit"
    for fw in request.frameworks:
        lines: Sequence[TfLine | SpacyLine] = ()
        if fw.name in _LABELS:
            lines = knowledge.tensorflow if fw.name == "tensorflow" else knowledge.spacy
        for line in lines:
            named = any(canonicalize_name(r.name) == project for r in line.constraints)
            if named and fw.specifier.contains(Version(f"{line.line}.0"), prereleases=True):
                whose = f"cudaenv's recipe for {_LABELS[fw.name]} {line.line} limits"
    return f"{whose} {project} to {spec_text(spec)}"


def explain(
    causes: Collection[Cause],
    knowledge: Knowledge,
    request: Request,
    pickable: Pickable,
    limits: Limits,
    hints: tuple[Remedy, ...],
    *,
    yanked: Mapping[str, Mapping[Version, str]] | None = None,
) -> Explanation:
    """Package against package, in the words of the requirements that really conflict; a
    requirement only yanked releases would meet says so (:mod:`.yanked`)."""
    said = sides(causes, knowledge)
    reasons = tuple(said) if len(said) > 2 else ()
    pair = conflicting(causes, pickable)
    if pair is not None:
        first, second = (side(c, 0, knowledge) for c in pair)
        headline = f"these requirements conflict: {first}, but {second}"
        return Explanation(headline=headline, reasons=reasons, hints=hints)
    alone = unmet_alone(causes, pickable)
    limit = _limit(alone, knowledge, request, limits) if alone is not None else None
    if alone is not None and limit is not None:
        headline = f"these requirements conflict: {side(alone, 0, knowledge)}, but {limit}"
        return Explanation(headline=headline, reasons=reasons, hints=hints)
    if len(said) == 1 or alone is not None:
        target = f"Python {request.target.python} on {request.target.platform}"
        one = said[0] if alone is None else side(alone, 0, knowledge)
        gone = fitting(causes if alone is None else (alone,), yanked or {})
        none = f"the only releases that would do are yanked on the index: {gone}" if gone else None
        headline = f"no release fits: {one}, and {none or f'none is available for {target}'}"
        return Explanation(headline=headline, reasons=reasons, hints=hints)
    if not pickable or len(said) == 2:
        headline = f"these requirements conflict: {said[0]}, but {said[1]}"
        return Explanation(headline=headline, reasons=reasons, hints=hints)
    headline = f"no release meets these requirements together: {'; '.join(said)}"
    return Explanation(headline=headline, hints=hints)
