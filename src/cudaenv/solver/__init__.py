"""The solver: turns a request and a machine into a resolution, using the package index client.

    resolution = solve(request, machine, knowledge, index)

The engine is shaped like pip's resolver: resolvelib does the search through one thin adapter
(:mod:`.provider`), the factory (:mod:`.factory`) makes candidates and requirements and is the
only part that talks to the index; the machine enters as virtual packages (``__cuda`` at the
driver's max CUDA, ``__python`` at the target). What cudaenv knows of CUDA is in :mod:`.rules`:
the recipes as requirements (:mod:`.rules.recipes`), and when no set of releases works,
:mod:`.rules.explain` turns resolvelib's causes into one sentence and a way out, raised as
:class:`~cudaenv.errors.ResolutionError` with only the ways out that resolve when followed
(:mod:`.rules.remedies`); an index that cannot be reached raises the index client's
:class:`~cudaenv.errors.IndexError_` unchanged. A framework asked for by line gets the newest
release of it that works (:mod:`.rules.newest`). Nothing here prints: progress goes to
``on_event`` as :class:`~cudaenv.events.SolveEvent` values.

The search's modules (resolvelib, the factory, the recipes) are imported inside
:func:`_search`, not at the top: a solve the memo answers (:mod:`.memo`) never needs them, and
a warm ``--offline`` solve is mostly start-up time.
"""

from __future__ import annotations

import functools
import logging
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from cudaenv.errors import ResolutionError
from cudaenv.solver import memo
from cudaenv.solver.rules import floor, remedies

if TYPE_CHECKING:
    from collections.abc import Callable

    from cudaenv.events import SolveEvent
    from cudaenv.index import Index
    from cudaenv.knowledge import Knowledge
    from cudaenv.machine import Machine
    from cudaenv.request import Request
    from cudaenv.resolution import Resolution
    from cudaenv.solver.factory import Factory

__all__ = ["MAX_ROUNDS", "solve"]

# resolvelib's unit of work; TF + spaCy solves take a few hundred rounds. A search this long is
# a backtracking storm: stopping with a message beats running for an hour.
MAX_ROUNDS = 20_000
_log = logging.getLogger(__name__)


def solve(
    request: Request,
    machine: Machine,
    knowledge: Knowledge,
    index: Index,
    *,
    on_event: Callable[[SolveEvent], None] | None = None,
) -> Resolution:
    """Pin every wheel the request needs on this machine and target.

    Cost: the index pages of every project in the result and the METADATA of every release
    tried (cached on disk; a warm ``offline`` index makes no request). The same request over
    unchanged pages is answered from the last solve (:mod:`.memo`). A failed solve also tries
    each way out it offers, so it costs a solve per hint.
    """
    try:
        return _solve(request, machine, knowledge, index, on_event)
    except ResolutionError as err:

        def attempt(req: Request, mach: Machine) -> Resolution:
            return _solve(req, mach, knowledge, index, None)

        raise remedies.verified(err, attempt, request, machine, knowledge) from None


def _solve(
    request: Request,
    machine: Machine,
    knowledge: Knowledge,
    index: Index,
    on_event: Callable[[SolveEvent], None] | None,
) -> Resolution:
    """One solve, remembered: the search, then the newest release of each line that works;
    a driver below the floor of what was pinned is refused (:mod:`.rules.floor`)."""
    solve_key = memo.key(request, machine, knowledge, index)
    resolution = memo.recall(index, solve_key) if solve_key else None
    if resolution is not None:
        _log.debug("the same request over unchanged pages: the remembered solve answers")
    else:
        resolution = _search(request, machine, knowledge, index, on_event, newest=True)
        if solve_key:
            memo.keep(index, solve_key, resolution)
    floor.refuse_below(resolution, machine, knowledge, request)
    return resolution


def _search(
    request: Request,
    machine: Machine,
    knowledge: Knowledge,
    index: Index,
    on_event: Callable[[SolveEvent], None] | None,
    *,
    newest: bool = False,
) -> Resolution:
    from resolvelib import ResolutionImpossible, ResolutionTooDeep, Resolver

    from cudaenv.solver import prefetch
    from cudaenv.solver.factory import Factory
    from cudaenv.solver.provider import Provider
    from cudaenv.solver.reporter import EventReporter
    from cudaenv.solver.result import to_resolution
    from cudaenv.solver.rules import explain, uncurated, yanked

    prefetch.start(index, request)  # the frameworks' pages, then every page the lists name
    extended = uncurated.extend(knowledge, request, index)
    factory = Factory(request, machine, extended.knowledge, index, uncurated=extended.unknown)
    knowledge = extended.knowledge
    try:
        plan = factory.plan()
        factory.restrict(plan.constraints)
        factory.warm(plan.roots)
        order = {r.identifier: n for n, r in enumerate(plan.roots)}
        resolver = Resolver(Provider(factory, order), EventReporter(on_event))
        try:
            result = resolver.resolve(plan.roots, max_rounds=MAX_ROUNDS)
        except ResolutionImpossible as e:
            listed = {str(fw.name): factory.versions(fw.name) for fw in request.frameworks}
            pickable = factory.pickable(c.requirement.project for c in e.causes)
            why = explain.explain(
                e.causes,
                machine,
                knowledge,
                request,
                releases=listed,
                pickable=pickable,
                limits=factory.constraints,
                yanked=yanked.found(factory, e.causes),
            )
            raise ResolutionError.explained(why) from None
        except ResolutionTooDeep:
            raise ResolutionError(
                f"gave up after {MAX_ROUNDS} resolution rounds: the requirements backtrack "
                "without end",
                hint="pin --tf/--spacy to exact releases to narrow the search",
            ) from None
        resolution = to_resolution(
            result, request, machine, knowledge, index.url, factory.unavailable
        )
        resolution = replace(resolution, notes=(*extended.notes, *resolution.notes))
        if not newest:
            return resolution
        return _newest(resolution, request, machine, knowledge, index, factory)
    finally:
        factory.close(wait=sys.exc_info()[0] is None)


def _newest(
    resolution: Resolution,
    request: Request,
    machine: Machine,
    knowledge: Knowledge,
    index: Index,
    factory: Factory,
) -> Resolution:
    from cudaenv.solver.rules.newest import prefer_newest, usable_newer

    def attempt(req: Request) -> Resolution:
        return _search(req, machine, knowledge, index, None)

    newer = functools.partial(usable_newer, factory, pre=request.pre)
    return prefer_newest(resolution, request, attempt, newer)
