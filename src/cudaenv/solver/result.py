"""resolvelib's result -> the :class:`~cudaenv.resolution.Resolution` value the lock takes.

Pins are the wheel candidates (extras and virtual candidates are bookkeeping); each says who
asked for it (``why``), taken from the resolver's criteria, with an extras candidate's own
parents standing in for it. The stack's facts come from the recipes: CUDA and cuDNN of the
TensorFlow line, or for spaCy alone the CUDA runtime wheel that was pinned; ``min_cuda`` is the
highest ``__cuda`` floor any requirement set, and ``driver_floor`` the driver that runs it.
"""

from __future__ import annotations

from datetime import timezone
from typing import TYPE_CHECKING, Any

from packaging.version import Version

from cudaenv.errors import ResolutionError
from cudaenv.resolution import Pin, Resolution, WheelFile
from cudaenv.solver.candidates import ExtrasCandidate, WheelCandidate
from cudaenv.solver.requirements import CUDA

if TYPE_CHECKING:
    from cudaenv.driver import DriverVersion
    from cudaenv.index import FileLink
    from cudaenv.knowledge import Knowledge
    from cudaenv.machine import Machine
    from cudaenv.request import Request

__all__ = ["FRAMEWORKS", "group_of", "to_resolution"]

FRAMEWORKS = ("tensorflow", "spacy")
_CUDA_PREFIXES = ("nvidia-", "cupy-", "tensorrt")


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


def _why(result: Any, identifier: str) -> tuple[str, ...]:
    out: list[str] = []
    for req, parent in result.criteria[identifier].information:
        if isinstance(parent, ExtrasCandidate) and parent.project == identifier:
            out += _why(result, parent.identifier)
        elif parent is not None:
            out.append(str(parent))
        else:
            out.append(getattr(req, "origin", None) or req.format_for_error())
    return tuple(dict.fromkeys(out))


def _major_minor(pin: Pin | None) -> Version | None:
    return Version(f"{pin.version.major}.{pin.version.minor}") if pin else None


def _stack(pins: list[Pin], knowledge: Knowledge) -> tuple[Version | None, Version | None]:
    """CUDA and cuDNN of the stack: the TF line's, else the pinned NVIDIA wheels' (the CUDA
    runtime wheel, else NVRTC)."""
    tf = next((p for p in pins if p.name == "tensorflow"), None)
    line = knowledge.tf_line(tf.version) if tf else None
    if line is not None:
        return line.cuda, line.cudnn
    # CUDA 11 CuPy loads no cudart wheel: NVRTC, which it needs, has the same version.
    runtime = next((p for p in pins if p.name.startswith("nvidia-cuda-runtime")), None) or next(
        (p for p in pins if p.name.startswith("nvidia-cuda-nvrtc")), None
    )
    cudnn = next((p for p in pins if p.name.startswith("nvidia-cudnn")), None)
    return _major_minor(runtime), _major_minor(cudnn)


def to_resolution(
    result: Any, request: Request, machine: Machine, knowledge: Knowledge, index_url: str
) -> Resolution:
    """The pinned set with its facts; ``notes`` say what the user should know."""
    pins = [
        Pin(
            name=c.name,
            version=c.version,
            wheel=_wheel(c.link, c.name),
            why=_why(result, c.identifier),
            group=group_of(c.name),
            index=c.link.index or "",
        )
        for c in result.mapping.values()
        if isinstance(c, WheelCandidate)
    ]
    pins.sort(key=lambda p: p.name)
    floors = (
        [r.floor for r, _ in result.criteria[CUDA].information] if CUDA in result.criteria else []
    )
    min_cuda = max((f for f in floors if f is not None), default=None)
    driver_floor = knowledge.min_driver_for(min_cuda) if min_cuda else None
    cuda, cudnn = _stack(pins, knowledge) if request.gpu else (None, None)
    return Resolution(
        pins=tuple(pins),
        target=request.target,
        frameworks=request.frameworks,
        cuda=cuda,
        cudnn=cudnn,
        min_cuda=min_cuda,
        driver_floor=driver_floor,
        index_url=index_url,
        notes=_notes(pins, machine, knowledge, min_cuda, driver_floor),
    )


def _notes(
    pins: list[Pin],
    machine: Machine,
    knowledge: Knowledge,
    min_cuda: Version | None,
    driver_floor: DriverVersion | None,
) -> tuple[str, ...]:
    notes = []
    if machine.max_cuda is None and min_cuda is not None:
        floor = str(driver_floor) if driver_floor else "unknown"
        notes.append(
            f"no NVIDIA driver was detected: this stack needs a driver ≥ {floor} "
            f"(CUDA ≥ {min_cuda}) on the machine that runs it"
        )
    for pin in pins:
        line = knowledge.tf_line(pin.version) if pin.name == "tensorflow" else None
        if line is not None and pin.version in line.notes:
            notes.append(f"tensorflow {pin.version}: {line.notes[pin.version]}")
    return tuple(notes)
