"""Which of the machine's installed distributions the environment's wheelhouse needs.

The environment cudaenv makes there holds the machine's NVIDIA libraries, its CuPy (spaCy's way
to the GPU, built for the image's CUDA 13) and the carried spaCy. The roots are the image's
CuPy, the CUDA libraries its cudaenv recipe names (``recipes/cupy.toml``: ``runtime_wheels``),
cuDNN, and the carried spaCy; from them every requirement is followed, for the image's Python,
through the carried wheels' METADATA first and the installed distributions' otherwise. What the
carried wheels do not have is made into a wheel from the machine (:mod:`.repack`); what neither
has is reported, and the solve then says which requirement it cannot meet.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from typing import TYPE_CHECKING

from gpucheck.repack import canonical

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

    from gpucheck.repack import Dist

__all__ = ["Plan", "carried_metadata", "plan", "roots"]

# The CUDA libraries whose loading the activation check follows (by soname family), and cuDNN.
_ALWAYS = re.compile(r"^nvidia-(cuda-runtime|cublas|cudnn)(-cu\d+)?$")
_CUPY = re.compile(r"^cupy-cuda\d+x$")


@dataclass(frozen=True)
class Plan:
    """The wheelhouse to make: the roots (name -> version), the installed distributions to make
    into wheels, and the requirements nothing has."""

    roots: dict[str, str]
    from_image: tuple[Dist, ...]
    missing: tuple[str, ...]


def carried_metadata(wheels: Iterable[Path]) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, Requires-Dist) of each carried wheel, from its METADATA."""
    out = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            head = HeaderParser().parsestr(zf.read(name).decode(errors="replace"))
        out[canonical(head["Name"])] = (head["Version"], head.get_all("Requires-Dist") or [])
    return out


def roots(image: Mapping[str, Dist], runtime: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """The image's CuPy and the CUDA libraries to carry over (``runtime``: CuPy distribution
    name -> its recipe's runtime wheel names), name -> installed version."""
    names = {n for n in image if _ALWAYS.match(n) or _CUPY.match(n)}
    for cupy in [n for n in names if _CUPY.match(n)]:
        names |= {canonical(r) for r in runtime.get(cupy, ()) if canonical(r) in image}
    return {n: image[n].version for n in sorted(names)}


def _wanted(
    text: str, extras: frozenset[str], environment: dict[str, str]
) -> tuple[str, frozenset[str]] | None:
    from packaging.requirements import Requirement

    req = Requirement(text)
    marker = req.marker
    if marker is not None and not any(
        marker.evaluate({**environment, "extra": e}) for e in ("", *sorted(extras))
    ):
        return None
    return canonical(req.name), frozenset(canonical(e) for e in req.extras)


def plan(
    wanted: Mapping[str, str],
    image: Mapping[str, Dist],
    carried: Mapping[str, tuple[str, list[str]]],
    environment: dict[str, str],
) -> Plan:
    """Follow every requirement of ``wanted`` (name -> version) through carried then image."""
    todo = [(name, frozenset[str]()) for name in wanted]
    seen: set[tuple[str, frozenset[str]]] = set()
    from_image: dict[str, Dist] = {}
    missing: list[str] = []
    while todo:
        item = todo.pop()
        if item in seen:
            continue
        seen.add(item)
        name, extras = item
        if name in carried:
            requires = carried[name][1]
        elif name in image:
            from_image[name] = image[name]
            requires = image[name].requires()
        else:
            missing.append(name)
            continue
        for text in requires:
            found = _wanted(text, extras, environment)
            if found is not None:
                todo.append(found)
    return Plan(
        roots=dict(wanted),
        from_image=tuple(from_image.values()),
        missing=tuple(sorted(set(missing))),
    )
