"""resolvelib's events as progress values for a caller's callback; the solver never prints.

The CLI (through ``render``) or a test decides what to do with a :class:`SolveEvent`; with no
callback the events are dropped. Kinds: ``start``, ``pin`` (a candidate chosen), ``reject`` (a
candidate dropped for a conflict), ``backtrack`` (the causes of a conflict), ``end``. Each
decision is also logged at debug level (``cudaenv -v`` shows it).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from resolvelib import BaseReporter

from cudaenv.events import SolveEvent

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

__all__ = ["EventReporter"]

_log = logging.getLogger(__name__)


class EventReporter(BaseReporter):  # type: ignore[type-arg]
    """Turns resolvelib's reporter calls into :class:`SolveEvent` values."""

    def __init__(self, on_event: Callable[[SolveEvent], None] | None = None):
        self._emit = on_event or (lambda event: None)

    def starting(self) -> None:
        self._emit(SolveEvent(kind="start"))

    def pinning(self, candidate: Any) -> None:
        _log.debug("pin %s %s", candidate.identifier, candidate.version)
        self._emit(
            SolveEvent(kind="pin", identifier=candidate.identifier, version=candidate.version)
        )

    def rejecting_candidate(self, criterion: Any, candidate: Any) -> None:
        _log.debug("reject %s %s", candidate.identifier, candidate.version)
        self._emit(
            SolveEvent(kind="reject", identifier=candidate.identifier, version=candidate.version)
        )

    def resolving_conflicts(self, causes: Collection[Any]) -> None:
        detail = ", ".join(sorted({c.requirement.format_for_error() for c in causes}))
        _log.debug("backtrack: conflict between %s", detail)
        self._emit(SolveEvent(kind="backtrack", detail=detail))

    def ending(self, state: Any) -> None:
        self._emit(SolveEvent(kind="end"))
