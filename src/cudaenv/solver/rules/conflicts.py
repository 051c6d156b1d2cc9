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
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from cudaenv.knowledge import spec_text

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from packaging.specifiers import SpecifierSet
    from packaging.utils import NormalizedName

    from cudaenv.errors import Remedy
    from cudaenv.knowledge import Knowledge, SpacyLine, TfLine
    from cudaenv.request import Request
    from cudaenv.solver.explain import Explanation

    Pickable = Mapping[str, Sequence[Version]]  # project -> versions the solve could pick
    Limits = Mapping[NormalizedName, SpecifierSet]  # project -> the recipes' constraint on it

__all__ = ["Limits", "Pickable", "conflicting", "explain", "side", "sides", "unmet_alone"]

_LABELS = {"tensorflow": "TensorFlow", "spacy": "spaCy"}


def _meets(cause: Any, version: Version) -> bool:
    return bool(cause.requirement.specifier.contains(version, prereleases=True))


def _by_project(causes: Collection[Any], pickable: Pickable) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for c in causes:
        project = getattr(c.requirement, "project", None)
        if project is not None and project in pickable and hasattr(c.requirement, "specifier"):
            out.setdefault(str(project), []).append(c)
    return out


def _order(group: list[Any]) -> list[Any]:
    """The root requirements first, then each asker's releases newest first."""
    roots = [c for c in group if c.parent is None]
    asked = sorted((c for c in group if c.parent is not None), key=lambda c: c.parent.version)
    return roots + asked[::-1]


def _asker(cause: Any) -> object:
    parent = cause.parent
    return parent.project if parent is not None else id(cause)


def conflicting(causes: Collection[Any], pickable: Pickable) -> tuple[Any, Any] | None:
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


def unmet_alone(causes: Collection[Any], pickable: Pickable) -> Any | None:
    """A cause that no pickable release meets even alone (the recipes' constraints, a target
    with no file for it), the asker's newest release first; None if each can be met."""
    for project, group in _by_project(causes, pickable).items():
        for c in _order(group):
            if not any(_meets(c, v) for v in pickable[project]):
                return c
    return None


def side(cause: Any, others: int, knowledge: Knowledge) -> str:
    """``jax==0.8.0 needs numpy>=2.0``; a CuPy build says it is spaCy's."""
    parent = cause.parent
    who = str(parent) if parent is not None else getattr(cause.requirement, "origin", None)
    if parent is not None and any(c.name == parent.project for c in knowledge.cupy):
        who = f"{who} (spaCy's CuPy)"
    more = f" (and {others} older releases of {parent.project})" if others else ""
    return f"{who or 'the request'}{more} needs {cause.requirement.format_for_error()}"


def sides(causes: Collection[Any], knowledge: Knowledge) -> list[str]:
    """One line per asking project (its newest release), not one per release tried."""
    by_project: dict[object, list[Any]] = {}
    for c in causes:
        by_project.setdefault(_asker(c), []).append(c)
    picked = [
        (max(group, key=lambda c: c.parent.version) if group[0].parent else group[0], len(group))
        for group in by_project.values()
    ]
    return list(dict.fromkeys(side(c, n - 1, knowledge) for c, n in picked))


def _limit(cause: Any, knowledge: Knowledge, request: Request, limits: Limits) -> str | None:
    """``spaCy 3.7's recipe limits numpy to <2``: the constraint that leaves ``cause`` no
    release, with the recipe line it comes from."""
    project = cause.requirement.project
    spec = limits.get(project)
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
    causes: Collection[Any],
    knowledge: Knowledge,
    request: Request,
    pickable: Pickable,
    limits: Limits,
    hints: tuple[Remedy, ...],
) -> Explanation:
    """Package against package, in the words of the requirements that really conflict."""
    from cudaenv.solver.explain import Explanation  # explain imports this module

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
        headline = f"no release fits: {one}, and none is available for {target}"
        return Explanation(headline=headline, reasons=reasons, hints=hints)
    if not pickable or len(said) == 2:
        headline = f"these requirements conflict: {said[0]}, but {said[1]}"
        return Explanation(headline=headline, reasons=reasons, hints=hints)
    headline = f"no release meets these requirements together: {'; '.join(said)}"
    return Explanation(headline=headline, hints=hints)
