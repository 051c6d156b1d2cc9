"""``--tf 2.12`` means the newest 2.12.x that works: make sure the search found it, or say why.

resolvelib backtracks on whatever conflicted last, so it can settle on an older release of a
framework line although a newer one works beside older releases of something else (TensorFlow
2.12.0 beside spaCy 3.8, while 2.12.1 works with pydantic 1 and typing-extensions 4.5). After a
solve, each framework asked for by line, in the user's order, whose pick is not the newest
usable release of its line is solved again with that release pinned (and the frameworks before
it held at their picks). If that works it is the answer; if not, the resolution notes why not.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet

from cudaenv.errors import CudaenvError
from cudaenv.solver.requirements import admits, exact_version
from cudaenv.solver.rules.majors import LABELS

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from packaging.version import Version

    from cudaenv.request import FrameworkRequest, Request
    from cudaenv.resolution import Resolution
    from cudaenv.solver.rules.catalog import Catalog

    Attempt = Callable[[Request], Resolution]
    Newer = Callable[[FrameworkRequest, Version], Sequence[Version]]

__all__ = ["prefer_newest", "usable_newer"]


def usable_newer(
    catalog: Catalog, fw: FrameworkRequest, picked: Version, *, pre: bool
) -> list[Version]:
    """Releases newer than ``picked`` that ``fw`` admits, with a file for the target, neither
    yanked nor refused, newest first. Cost: the framework's page (already read)."""
    return sorted(
        (
            r.version
            for r in catalog.releases(fw.name)
            if r.version > picked
            and not r.yanked
            and admits(fw.specifier, r.version, pre=pre)
            and not catalog.refused(fw.name, r.version)
        ),
        reverse=True,
    )


def prefer_newest(
    resolution: Resolution, request: Request, attempt: Attempt, newer: Newer
) -> Resolution:
    """``resolution``, or one with a newer framework release where one resolves."""
    held: list[FrameworkRequest] = []
    for fw in request.frameworks:
        pin = resolution.pin(fw.name)
        candidates = newer(fw, pin.version) if pin and exact_version(fw.specifier) is None else []
        if pin is not None and candidates:
            resolution = _retry(resolution, request, fw, candidates[0], held, attempt)
            pin = resolution.pin(fw.name)
        if pin is not None:
            held.append(replace(fw, specifier=SpecifierSet(f"=={pin.version}")))
    return resolution


def _retry(
    resolution: Resolution,
    request: Request,
    fw: FrameworkRequest,
    best: Version,
    held: list[FrameworkRequest],
    attempt: Attempt,
) -> Resolution:
    exact = replace(fw, specifier=SpecifierSet(f"=={best}"))
    by_name = {h.name: h for h in held}
    frameworks = tuple(
        exact if f.name == fw.name else by_name.get(f.name, f) for f in request.frameworks
    )
    try:
        better = attempt(replace(request, frameworks=frameworks))
    except CudaenvError as e:
        note = f"{LABELS.get(fw.name, fw.name)} {best} is newer but was not picked: {e.message}"
        return replace(resolution, notes=(*resolution.notes, note))
    return replace(better, frameworks=request.frameworks)
