"""verify.record: a RECORD's hashed rows are checked, rows without a hash are skipped, paths
outside site-packages (``../../../bin/x``) are followed, and each problem is named."""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING

from cudaenv.verify.record import FileProblem, check_record

if TYPE_CHECKING:
    from pathlib import Path


def _hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def test_hashed_rows_are_checked_and_the_rest_skipped(tmp_path: Path) -> None:
    site = tmp_path / "lib/python3.11/site-packages"
    (site / "pkg-1.0.dist-info").mkdir(parents=True)
    (site / "pkg").mkdir()
    (tmp_path / "bin").mkdir()
    files = {
        "pkg/__init__.py": b"x = 1\n",
        "pkg/gone.py": b"y = 2\n",
        "pkg/edited.py": b"z = 3\n",
        "../../../bin/pkg-tool": b"#!/bin/sh\n",
    }
    for name, data in files.items():
        (site / name).write_bytes(data)
    (site / "pkg/gone.py").unlink()
    (site / "pkg/edited.py").write_bytes(b"z = 4\n")
    rows = [f"{name},{_hash(data)},{len(data)}" for name, data in files.items()]
    rows += ["pkg/__pycache__/__init__.cpython-311.pyc,,", "pkg-1.0.dist-info/RECORD,,"]
    (site / "pkg-1.0.dist-info/RECORD").write_text("\n".join(rows) + "\n")

    checked, problems = check_record(site / "pkg-1.0.dist-info")
    assert checked == 4
    assert problems == [
        FileProblem(path="pkg/gone.py", what="missing"),
        FileProblem(path="pkg/edited.py", what="changed"),
    ]
