"""``scripts/audit-knowledge.py`` against a local index: a CUDA runtime newer than the driver table.

``constraints/cuda_driver.toml`` knows CUDA 13 up to 13.3 with a driver, and 13.4 and 13.5 as
releases whose driver no source read names (``[[floor_only]]``). A runtime wheel of 13.9 is a
release the table does not know at all: the audit must say so, count it, and fail ``--check``; a
13.5 runtime is explained by its row and is not counted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.tools.index_server import IndexServer

AUDIT = Path(__file__).resolve().parents[2] / "scripts" / "audit-knowledge.py"


def audit(index: IndexServer, cache: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(AUDIT), "--index-url", index.url, "--cache-dir", str(cache)]
    return subprocess.run([*cmd, *extra], capture_output=True, text=True, check=False)


def test_a_runtime_newer_than_the_driver_table_is_flagged(
    local_index: IndexServer, make_nvidia_wheel, tmp_path: Path
) -> None:
    make_nvidia_wheel("nvidia-cuda-runtime", "13.3.29", libs=["libcudart.so.13"], component="cu13")
    make_nvidia_wheel("nvidia-cuda-runtime", "13.5.37", libs=["libcudart.so.13"], component="cu13")
    make_nvidia_wheel("nvidia-cuda-runtime", "13.9.10", libs=["libcudart.so.13"], component="cu13")
    done = audit(local_index, tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "== NVIDIA runtime releases: 1 to add" in out, out
    assert (
        "- CUDA 13.9: nvidia-cuda-runtime 13.9.10 is on the index, newer than cuda_driver.toml "
        "knows (no [[toolkit]] or [[floor_only]] row: add the row NVIDIA's release notes give)"
    ) in out
    assert "CUDA 13.3:" not in out  # its row names its driver
    explained = out.split("== NVIDIA runtime releases with only their major's floor: ")[1]
    row = "1\n- CUDA 13.5: nvidia-cuda-runtime 13.5.37; [[floor_only]] 13.5 GA"
    assert explained.startswith(row), explained
    assert "only the CUDA 13 floor is sourced (explained, nothing to add)" in explained
    assert audit(local_index, tmp_path / "cache", "--check").returncode == 1


def test_runtimes_the_table_knows_are_nothing_to_add(
    local_index: IndexServer, make_nvidia_wheel, tmp_path: Path
) -> None:
    make_nvidia_wheel("nvidia-cuda-runtime", "13.3.29", libs=["libcudart.so.13"], component="cu13")
    make_nvidia_wheel("nvidia-cuda-runtime", "13.4.92", libs=["libcudart.so.13"], component="cu13")
    done = audit(local_index, tmp_path / "cache", "--check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "== NVIDIA runtime releases: nothing to add" in done.stdout
    assert "- CUDA 13.4: nvidia-cuda-runtime 13.4.92; [[floor_only]] 13.4 GA" in done.stdout
