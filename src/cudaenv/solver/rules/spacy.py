"""spaCy's roots: its GPU extra for the stack's CUDA major, and the CUDA wheels CuPy loads.

spaCy on the GPU is ``spacy[cuda12x]`` (the CUDA major of the stack: the other frameworks', else
the driver's max CUDA, else 12) plus the CuPy recipe's ``runtime_wheels``, which CuPy <= 13
finds only on ``LD_LIBRARY_PATH``. Where the extra has no CuPy wheel for the target Python
(CuPy 12 has no cp313 wheels: docs/facts.md, "CuPy") the CuPy package is rooted directly
instead. A spaCy that cannot reach the GPU beside the request is refused with the ways out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from cudaenv.errors import Explanation, Remedy, ResolutionError
from cudaenv.solver.requirements import SpecifierRequirement, VirtualRequirement
from cudaenv.solver.rules import alternatives
from cudaenv.solver.rules.majors import DEFAULT_CUDA_MAJOR, FLAGS, newest_line

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.requirements import Requirement as Pep508
    from packaging.specifiers import SpecifierSet
    from packaging.utils import NormalizedName
    from packaging.version import Version

    from cudaenv.knowledge import CupyLine, SpacyLine
    from cudaenv.request import FrameworkRequest
    from cudaenv.solver.requirements import Requirement
    from cudaenv.solver.rules.catalog import Catalog
    from cudaenv.solver.rules.context import Context

    Limits = Mapping[NormalizedName, SpecifierSet]  # constraints: narrow, never add

__all__ = ["SPACY", "roots"]

SPACY = canonicalize_name("spacy")


def _req(req: Pep508, origin: str) -> SpecifierRequirement:
    extras = frozenset(canonicalize_name(e) for e in req.extras)
    return SpecifierRequirement.from_requirement(req, extras, origin=origin)


def _listed(ctx: Context, catalog: Catalog) -> dict[str, tuple[Version, ...]]:
    """The versions the index lists for each framework asked for (pages already read)."""
    return {str(fw.name): catalog.versions(fw.name) for fw in ctx.request.frameworks}


def roots(
    ctx: Context,
    catalog: Catalog,
    sp: FrameworkRequest,
    lines: Sequence[SpacyLine],
    constraints: Limits,
) -> list[Requirement]:
    """spaCy's roots on the stack's CUDA major (plain ``spacy`` on the CPU)."""
    origin = f"--spacy {sp.text}"
    if not ctx.request.gpu:
        return [SpecifierRequirement(name=SPACY, specifier=sp.specifier, origin=origin)]
    major = _cuda_major(ctx, catalog, lines)
    extra = canonicalize_name(
        next(ln.gpu_extras[major] for ln in reversed(lines) if major in ln.gpu_extras)
    )
    cupy = ctx.knowledge.cupy_for(major)
    if cupy is None:
        raise ResolutionError(f"cudaenv's recipes have no CuPy build for CUDA {major}")
    runtime = f"recipe: {cupy.name} runtime libraries"
    roots: list[Requirement] = [
        VirtualRequirement.for_cuda_major(major, who=f"spaCy's {cupy.name}")
    ]
    if _extra_serves(ctx, catalog, sp, extra, cupy, constraints):
        roots.append(
            SpecifierRequirement(
                name=SPACY, specifier=sp.specifier, extras=frozenset({extra}), origin=origin
            )
        )
    else:
        roots.append(SpecifierRequirement(name=SPACY, specifier=sp.specifier, origin=origin))
        roots.append(
            SpecifierRequirement(
                name=cupy.name,
                specifier=cupy.versions,
                origin=f"recipe: {cupy.name} (spacy[{extra}] has no wheel for Python {ctx.python})",
            )
        )
    return roots + [_req(r, runtime) for r in cupy.runtime_wheels]


def _cuda_major(ctx: Context, catalog: Catalog, lines: Sequence[SpacyLine]) -> int:
    """The stack's CUDA major where another framework set it; else the driver's, capped by
    spaCy's extras."""
    offered = {m for line in lines for m in line.gpu_extras}
    if not offered:
        raise _no_extra(
            ctx, catalog, f"spaCy {lines[-1].line} has no GPU extra in cudaenv's recipes"
        )
    stack = ctx.major
    if stack is not None:
        major = stack.major
        if major not in offered:
            raise _no_extra(
                ctx,
                catalog,
                f"spaCy {lines[-1].line} has no GPU extra for CUDA {major}, the CUDA of "
                f"{stack.who}",
                major,
                frozenset(offered),
            )
        return major
    max_cuda = ctx.machine.max_cuda
    want = max_cuda.major if max_cuda is not None else DEFAULT_CUDA_MAJOR
    return max((m for m in offered if m <= want), default=min(offered))


def _no_extra(
    ctx: Context,
    catalog: Catalog,
    headline: str,
    major: int | None = None,
    offered: frozenset[int] = frozenset(),
) -> ResolutionError:
    """spaCy cannot reach the GPU beside this request: a spaCy line that can, a line of each
    other framework asked for on a CUDA major this spaCy has an extra for, or the CPU."""
    request, knowledge, releases = ctx.request, ctx.knowledge, _listed(ctx, catalog)
    hints = []
    sp = alternatives.newest_spacy(knowledge, request, releases, cuda_major=major)
    if sp is not None:
        hints.append(Remedy.use(("--spacy", str(sp))))
    if major is not None and request.framework("tensorflow") is not None:
        max_cuda = ctx.machine.max_cuda
        tf = alternatives.newest_tf(knowledge, request, releases, max_cuda=max_cuda)
        if tf is not None:
            hints.append(Remedy.use(("--tf", str(tf))))
    for fw in request.frameworks:
        if major is not None and fw.name in ("torch", "jax"):
            line = newest_line(ctx, catalog, fw.name, offered)
            if line is not None:
                hints.append(Remedy.use((FLAGS[fw.name], str(line))))
    hints.append(Remedy.use(("--cpu", None), verb="resolve a CPU-only stack with"))
    return ResolutionError.explained(Explanation(headline=headline, hints=tuple(hints)))


def _extra_serves(
    ctx: Context,
    catalog: Catalog,
    sp: FrameworkRequest,
    extra: str,
    cupy: CupyLine,
    constraints: Limits,
) -> bool:
    """Whether ``spacy[extra]`` (newest release asked for) has a CuPy wheel for the target,
    under the plan's ``constraints`` (not yet the factory's)."""
    probe = SpecifierRequirement(name=SPACY, specifier=sp.specifier)
    newest = catalog.newest(probe, constraints)
    if newest is None:
        return True  # the solve reports it
    meta = catalog.metadata(newest)
    wanted = [
        r
        for r in meta.requires_dist
        if canonicalize_name(r.name) == cupy.name
        and not ctx.applies(r, "")
        and ctx.applies(r, extra)
    ]
    if not wanted:
        return True
    need = SpecifierRequirement(name=cupy.name, specifier=wanted[0].specifier)
    return catalog.newest(need, constraints) is not None
