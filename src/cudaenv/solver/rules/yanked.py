"""Releases the index has yanked (PEP 592), for a failure to say so instead of "none exists".

The solver takes a yanked release only when a requirement pins it exactly (as pip does, PEP
592), so a requirement that only yanked releases meet fails like one that nothing meets. The
index did list them, with a reason: :func:`found` collects the yanked releases of the projects
a failure names, and :func:`fitting` says which of them the failed requirements would take,
"spacy 3.7.5 (broken build)", for :mod:`.explain` to put in its headline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from packaging.version import Version

    from cudaenv.solver.rules.catalog import Catalog

__all__ = ["fitting", "found"]


def found(catalog: Catalog, causes: Collection[Any]) -> dict[str, dict[Version, str]]:
    """The yanked releases of every project the causes require (read from the pages the
    solve has already read)."""
    projects = {c.requirement.project for c in causes if c.requirement.project is not None}
    out: dict[str, dict[Version, str]] = {}
    for name in sorted(projects):
        gone = {r.version: r.link.yanked or "" for r in catalog.releases(name) if r.yanked}
        if gone:
            out[str(name)] = gone
    return out


def fitting(causes: Collection[Any], yanked: Mapping[str, Mapping[Version, str]]) -> str | None:
    """``spacy 3.7.5 (broken build)``: the yanked releases that every cause's requirement on
    its project would take, newest first; None when there are none."""
    by_project: dict[str, list[Any]] = {}
    for c in causes:
        if c.requirement.project is not None:
            by_project.setdefault(str(c.requirement.project), []).append(c.requirement)
    shown = []
    for name, reqs in by_project.items():
        gone = yanked.get(name, {})
        for version in sorted(gone, reverse=True):
            if all(r.specifier.contains(version, prereleases=True) for r in reqs):
                reason = gone[version] or "no reason given"
                shown.append(f"{name} {version} ({reason})")
    return ", ".join(shown) or None
