"""resolvelib's result -> the :class:`~cudaenv.resolution.Resolution` value the lock takes.

Pins are the wheel candidates (extras and virtual candidates are bookkeeping); each says who
asked for it (``why``), taken from the resolver's criteria, with an extras candidate's own
parents standing in for it, and which pins it needs (``dependencies``, from the resolver's
graph: the lock records them, so that a lock cut short is known for what it is). The stack's
facts come from the pins (:mod:`.rules.stack`): the CUDA and cuDNN the environment holds, what
TensorFlow was built with, and the driver that runs them; ``min_cuda`` is the highest ``__cuda``
floor any requirement set.
"""

from __future__ import annotations

from datetime import timezone
from typing import TYPE_CHECKING

from cudaenv.errors import ResolutionError
from cudaenv.resolution import Pin, Resolution, Stack, WheelFile
from cudaenv.solver.candidates import ExtrasCandidate, WheelCandidate
from cudaenv.solver.requirements import CUDA, VirtualRequirement
from cudaenv.solver.rules import frameworks, relax, stack

if TYPE_CHECKING:
    from collections.abc import Mapping

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from cudaenv.driver import DriverVersion
    from cudaenv.index import FileLink
    from cudaenv.knowledge import Knowledge
    from cudaenv.machine import Machine
    from cudaenv.request import Request
    from cudaenv.solver.rules.relax import Solved

    Unavailable = Mapping[
        tuple[str, Version], tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]
    ]

__all__ = ["FRAMEWORKS", "group_of", "to_resolution"]

FRAMEWORKS = ("tensorflow", "torch", "jax", "spacy")
_RUNTIMES = ("nvidia-cuda-runtime-cu11", "nvidia-cuda-runtime-cu12", "nvidia-cuda-runtime")
_CUDA_PREFIXES = ("nvidia-", "cupy-", "tensorrt", "jax-cuda", "cuda-")


def group_of(name: str) -> str:
    """``framework``, ``cuda`` (NVIDIA wheels, CuPy, TensorRT) or ``other``."""
    if name in FRAMEWORKS:
        return "framework"
    return "cuda" if name.startswith(_CUDA_PREFIXES) else "other"


def _wheel(link: FileLink, name: str) -> WheelFile:
    if not link.sha256:
        raise ResolutionError(
            f"the index gives no sha256 for {link.filename} ({name})",
            hint="cudaenv locks only hashed files: use an index that publishes hashes",
        )
    uploaded = link.upload_time
    return WheelFile(
        filename=link.filename,
        url=link.url,
        sha256=link.sha256,
        size=link.size,
        upload_time=uploaded.astimezone(timezone.utc).isoformat() if uploaded else None,
    )


def _why(result: Solved, identifier: str) -> tuple[str, ...]:
    out: list[str] = []
    for req, parent in result.criteria[identifier].information:
        if isinstance(parent, ExtrasCandidate) and parent.project == identifier:
            out += _why(result, parent.identifier)
        elif parent is not None:
            out.append(str(parent))
        else:
            out.append(req.origin or req.format_for_error())
    return tuple(dict.fromkeys(out))


def _project(result: Solved, key: str | None) -> NormalizedName | None:
    """The project of the candidate pinned for ``key`` (None: the root, a virtual package)."""
    cand = result.mapping.get(key) if key is not None else None
    return cand.project if cand is not None else None


def _dependencies(result: Solved) -> dict[NormalizedName, set[NormalizedName]]:
    """project -> the projects it needs, from the resolver's graph: an extras candidate's
    edges count for its project (``tensorflow[and-cuda]`` for ``tensorflow``), and virtual
    packages (``__cuda``, ``__python``) are no pins."""
    needs: dict[NormalizedName, set[NormalizedName]] = {}
    for key in result.graph:
        project = _project(result, key)
        if project is None:
            continue
        for child in result.graph.iter_children(key):
            dep = _project(result, child)
            if dep is not None and dep != project:
                needs.setdefault(project, set()).add(dep)
    return needs


