"""Relaxing a framework's exact pin on an NVIDIA wheel where NVIDIA's rules allow a newer one.

Two frameworks in one environment often pin different exact releases of one NVIDIA wheel
(TensorFlow 2.18: ``nvidia-cudnn-cu12==9.3.0.75``; PyTorch 2.7: ``==9.5.1.17``), and an
environment holds one. ``constraints/compat_rules.toml`` records, with NVIDIA's sources, where a
newer release of a library within its major may stand in for the one a program was built with
(docs/facts.md, "CUDA library compatibility rules (for relaxing pins)"). So:

- :func:`relax`: when a framework's METADATA pins an NVIDIA wheel exactly and a ``relax`` rule
  covers the wheel, the factory asks for ``>=pin,<next major`` instead and keeps the pin;
- :func:`pinned_first`: the releases some framework pinned are offered first, newest first, then
  the rest of the major, *oldest* first.

The resolver then finds *the closest common set* in this sense: a framework alone gets exactly
its own pins; two frameworks get, for each wheel, the newest of their pins (a release one of them
was built and tested with, never below the other's, which the rule says serves both); only where
no pinned release meets every requirement (a third asks for a range above all the pins: JAX
0.4's plugin wants ``nvidia-nccl-cu12>=2.18.1`` beside TensorFlow 2.15's ``==2.16.5``) the
lowest release that meets every requirement, the one closest to what the frameworks were built
with, not the newest of the major. The provider pins these wheels after the frameworks
(:meth:`cudaenv.solver.provider.Provider.get_preference`), so every framework's pin is known
when the release is chosen. Pins in different majors (cuDNN 8.9 against 9.5) leave no
candidate: a conflict that the explanation words in the library's terms. :func:`found` records
which of the two choices each relaxed pin got, and why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cudaenv.resolution import Relaxation
from cudaenv.solver.candidates import WheelCandidate
from cudaenv.solver.requirements import SpecifierRequirement

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from packaging.version import Version
    from resolvelib.resolvers import Result

    from cudaenv.knowledge import Knowledge
    from cudaenv.solver.candidates import Candidate
    from cudaenv.solver.releases import Release
    from cudaenv.solver.requirements import Requirement
    from cudaenv.solver.rules.conflicts import Cause

    Solved = Result[Requirement, Candidate, str]  # resolvelib's result of the search

__all__ = [
    "FRAMEWORK_PROJECTS",
    "found",
    "from_framework",
    "notes",
    "pinned_first",
    "relax",
    "relaxable",
]

# The projects whose METADATA pins are a framework's own (JAX's plugins give ranges, but a
# future release may pin); recipe and library requirements are never relaxed.
FRAMEWORK_PROJECTS = frozenset({"tensorflow", "torch", "jax", "jaxlib"})
_JAX_PLUGINS = ("jax-cuda", "jax-rocm")


def from_framework(project: str | None) -> bool:
    """Whether requirements of ``project`` are a framework's own pins."""
    return project is not None and (
        project in FRAMEWORK_PROJECTS or project.startswith(_JAX_PLUGINS)
    )


def relax(
    req: SpecifierRequirement, parent: str | None, knowledge: Knowledge
) -> SpecifierRequirement:
    """``req`` as ``>=pin,<next major`` where ``parent`` (a project) is a framework, ``req`` is
    an exact pin (``==9.3.0.75``, not ``==12.6.*``) and a ``relax`` rule covers the wheel;
    else ``req`` unchanged."""
    pin = req.exact
    if pin is None or req.extras or not from_framework(parent):
        return req
    if not relaxable(req.name, knowledge):
        return req
    return SpecifierRequirement.within_major(req, pin)


def pinned_first(releases: Sequence[Release], pins: Collection[Version]) -> list[Release]:
    """``releases`` (newest first): those at one of ``pins`` first, newest first, then the
    others oldest first (the lowest that meets every requirement wins)."""
    return [r for r in releases if r.version in pins] + [
        r for r in reversed(releases) if r.version not in pins
    ]


def relaxable(name: str, knowledge: Knowledge) -> bool:
    """Whether a framework's exact pin on wheel ``name`` may be relaxed (a ``relax`` rule)."""
    return any(rule.effect == "relax" for rule in knowledge.rules_for(name))


def found(result: Solved, knowledge: Knowledge) -> tuple[Relaxation, ...]:
    """Each relaxed framework pin that resolvelib's ``result`` meets with a newer release, with
    the rule that allows it."""
    out = []
    for cand in result.mapping.values():
        if not isinstance(cand, WheelCandidate):
            continue
        infos = result.criteria[cand.identifier].information
        why = _why(cand, infos)
        for req, parent in infos:
            pin = req.relaxed
            if pin is None or pin == cand.version:
                continue
            rule = knowledge.relaxing_rule(cand.name, pin, cand.version)
            out.append(
                Relaxation(
                    package=cand.name,
                    pinned=pin,
                    chosen=cand.version,
                    by=str(parent),
                    rule=rule.id if rule is not None else "none",
                    source=rule.source if rule is not None else "",
                    why=why,
                )
            )
    return tuple(sorted(out, key=lambda r: (r.package, r.by)))


def _why(cand: WheelCandidate, infos: Collection[Cause]) -> str:
    """Why ``cand`` is the release chosen: another framework's pin, or the lowest release that
    meets the requirements that ask for more than every pin (named)."""
    pins = [(req.relaxed, parent) for req, parent in infos if req.relaxed]
    at = [str(parent) for pin, parent in pins if pin == cand.version]
    if at:
        return f"the newest of the frameworks' pins ({', '.join(at)} pins {cand.version})"
    top = max((pin for pin, _ in pins), default=None)
    above = [
        f"{parent or req.origin or 'the request'} needs {req.project}{req.specifier}"
        for req, parent in infos
        if top is not None and not req.specifier.contains(top, prereleases=True)
    ]
    return "the lowest release that meets every requirement" + (
        f" ({'; '.join(above)})" if above else ""
    )


def notes(relaxed: Sequence[Relaxation], knowledge: Knowledge) -> tuple[str, ...]:
    """One note saying that pins were relaxed, then each limit NVIDIA states for those wheels
    once, with the wheels it concerns."""
    if not relaxed:
        return ()
    wheels = sorted({r.package for r in relaxed})
    out = [
        f"relaxed {len(relaxed)} exact pin{'s' if len(relaxed) > 1 else ''} of "
        f"{len(wheels)} NVIDIA wheel{'s' if len(wheels) > 1 else ''} to one common set (the "
        "newest of the frameworks' pins, or where a requirement asks for more, the lowest "
        "release that meets it, within each library's major), as NVIDIA's compatibility rules "
        "allow (each listed under relaxed, with why; docs/facts.md)"
    ]
    caveats: dict[str, list[str]] = {}
    texts = {}
    for name in wheels:
        for rule in knowledge.caveats_for(name):
            caveats.setdefault(rule.id, []).append(name)
            texts[rule.id] = f"{rule.statement} ({rule.source})"
    out += [f"{', '.join(names)}: {texts[i]}" for i, names in caveats.items()]
    return tuple(out)
