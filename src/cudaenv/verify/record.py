"""Are a distribution's files the ones it was installed with? Its ``RECORD`` says.

Installers write one row per installed file: ``path,sha256=<urlsafe base64, no padding>,size``
(the wheel spec, "The RECORD file"). A row with a hash is checked: the file must exist and hash
to it. Rows without a hash (``RECORD`` itself, ``.pyc`` files compiled later, ``INSTALLER``
for some installers) cannot be checked and are skipped. Paths are relative to the folder that
holds the ``.dist-info`` (``../../../bin/x`` for scripts). Cost: one read of every file.
"""

from __future__ import annotations

import base64
import csv
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["FileProblem", "check_record"]

_BLOCK = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class FileProblem:
    path: str  # as RECORD writes it
    what: Literal["missing", "changed"]


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
    return base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()


def check_record(dist_info: Path) -> tuple[int, list[FileProblem]]:
    """(files checked, the problems found) for the ``RECORD`` in ``dist_info``."""
    root = dist_info.parent
    checked, problems = 0, []
    with open(dist_info / "RECORD", newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if len(row) < 2 or not row[1].startswith("sha256="):
                continue
            checked += 1
            path = root / row[0]
            if not path.is_file():
                problems.append(FileProblem(path=row[0], what="missing"))
            elif _digest(path) != row[1].removeprefix("sha256="):
                problems.append(FileProblem(path=row[0], what="changed"))
    return checked, problems
