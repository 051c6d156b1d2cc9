"""What one place says of the indexes to read: a :class:`Layer` of :class:`Location` values.

Each place the settings come from (cudaenv's flags, pip's or uv's environment, pip's or uv's
configuration files) is read into one :class:`Layer`; :func:`cudaenv.settings.read` takes each
setting from the first layer that has it. The readers of the files (:mod:`.pipconf`,
:mod:`.uvconf`) and of the flags and environments (:mod:`cudaenv.settings`) all make their
values here, so none of them imports another.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Layer", "Location", "as_location"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    """An index or find-links location and where it was named (for the summary and errors).

    ``url`` may hold ``user:password@`` (it is what the user gave); a local path is a
    ``file://`` URL. ``tool`` is ``cudaenv``, ``pip``, ``uv``, or ``""`` for PyPI by default.
    """

    url: str
    origin: str
    tool: str = ""

    @property
    def is_local(self) -> bool:
        return self.url.startswith("file:")


@dataclass(frozen=True, slots=True, kw_only=True)
class Layer:
    """What one place (flags, an environment, a tool's configuration files) says."""

    tool: str
    default: Location | None = None
    extras: tuple[Location, ...] = ()
    find_links: tuple[Location, ...] = ()
    strategy: str | None = None
    strategy_origin: str = ""


def as_location(value: str, origin: str, tool: str, *, base: Path | None = None) -> Location:
    """A URL as given, or a path (relative to ``base``, else the working directory) as a
    ``file://`` URL."""
    text = value.strip()
    if "://" not in text:
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = (base or Path.cwd()) / path
        text = Path(os.path.abspath(path)).as_uri()
    return Location(url=text, origin=origin, tool=tool)
