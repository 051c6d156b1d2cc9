"""The CUDA rules of a solve, apart from the engine that searches.

The engine (:mod:`cudaenv.solver`: provider, factory, candidates, requirements, result, ...)
is shaped like pip's resolver and knows nothing of CUDA. What cudaenv knows about frameworks
and their CUDA stacks lives here, one concern per module: the roots of a request
(:mod:`.recipes`, :mod:`.frameworks`, :mod:`.spacy`), the one CUDA major of an environment
(:mod:`.majors`), relaxed NVIDIA pins (:mod:`.relax`), an extra's optional parts
(:mod:`.optional`), lines the recipes lack (:mod:`.uncurated`), the stack read from the pins
(:mod:`.stack`) and the driver floor it needs (:mod:`.floor`), the newest release of a line
(:mod:`.newest`), and why a solve failed
(:mod:`.explain`, :mod:`.alternatives`, :mod:`.libraries`, :mod:`.conflicts`,
:mod:`.remedies`).

A rule takes the frozen :class:`~.context.Context` of the solve (request, machine, knowledge,
target, the stack's CUDA major once chosen) and, where it must read the index, a
:class:`~.catalog.Catalog`: a small protocol the factory implements and a test can fake. No
rule imports the factory. Importing this package imports none of its modules.
"""

from __future__ import annotations

__all__: list[str] = []