def to_resolution(
    result: Solved,
    request: Request,
    machine: Machine,
    knowledge: Knowledge,
    index_url: str,
    unavailable: Unavailable | None = None,
) -> Resolution:
    """The pinned set with its facts; ``notes`` say what the user should know, among them the
    optional parts left out of a pinned release's extra (``unavailable``, from the factory)."""
    needs = _dependencies(result)
    pins = [
        Pin(
            name=c.name,
            version=c.version,
            wheel=_wheel(c.link, c.name),
            why=_why(result, c.identifier),
            group=group_of(c.name),
            index=c.link.index or "",
            dependencies=tuple(sorted(needs.get(c.name, ()))),
        )
        for c in result.mapping.values()
        if isinstance(c, WheelCandidate)
    ]
    pins.sort(key=lambda p: p.name)
    infos = result.criteria[CUDA].information if CUDA in result.criteria else []
    floors = [r.floor for r, _ in infos if isinstance(r, VirtualRequirement)]
    min_cuda = max((f for f in floors if f is not None), default=None)
    held = stack.stack_of(pins, knowledge, min_cuda) if request.gpu else Stack(min_cuda=min_cuda)
    relaxed = relax.found(result, knowledge)
    pinned = {p.name: p.version for p in pins}
    return Resolution(
        pins=tuple(pins),
        target=request.target,
        frameworks=request.frameworks,
        stack=held,
        index_url=index_url,
        notes=_notes(pins, machine, knowledge, min_cuda, held.driver_floor)
        + stack.notes(held, pins, machine, knowledge)
        + _unavailable(pins, request, knowledge, unavailable or {})
        + relax.notes(relaxed, knowledge)
        + frameworks.notes(knowledge, request, pinned),
        relaxed=relaxed,
    )


def _unavailable(
    pins: list[Pin], request: Request, knowledge: Knowledge, unavailable: Unavailable
) -> tuple[str, ...]:
    """ "TF-TRT is unavailable: tensorrt==8.5.3.1 has no release for ...", per pinned release."""
    target = f"Python {request.target.python} on {request.target.platform}"
    out = []
    for pin in pins:
        for name, missing, left_out in unavailable.get((pin.name, pin.version), ()):
            part = knowledge.optional_part(name) or knowledge.optional_part(left_out[0])
            feature = part.feature if part is not None else name
            verb = "has" if len(missing) == 1 else "have"
            out.append(
                f"{feature} is unavailable: {', '.join(missing)} {verb} no release for "
                f"{target}; {pin.name} {pin.version} runs without it (its extra is installed "
                f"without {', '.join(left_out)})"
            )
    return tuple(out)


def _notes(
    pins: list[Pin],
    machine: Machine,
    knowledge: Knowledge,
    min_cuda: Version | None,
    driver_floor: DriverVersion | None,
) -> tuple[str, ...]:
    notes = []
    if not machine.has_driver and min_cuda is not None:
        floor = str(driver_floor) if driver_floor else "unknown"
        notes.append(
            f"no NVIDIA driver was detected: this stack needs a driver ≥ {floor} "
            f"(CUDA ≥ {min_cuda}) on the machine that runs it"
        )
    for pin in pins:
        line = knowledge.tf_line(pin.version) if pin.name == "tensorflow" else None
        if line is not None and pin.version in line.notes:
            notes.append(f"tensorflow {pin.version}: {line.notes[pin.version]}")
    return tuple(notes) + _beyond_the_table(pins, knowledge)


def _beyond_the_table(pins: list[Pin], knowledge: Knowledge) -> tuple[str, ...]:
    """A CUDA runtime newer than every release whose driver cudaenv's table names (13.5.37
    when the table stops at 13.3): it runs on its major's floor, and nothing more is known."""
    runtime = next((p for p in pins if p.name in _RUNTIMES), None)
    if runtime is None:
        return ()
    major = runtime.version.major
    newest = knowledge.newest_toolkit_cuda(major)
    if newest is None or (runtime.version.major, runtime.version.minor) <= newest.release:
        return ()
    floor = knowledge.min_driver_for(runtime.version)
    cuda = f"{major}.{runtime.version.minor}"
    return (
        f"{runtime.name} {runtime.version} is CUDA {cuda}, newer than CUDA {newest}, the newest "
        f"release whose driver cudaenv's table names: only the CUDA {major} floor is known for "
        f"it, so it runs on drivers ≥ {floor} under minor-version compatibility, and a feature "
        f"that needs CUDA {cuda}'s own driver (such as running PTX it compiled) may fail on an "
        "older one",
    )
