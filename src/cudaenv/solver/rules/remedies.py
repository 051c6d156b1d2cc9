"""A hint is offered only if following it resolves: the solver tries each way out first.

An explanation (:mod:`.explain`) proposes ways out from the knowledge base alone, but whether
``--tf 2.14`` beside ``--spacy 3.8`` on Python 3.11 really resolves only a solve can tell. So
before a :class:`~cudaenv.errors.ResolutionError` leaves the solver, each remedy is applied to
the request and the machine (:func:`apply`) and solved; those that fail are dropped. When none
is left the error offers ``cudaenv matrix``, which lists what every line needs and always works.
This runs only on the way out of a failed solve, and a remedy that worked is a remembered solve
when the user follows it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from cudaenv.errors import CudaenvError, Remedy, ResolutionError
from cudaenv.machine import Overrides, detect
from cudaenv.request import FRAMEWORK_ORDER, FrameworkRequest, Target

if TYPE_CHECKING:
    from collections.abc import Callable

    from cudaenv.knowledge import Knowledge
    from cudaenv.machine import Machine
    from cudaenv.request import Request

    Attempt = Callable[["Request", "Machine"], object]

__all__ = ["MATRIX", "apply", "verified"]

MATRIX = Remedy.run(("cudaenv", "matrix"), text="see what each line needs: `cudaenv matrix`")
_FRAMEWORKS = {"--tf": "tensorflow", "--torch": "torch", "--jax": "jax", "--spacy": "spacy"}


def apply(
    remedy: Remedy, request: Request, machine: Machine, knowledge: Knowledge
) -> tuple[Request, Machine] | None:
    """The request and machine that following ``remedy`` gives; None if it is not a change of
    options the solver takes (a command to run, say)."""
    if remedy.commands or not remedy.options:
        return None
    for flag, value in remedy.options:
        changed = _option(flag, value, request, machine, knowledge)
        if changed is None:
            return None
        request, machine = changed
    return request, machine


def _option(
    flag: str, value: str | None, request: Request, machine: Machine, knowledge: Knowledge
) -> tuple[Request, Machine] | None:
    if flag in _FRAMEWORKS and value is not None:
        fw = FrameworkRequest.from_string(_FRAMEWORKS[flag], value)
        others = tuple(f for f in request.frameworks if f.name != fw.name)
        frameworks = tuple(sorted((*others, fw), key=lambda f: FRAMEWORK_ORDER.index(f.name)))
        return replace(request, frameworks=frameworks), machine
    if flag == "--python" and value is not None:
        target = Target.from_strings(value, request.target.platform)
        return replace(request, target=target), machine
    if flag == "--pre" and value is None:
        return replace(request, pre=True), machine
    if flag == "--cpu" and value is None:
        return replace(request, gpu=False), machine
    if flag in ("--driver", "--cuda") and value is not None:
        return request, _machine(flag, value, knowledge)
    return None


def _machine(flag: str, value: str, knowledge: Knowledge) -> Machine:
    overrides = Overrides(driver=value) if flag == "--driver" else Overrides(cuda=value)
    return detect(overrides, driver_to_cuda=knowledge.max_cuda_for_driver)


def verified(
    err: ResolutionError,
    attempt: Attempt,
    request: Request,
    machine: Machine,
    knowledge: Knowledge,
) -> ResolutionError:
    """``err`` with only the remedies that resolve when followed (``attempt`` solves): of those
    that set the same options (``--python 3.15``, then ``3.14``), the first that works. An
    error that offers no remedy (its hint is advice in words) is returned as it is."""
    if not err.remedies:
        return err
    kept: list[Remedy] = []
    for remedy in err.remedies:
        flags = _flags(remedy)
        if any(_flags(k) == flags for k in kept if flags):
            continue
        if _works(remedy, attempt, request, machine, knowledge):
            kept.append(remedy)
    return _with(err, tuple(kept))


def _flags(remedy: Remedy) -> tuple[str, ...]:
    return tuple(flag for flag, _ in remedy.options)


def _with(err: ResolutionError, kept: tuple[Remedy, ...]) -> ResolutionError:
    if kept == err.remedies and kept:
        return err
    remedies = kept or (MATRIX,)
    why = err.explanation
    return ResolutionError(
        err.message,
        context=err.context,
        remedies=remedies,
        explanation=replace(why, hints=remedies) if why is not None else None,
    )


def _works(
    remedy: Remedy, attempt: Attempt, request: Request, machine: Machine, knowledge: Knowledge
) -> bool:
    try:
        changed = apply(remedy, request, machine, knowledge)
        if changed is None:
            return bool(remedy.commands)  # commands are checked where they are made
        if changed == (request, machine):
            return False  # the same request again cannot work
        attempt(*changed)
    except CudaenvError:
        return False
    return True
