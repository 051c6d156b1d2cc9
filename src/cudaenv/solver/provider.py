"""The one adapter between resolvelib and cudaenv: thin, as pip's ``PipProvider`` is.

resolvelib asks five questions; each is answered by the requirement, candidate or factory
objects (:mod:`~cudaenv.solver.requirements`, :mod:`~cudaenv.solver.candidates`,
:mod:`~cudaenv.solver.factory`). Nothing here fetches, prints or knows about recipes.
Virtual identifiers (``__cuda``, ``__python``) are always resolved first: they have exactly one
candidate, checking them is free, and a driver that is too old then fails at once.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from resolvelib import AbstractProvider

from cudaenv.solver.requirements import is_virtual

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

    from resolvelib.structs import RequirementInformation

    from cudaenv.solver.candidates import Candidate
    from cudaenv.solver.factory import Factory
    from cudaenv.solver.requirements import Requirement

    Information = RequirementInformation[Requirement, Candidate]

__all__ = ["Provider"]


class Provider(AbstractProvider["Requirement", "Candidate", str]):
    """resolvelib's delegate; ``order`` ranks the identifiers the user asked for."""

    def __init__(self, factory: Factory, order: Mapping[str, int]):
        self._factory = factory
        self._order = order
        self._depths: dict[str, float] = {}
        self._late: dict[str, bool] = {}
        self._satisfied: dict[tuple[int, int], tuple[Requirement, Candidate, bool]] = {}

    def identify(self, requirement_or_candidate: Requirement | Candidate) -> str:
        return requirement_or_candidate.identifier

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[Information]],
        backtrack_causes: Sequence[Information],
    ) -> Any:
        """The sort key of ``identifier`` (lower is resolved sooner), as named booleans:

        1. not pinned: an ``==`` requirement (a recipe pin, an extras base) has at most one
           candidate, so deciding it early costs nothing and prunes most;
        2. not a backtrack cause: work on what just failed (pip and resolvelib's advice);
        3. a wheel whose framework pins may be relaxed (:mod:`.rules.relax`) after the rest, so
           every framework's pin on it is known when its release is chosen;
        4. depth: closer to the roots first, so the frameworks are chosen before their leaves;
        5. the user's order of ``--tf``/``--spacy``;
        6. free (no specifier) last, then the name, so that runs are reproducible.

        Cost: O(requirements of ``identifier``) per call, O(n) calls per round; the depths are
        memoised as pip does. Virtual identifiers never get here (see
        :meth:`narrow_requirement_selection`).
        """
        infos = list(information[identifier])
        specs = [s for info in infos for s in info.requirement.specifier]
        pinned = any(s.operator in ("==", "===") and "*" not in s.version for s in specs)
        cause = any(
            identifier in (c.requirement.identifier, c.parent and c.parent.identifier)
            for c in backtrack_causes
        )
        depth = (
            min(
                (
                    self._depths.get(i.parent.identifier, math.inf) if i.parent else 0.0
                    for i in infos
                ),
                default=math.inf,
            )
            + 1.0
        )
        self._depths[identifier] = depth
        if identifier not in self._late:
            self._late[identifier] = self._factory.pins_late(identifier)
        return (
            not pinned,
            not cause,
            self._late[identifier],
            depth,
            self._order.get(identifier, math.inf),
            not specs,
            identifier,
        )

    def narrow_requirement_selection(
        self,
        identifiers: Iterable[str],
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[Information]],
        backtrack_causes: Sequence[Information],
    ) -> Iterable[str]:
        """Virtual identifiers first: one candidate each, free to check."""
        identifiers = list(identifiers)
        return [i for i in identifiers if is_virtual(i)] or identifiers

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Requirement]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> Callable[[], Iterator[Candidate]]:
        reqs = list(requirements[identifier])
        bad = list(incompatibilities[identifier])
        return self._factory.find_candidates(identifier, reqs, bad)

    def is_satisfied_by(self, requirement: Requirement, candidate: Candidate) -> bool:
        """Cached as pip does, but by identity: hashing a ``SpecifierSet`` (packaging 26)
        costs more than the check (1.8 s against 0.2 s on a TF 2.15 + spaCy 3.7 solve). The
        pair is kept in the cache, so its ids cannot be reused while the cache lives."""
        key = (id(requirement), id(candidate))
        if key not in self._satisfied:
            self._satisfied[key] = (requirement, candidate, requirement.is_satisfied_by(candidate))
        return self._satisfied[key][2]

    def get_dependencies(self, candidate: Candidate) -> list[Requirement]:
        return list(candidate.iter_dependencies())
