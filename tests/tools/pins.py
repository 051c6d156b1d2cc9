"""A :class:`~cudaenv.resolution.Pin` for a wheel the tests built and serve, for lock and install
tests that start from pins instead of a solve."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from packaging.version import Version

from cudaenv.resolution import Pin, WheelFile

if TYPE_CHECKING:
    from pathlib import Path

    from tests.tools.index_server import IndexServer

__all__ = ["pin_for"]


def pin_for(
    wheel: Path,
    index: IndexServer,
    group: str | None = None,
    *,
    upload_time: str | None = None,
    why: tuple[str, ...] = (),
    dependencies: tuple[str, ...] | None = (),
) -> Pin:
    """*wheel* as served by *index*, hashed; ``group`` defaults to "cuda" for NVIDIA wheels.

    ``dependencies`` are the pins it needs as a lock records them (default: none; None: not
    recorded, so that reading the lock asks the wheels' METADATA)."""
    name, version = wheel.name.split("-")[:2]
    return Pin(
        name=canonicalize_name(name),
        version=Version(version),
        wheel=WheelFile(
            filename=wheel.name,
            url=index.file_url(wheel.name),
            sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(),
            size=wheel.stat().st_size,
            upload_time=upload_time,
        ),
        why=why,
        group=group or ("cuda" if name.startswith("nvidia") else "other"),
        dependencies=None if dependencies is None else tuple(map(canonicalize_name, dependencies)),
    )
