"""Why a solve failed and the way out, computed from resolvelib's causes: a pure function.

:func:`explain` takes the causes of ``ResolutionImpossible`` (requirement + parent pairs), the
machine, the knowledge base and the request, and returns an :class:`Explanation` value; it
fetches nothing and prints nothing. It takes the most actionable cause first, as pip handles
Requires-Python first:

1. the driver: a ``__cuda`` requirement above the machine's max CUDA; the way out is the
   driver floor for that CUDA (``constraints/cuda_driver.toml``) or the newest TensorFlow line
   whose ``__cuda`` floor the driver meets;
2. Python: a ``__python`` requirement the target misses; the way out is the newest Python the
   requirement allows (or a TensorFlow line that has wheels for the target);
3. package against package, naming both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from packaging.version import Version

from cudaenv.errors import ResolutionError
from cudaenv.knowledge import spec_text
from cudaenv.solver.requirements import CUDA, PYTHON

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from packaging.specifiers import SpecifierSet

    from cudaenv.knowledge import Knowledge
    from cudaenv.machine import Machine
    from cudaenv.request import FrameworkRequest, Request

__all__ = ["Explanation", "Hint", "as_error", "explain", "unknown_release"]

# Pythons a hint may name, newest first: the range cudaenv's recipes span, with room to grow.
_PYTHONS = tuple(Version(f"3.{minor}") for minor in range(20, 5, -1))


@dataclass(frozen=True, slots=True, kw_only=True)
class Hint:
    """One way out: ``upgrade-driver`` (value: the driver), ``option`` (value: ``--tf 2.14``)."""

    kind: str
    value: str

    def __str__(self) -> str:
        if self.kind == "upgrade-driver":
            return f"upgrade the driver to ≥ {self.value}"
        if self.kind == "option":
            return f"use {self.value}"
        return self.value


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    """A failed solve as data: one headline, the reasons behind it, the ways out."""

    headline: str
    reasons: tuple[str, ...] = ()
    hints: tuple[Hint, ...] = ()

    def hint_text(self) -> str | None:
        return ", or ".join(str(h) for h in self.hints) or None

    def sentence(self) -> str:
        """``headline → hint, or hint``: the explanation in one line."""
        hints = self.hint_text()
        return f"{self.headline} → {hints}" if hints else self.headline


def as_error(explanation: Explanation) -> ResolutionError:
    """The CLI's error for an explanation (message, context, hint); keeps the value on it."""
    err = ResolutionError(
        explanation.headline,
        context="\n".join(explanation.reasons) or None,
        hint=explanation.hint_text(),
    )
    err.explanation = explanation  # type: ignore[attr-defined]
    return err


def explain(
    causes: Collection[Any],
    machine: Machine,
    knowledge: Knowledge,
    request: Request,
    *,
    tf_releases: Sequence[Version] = (),
) -> Explanation:
    """The most actionable reason the causes cannot all hold, and what to do about it.

    ``tf_releases`` (the TensorFlow versions on the index, if known) lets a hint skip a line
    whose every release is known-bad on the target (2.14 on Python 3.11: tensorrt pins).
    """
    fits = knowledge.newest_tf_line_for(machine.max_cuda, request.target.python, tf_releases)
    line = None if fits is None else fits.line
    return (
        _driver(causes, machine, knowledge, request, line)
        or _python(causes, request, line)
        or _packages(causes, request)
    )


def _unmet(causes: Collection[Any], identifier: str, version: Version | None) -> list[Any]:
    return [
        c
        for c in causes
        if c.requirement.identifier == identifier
        and version is not None
        and not c.requirement.specifier.contains(version, prereleases=True)
    ]


def _who(cause: Any) -> str:
    req = cause.requirement
    return getattr(req, "who", None) or (str(cause.parent) if cause.parent else "the request")


