"""Why a solve failed and the way out, computed from resolvelib's causes: a pure function.

:func:`explain` takes the causes of ``ResolutionImpossible`` (requirement + parent pairs), the
machine, the knowledge base and the request, and returns an :class:`Explanation` value; it
fetches nothing and prints nothing. It takes the most actionable cause first, as pip handles
Requires-Python first:

1. the driver: a ``__cuda`` requirement above the machine's max CUDA (or a driver older than
   every row of the driver table); the way out is the driver floor for that CUDA
   (``constraints/cuda_driver.toml``) or the newest TensorFlow line the driver runs;
2. Python: a ``__python`` requirement the target misses; the way out is the newest Python every
   framework asked for supports, or a line of the framework that has wheels for the target;
3. two frameworks that need one NVIDIA library in different majors (cuDNN 8 and 9), in that
   library's terms, with the nearest lines that share one (:mod:`.libraries`);
4. package against package, naming two requirements that no release the solve could pick
   meets both of (:mod:`.conflicts`), not merely the first two causes; the way out is another
   line.

Every way out is a :class:`~cudaenv.errors.Remedy`: options of the same command, with values
(:mod:`.alternatives` proposes them). The solver tries each before it is shown (:mod:`.remedies`).
The :class:`~cudaenv.errors.Explanation` value travels on the
:class:`~cudaenv.errors.ResolutionError` (:meth:`~cudaenv.errors.ResolutionError.explained`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.version import Version

from cudaenv.errors import Explanation, Remedy
from cudaenv.knowledge import TfLine, spec_text
from cudaenv.solver.candidates import cuda_version
from cudaenv.solver.requirements import CUDA, PYTHON, VirtualRequirement, admits
from cudaenv.solver.rules import alternatives, conflicts, libraries

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from packaging.specifiers import SpecifierSet

    from cudaenv.knowledge import Knowledge
    from cudaenv.machine import Machine
    from cudaenv.request import FrameworkRequest, Request
    from cudaenv.solver.rules.alternatives import Releases
    from cudaenv.solver.rules.conflicts import Cause, Limits, Pickable
    from cudaenv.solver.rules.majors import Line

__all__ = [
    "Explanation",
    "explain",
    "other_lines",
    "unknown_release",
    "upgrade_driver",
]

_FLAGS = {"tensorflow": "--tf", "spacy": "--spacy"}
# Pythons proposed, newest first; the solver keeps the first that resolves (:mod:`.remedies`).
_PYTHON_TRIES = 3


def explain(
    causes: Collection[Cause],
    machine: Machine,
    knowledge: Knowledge,
    request: Request,
    *,
    releases: Releases | None = None,
    pickable: Pickable | None = None,
    limits: Limits | None = None,
    yanked: Mapping[str, Mapping[Version, str]] | None = None,
) -> Explanation:
    """The most actionable reason the causes cannot all hold, and what to do about it.

    ``releases`` (the versions the index lists, by project) lets a hint skip a line with no
    final release on the index; ``pickable`` (the versions the solve could pick, by project)
    and ``limits`` (the recipes' constraints) tell which requirements really conflict;
    ``yanked`` (project -> yanked version -> reason) lets the headline say that the releases
    that would do were yanked (:mod:`.yanked`).
    """
    found = releases or {}
    return (
        _driver(causes, machine, knowledge, request, found)
        or _python(causes, machine, knowledge, request, found)
        or libraries.explain(causes, knowledge, request, found)
        or _packages(
            causes, machine, knowledge, request, found, (pickable or {}, limits or {}, yanked or {})
        )
    )


def upgrade_driver(machine: Machine, knowledge: Knowledge, floor: Version) -> Remedy | None:
    """The way out of "driver too old" for a stack that needs CUDA ``floor``: the driver to
    install, with the option that resolves for it now (``--cuda`` where only that was given)."""
    needed = knowledge.min_driver_for(floor)
    if needed is None:
        return None
    if machine.source == "override" and machine.driver_version is None:
        return Remedy.use(("--cuda", f"{floor.major}.{floor.minor}"))
    text = str(needed)
    return Remedy(
        text=f"upgrade the driver to ≥ {text} (--driver {text} resolves for it)",
        options=(("--driver", text),),
    )


def _unmet(causes: Collection[Cause], identifier: str, version: Version | None) -> list[Cause]:
    return [
        c
        for c in causes
        if c.requirement.identifier == identifier
        and version is not None
        and not c.requirement.specifier.contains(version, prereleases=True)
    ]


def _floor(cause: Cause) -> Version:
    """The ``__cuda`` floor a cause asks for (0 where it states none)."""
    req = cause.requirement
    return (req.floor if isinstance(req, VirtualRequirement) else None) or Version("0")


def _who(cause: Cause) -> str:
    return cause.requirement.who or (str(cause.parent) if cause.parent else "the request")


def _driver(
    causes: Collection[Cause],
    machine: Machine,
    knowledge: Knowledge,
    request: Request,
    releases: Releases,
) -> Explanation | None:
    unmet = _unmet(causes, CUDA, cuda_version(machine))
    if not unmet:
        return None
    worst = max(unmet, key=_floor)
    floor = _floor(worst)
    hints = [h for h in [upgrade_driver(machine, knowledge, floor)] if h is not None]
    line = None
    if request.framework("tensorflow") is not None and not machine.too_old:
        line = alternatives.newest_tf(knowledge, request, releases, max_cuda=machine.max_cuda)
    if line is not None:
        hints.append(Remedy.use(("--tf", str(line))))
    if not machine.too_old:
        hints += _lines_for_driver(machine, knowledge, request, releases)
    if machine.too_old:
        hints.append(Remedy.use(("--cpu", None), verb="resolve a CPU-only stack with"))
    return Explanation(
        headline=_driver_headline(machine, knowledge, _who(worst), floor),
        reasons=_reasons(unmet),
        hints=tuple(hints),
    )


def _lines_for_driver(
    machine: Machine, knowledge: Knowledge, request: Request, releases: Releases
) -> list[Remedy]:
    """``--torch``/``--jax`` with the newest line asked for whose CUDA the driver runs."""
    out = []
    max_cuda = machine.max_cuda
    for fw in request.frameworks:
        if fw.name not in ("torch", "jax") or max_cuda is None:
            continue
        runs = alternatives.newest_on_driver(knowledge, fw.name, request, releases, max_cuda)
        if runs is not None and not _asks_line(fw, runs):
            out.append(Remedy.use((f"--{fw.name}", str(runs))))
    return out


def _driver_headline(machine: Machine, knowledge: Knowledge, who: str, floor: Version) -> str:
    driver = f"driver {machine.driver_version}" if machine.driver_version else "the driver"
    if not machine.too_old:
        return f"{driver} supports CUDA ≤ {machine.max_cuda}; {who} needs CUDA ≥ {floor}"
    oldest = knowledge.oldest_toolkit()
    table = f" (CUDA {oldest.cuda} needs ≥ {oldest.driver})" if oldest else ""
    needed = knowledge.min_driver_for(floor)
    need = f"driver ≥ {needed}" if needed else f"CUDA ≥ {floor}"
    return (
        f"{driver} is older than every driver in cudaenv's table{table}, so it runs no CUDA "
        f"stack cudaenv knows; {who} needs {need}"
    )


def _reasons(unmet: Sequence[Cause]) -> tuple[str, ...]:
    """Every unmet requirement, when there is more than the one the headline names."""
    if len(unmet) < 2:
        return ()
    return tuple(f"{_who(c)} needs {c.requirement.format_for_error()}" for c in unmet)


def _python(
    causes: Collection[Cause],
    machine: Machine,
    knowledge: Knowledge,
    request: Request,
    releases: Releases,
) -> Explanation | None:
    python = request.target.python
    unmet = _unmet(causes, PYTHON, python)
    if not unmet:
        return None
    cause = unmet[0]
    spec: SpecifierSet = cause.requirement.specifier
    who = _who(cause)
    verb = "has no wheels for" if cause.parent is None else "does not support"
    hints = []
    for newest in alternatives.pythons(knowledge, request, releases, spec)[:_PYTHON_TRIES]:
        hints.append(Remedy.use(("--python", str(newest))))
    if cause.parent is None:  # a framework line the user asked for: another line may have wheels
        hints += _other_line(who, machine, knowledge, request, releases)
    return Explanation(
        headline=f"{who} {verb} Python {python}: it supports {spec_text(spec)}",
        reasons=_reasons(unmet),
        hints=tuple(hints),
    )


def _other_line(
    who: str, machine: Machine, knowledge: Knowledge, request: Request, releases: Releases
) -> list[Remedy]:
    """``--tf``/``--spacy`` with the newest line of the framework named by ``who`` that runs
    on the target beside the rest of the request."""
    if who.startswith("TensorFlow"):
        tf = alternatives.newest_tf(knowledge, request, releases, max_cuda=machine.max_cuda)
        return [Remedy.use(("--tf", str(tf)))] if tf is not None else []
    if who.startswith("spaCy"):
        major = _tf_cuda_major(knowledge, request, releases)
        sp = alternatives.newest_spacy(knowledge, request, releases, cuda_major=major)
        return [Remedy.use(("--spacy", str(sp)))] if sp is not None else []
    return []


def _tf_cuda_major(knowledge: Knowledge, request: Request, releases: Releases) -> int | None:
    """The CUDA major of the newest TensorFlow line asked for (None: TensorFlow not asked)."""
    fw = request.framework("tensorflow")
    if fw is None:
        return None
    versions = [v for v in releases.get("tensorflow", ()) if admits(fw.specifier, v, pre=True)]
    lines = [t for t in knowledge.tensorflow if any(t.contains(v) for v in versions)]
    return max(lines, key=lambda t: t.line).cuda_major if lines else None


def _packages(
    causes: Collection[Cause],
    machine: Machine,
    knowledge: Knowledge,
    request: Request,
    releases: Releases,
    facts: tuple[Pickable, Limits, Mapping[str, Mapping[Version, str]]],
) -> Explanation:
    hints = tuple(other_lines(machine, knowledge, request, releases))
    pickable, limits, yanked = facts
    return conflicts.explain(causes, knowledge, request, pickable, limits, hints, yanked=yanked)


def other_lines(
    machine: Machine, knowledge: Knowledge, request: Request, releases: Releases
) -> list[Remedy]:
    """For each framework asked for, the newest other line that fits the machine and target
    (a proposal: the solver keeps those that resolve)."""
    out: list[Remedy] = []
    tf = alternatives.newest_tf(knowledge, request, releases, max_cuda=machine.max_cuda)
    asked_tf = request.framework("tensorflow")
    if asked_tf is not None and tf is not None and not _asks_line(asked_tf, tf):
        out.append(Remedy.use(("--tf", str(tf))))
    asked_sp = request.framework("spacy")
    major = _tf_cuda_major(knowledge, request, releases)
    sp = alternatives.newest_spacy(knowledge, request, releases, cuda_major=major)
    if asked_sp is not None and sp is not None and not _asks_line(asked_sp, sp):
        out.append(Remedy.use(("--spacy", str(sp))))
    for python in alternatives.pythons(knowledge, request, releases)[:_PYTHON_TRIES]:
        out.append(Remedy.use(("--python", str(python))))
    return out


def _asks_line(fw: FrameworkRequest, line: Version) -> bool:
    return fw.specifier.contains(Version(f"{line}.0"), prereleases=True)


def unknown_release(
    fw: FrameworkRequest,
    known: Sequence[Line],
    label: str,
    *,
    versions: Sequence[Version] = (),
    newest_line: Version | None = None,
    uncurated: str | None = None,
    pre: bool = False,
) -> Explanation:
    """``--tf 9.9``: no release the index lists is in a line the recipes know. ``--tf 2.22``
    while the index has only 2.22.0rc0: say so, and that ``--pre`` takes it. A new release
    whose metadata cannot say what it needs: ``uncurated`` says why.

    ``versions`` are the releases the index lists; ``newest_line`` the line to offer instead;
    ``pre``: the request took pre-releases already (``--pre`` is no way out then).
    """
    flag = _FLAGS.get(fw.name, f"--{fw.name}")
    lines = [
        f"{k.line}{' (pre-release only)' if isinstance(k, TfLine) and k.pre_release_only else ''}"
        for k in known
    ]
    hints = (Remedy.use((flag, str(newest_line))),) if newest_line is not None else ()
    pre_only = sorted(v for v in versions if v.is_prerelease and admits(fw.specifier, v, pre=True))
    if pre_only and not pre:
        return Explanation(
            headline=f"{label} {fw.text} has only pre-releases so far "
            f"({', '.join(str(v) for v in pre_only[-3:])})",
            reasons=(f"pre-releases are picked only when asked for ({flag} {fw.text} --pre)",),
            hints=(Remedy.use(("--pre", None), verb="add"), *hints),
        )
    if uncurated is not None:
        return Explanation(
            headline=f"{uncurated}, so cudaenv cannot tell what it needs from CUDA "
            "(its recipes do not know this line yet)",
            reasons=(f"known {label} lines: {', '.join(lines)}",),
            hints=hints,
        )
    if any(_asks_line(fw, k.line) for k in known):  # a line cudaenv knows: the index lacks it
        return _not_on_index(fw, label, versions, hints)
    return Explanation(
        headline=f"{label} {fw.text} is not a release cudaenv knows",
        reasons=(f"known {label} lines: {', '.join(lines)}",),
        hints=hints,
    )


def _not_on_index(
    fw: FrameworkRequest, label: str, versions: Sequence[Version], hints: tuple[Remedy, ...]
) -> Explanation:
    """``--spacy 3.7``, a line cudaenv knows, on an index that has none of its releases."""
    if not versions:  # none at all: no other line of it is a way out either
        return Explanation(
            headline=f"the index has no {label} release at all",
            reasons=(f"cudaenv knows {label} {fw.text}, but no index it reads lists {label}",),
        )
    listed = ", ".join(str(v) for v in sorted(versions)[-3:])
    return Explanation(
        headline=f"the index has no {label} {fw.text} release",
        reasons=(f"cudaenv knows {label} {fw.text}; the index lists {label} {listed}",),
        hints=hints,
    )
