"""Optional parts of an extra: left out where the target has no release of one of them.

TensorFlow's ``and-cuda`` extra names TensorRT, which has no wheel for some Pythons and
platforms; TensorFlow runs without it and loses only TF-TRT. The recipes list such parts
(``[optional.*]``: the packages of each and the feature they bring). :func:`without_unavailable`
drops from an extra's requirements every part that has a requirement no release of the target
meets, and says which, so that the resolution can note it; every other requirement is kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cudaenv.index import ProjectNotFound

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cudaenv.knowledge import Knowledge
    from cudaenv.solver.requirements import SpecifierRequirement
    from cudaenv.solver.rules.catalog import Catalog

    Unavailable = tuple[str, tuple[str, ...], tuple[str, ...]]  # part, missing, left out

__all__ = ["Unavailable", "without_unavailable"]


def without_unavailable(
    knowledge: Knowledge, catalog: Catalog, reqs: Sequence[SpecifierRequirement]
) -> tuple[list[SpecifierRequirement], tuple[Unavailable, ...]]:
    """``reqs`` less each optional part with a requirement that has no release for the target,
    and for each part left out: its name, the requirements without a release, and all of its
    requirements. Cost: the pages of the optional packages."""
    parts: dict[str, list[SpecifierRequirement]] = {}
    for req in reqs:
        part = knowledge.optional_part(req.name)
        if part is not None:
            parts.setdefault(part.name, []).append(req)
    said = []
    for name, part_reqs in list(parts.items()):
        missing = [r.format_for_error() for r in part_reqs if not _has_release(catalog, r)]
        if missing:
            said.append((name, tuple(missing), tuple(r.format_for_error() for r in part_reqs)))
        else:
            del parts[name]
    dropped = {id(r) for rs in parts.values() for r in rs}
    return [r for r in reqs if id(r) not in dropped], tuple(said)


def _has_release(catalog: Catalog, req: SpecifierRequirement) -> bool:
    try:
        return catalog.newest(req, {}) is not None
    except ProjectNotFound:
        return False
