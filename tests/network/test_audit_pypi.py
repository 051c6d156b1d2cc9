"""``scripts/audit-knowledge.py`` against the real index: it runs, reads every section, and
finds the recipes' CUDA extras as PyPI's metadata has them (the knowledge base is checked in
with them right; a difference printed here is a row to fix)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.network

AUDIT = Path(__file__).resolve().parents[2] / "scripts" / "audit-knowledge.py"
SECTIONS = ("TensorFlow lines", "spaCy lines", "CUDA extras", "CuPy builds", "NVIDIA runtime")


def test_the_audit_reads_the_real_index(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(AUDIT), "--cache-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    for title in SECTIONS:
        assert f"== {title}" in done.stdout, done.stdout
    extras = done.stdout.split("== CUDA extras")[1].split("\n== ")[0]
    assert "tensorflow 2.15:" not in extras and "tensorflow 2.21:" not in extras, extras
    # CUDA 13.3 has its driver row; 13.4 and 13.5 are floor-only rows, explained, not to add
    assert "== NVIDIA runtime releases: nothing to add" in done.stdout, done.stdout
    explained = done.stdout.split("== NVIDIA runtime releases with only their major's floor")[1]
    assert "- CUDA 13.5: nvidia-cuda-runtime 13.5." in explained, explained