def _driver(
    causes: Collection[Any],
    machine: Machine,
    knowledge: Knowledge,
    request: Request,
    line: Version | None,
) -> Explanation | None:
    unmet = _unmet(causes, CUDA, machine.max_cuda)
    if not unmet:
        return None
    worst = max(unmet, key=lambda c: c.requirement.floor or Version("0"))
    floor = worst.requirement.floor
    driver = f"driver {machine.driver_version}" if machine.driver_version else "the driver"
    hints = []
    if floor is not None and (needed := knowledge.min_driver_for(floor)) is not None:
        hints.append(Hint(kind="upgrade-driver", value=str(needed)))
    if line is not None and request.framework("tensorflow") is not None:
        hints.append(Hint(kind="option", value=f"--tf {line}"))
    return Explanation(
        headline=f"{driver} supports CUDA ≤ {machine.max_cuda}; {_who(worst)} needs CUDA ≥ {floor}",
        reasons=_reasons(unmet),
        hints=tuple(hints),
    )


def _reasons(unmet: Sequence[Any]) -> tuple[str, ...]:
    """Every unmet requirement, when there is more than the one the headline names."""
    if len(unmet) < 2:
        return ()
    return tuple(f"{_who(c)} needs {c.requirement.format_for_error()}" for c in unmet)


def _python(causes: Collection[Any], request: Request, line: Version | None) -> Explanation | None:
    python = request.target.python
    unmet = _unmet(causes, PYTHON, python)
    if not unmet:
        return None
    cause = unmet[0]
    spec: SpecifierSet = cause.requirement.specifier
    verb = "has no wheels for" if cause.parent is None else "does not support"
    hints = []
    newest = next((p for p in _PYTHONS if spec.contains(p)), None)
    if newest is not None:
        hints.append(Hint(kind="option", value=f"--python {newest}"))
    if cause.parent is None and _who(cause).startswith("TensorFlow") and line is not None:
        hints.append(Hint(kind="option", value=f"--tf {line}"))
    return Explanation(
        headline=f"{_who(cause)} {verb} Python {python}: it supports {spec_text(spec)}",
        reasons=_reasons(unmet),
        hints=tuple(hints),
    )


def _side(cause: Any, others: int) -> str:
    parent = cause.parent
    who = str(parent) if parent is not None else getattr(cause.requirement, "origin", None)
    more = f" (and {others} older releases of {parent.project})" if others else ""
    return f"{who or 'the request'}{more} needs {cause.requirement.format_for_error()}"


def _sides(causes: Collection[Any]) -> list[str]:
    """One line per asking project (its newest release), not one per release tried."""
    by_project: dict[object, list[Any]] = {}
    for c in causes:
        key = c.parent.project if c.parent is not None else id(c)
        by_project.setdefault(key, []).append(c)
    picked = [
        (max(group, key=lambda c: c.parent.version) if group[0].parent else group[0], len(group))
        for group in by_project.values()
    ]
    return list(dict.fromkeys(_side(c, n - 1) for c, n in picked))


def _packages(causes: Collection[Any], request: Request) -> Explanation:
    sides = _sides(causes)
    target = f"Python {request.target.python} on {request.target.platform}"
    if len(sides) == 1:
        return Explanation(
            headline=f"no release fits: {sides[0]}, and none is available for {target}",
            hints=(Hint(kind="text", value="check the version, --python and --platform"),),
        )
    return Explanation(
        headline=f"these requirements conflict: {sides[0]}, but {sides[1]}",
        reasons=tuple(sides) if len(sides) > 2 else (),
        hints=(Hint(kind="text", value="relax --tf/--spacy (see `cudaenv matrix`)"),),
    )


def unknown_release(fw: FrameworkRequest, known: Sequence[Any], label: str) -> Explanation:
    """``--tf 9.9``: no release of a line the recipes know matches; list the known lines."""
    flag = "--tf" if fw.name == "tensorflow" else f"--{fw.name}"
    lines = [
        f"{k.line}{' (pre-release only)' if getattr(k, 'pre_release_only', False) else ''}"
        for k in known
    ]
    final = [k.line for k in known if not getattr(k, "pre_release_only", False)]
    hints = (Hint(kind="option", value=f"{flag} {max(final)}"),) if final else ()
    return Explanation(
        headline=f"{label} {fw.text} is not a release cudaenv knows",
        reasons=(f"known {label} lines: {', '.join(lines)}",),
        hints=hints,
    )
