"""What is installed in an environment: one :class:`Installed` per ``*.dist-info`` (and legacy
``*.egg-info``) in its site-packages, read from the files installers write (``METADATA``,
``INSTALLER``, ``RECORD``), never by importing anything."""

from __future__ import annotations

import email.parser
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName, canonicalize_name

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["Installed", "scan"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Installed:
    """One installed distribution: its name, version, metadata folder and installer."""

    name: NormalizedName
    version: str
    path: Path  # the .dist-info (or .egg-info) folder
    installer: str | None  # "uv", "pip", "conda" ... from INSTALLER; None if not written

    @property
    def has_record(self) -> bool:
        return (self.path / "RECORD").is_file()


def _metadata(folder: Path) -> tuple[str, str] | None:
    for name in ("METADATA", "PKG-INFO"):
        path = folder / name
        if path.is_file():
            head = path.read_text(encoding="utf-8", errors="replace").split("\n\n", 1)[0]
            message = email.parser.HeaderParser().parsestr(head)
            if message.get("Name") and message.get("Version"):
                return str(message["Name"]), str(message["Version"])
    return None


def _installer(folder: Path) -> str | None:
    path = folder / "INSTALLER"
    return path.read_text(errors="replace").strip() or None if path.is_file() else None


def scan(site_packages: Path) -> list[Installed]:
    """Every distribution in ``site_packages``, sorted by name (a name may appear twice)."""
    found = []
    for folder in sorted([*site_packages.glob("*.dist-info"), *site_packages.glob("*.egg-info")]):
        meta = _metadata(folder) if folder.is_dir() else None
        if meta is None:
            continue
        name, version = meta
        found.append(
            Installed(
                name=canonicalize_name(name),
                version=version,
                path=folder,
                installer=_installer(folder),
            )
        )
    return sorted(found, key=lambda d: d.name)
