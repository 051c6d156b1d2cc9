"""``cudaenv fix`` on real TensorFlow from the real index: `pip install tensorflow==2.15.1`
(TensorFlow and its dependencies, no CUDA wheels), then fix, then doctor and smoke.

The environment is several GB: it is made on the big-environment tests' cache (tests/tools/
bigenv.py), every wheel installed by URL and hash from a cudaenv lock, so uv keeps one copy of
each and a second run downloads nothing; fix's own NVIDIA wheels are TensorFlow 2.15.1's
``and-cuda`` pins by the same URLs. The test prints the plan's size and fix's seconds (``-s``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from packaging.version import Version
from tests.tools.bigenv import big_dir, environ, requirements

from cudaenv.envs.venv import find_python
from cudaenv.system.process import find_uv

pytestmark = [pytest.mark.network, pytest.mark.bigenv]

CUDA_CAUSES = ("version-mismatch", "several-installs", "library-path")


def cudaenv(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cudaenv", *args],
        capture_output=True,
        text=True,
        env=environ(),
        timeout=1800,
        check=False,
    )


def test_real_tensorflow_215_without_cuda_wheels_is_fixed_in_place(tmp_path: Path) -> None:
    uv = find_uv()
    assert uv is not None, "uv comes with the test extra"
    req = tmp_path / "requirements.txt"
    req.write_text(requirements("--tf", "2.15", "--cpu", "--python", "3.11"))
    python = find_python(Version("3.11"))
    with big_dir("fix-tf215") as folder:
        venv = folder / "tf 215"
        subprocess.run([str(uv), "venv", "-q", "--python", str(python), str(venv)], check=True)
        install = [str(uv), "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
        subprocess.run(
            [*install, "--no-deps", "--require-hashes", "-r", str(req)],
            check=True,
            env=environ(),
            timeout=1800,
        )
        started = time.monotonic()
        done = cudaenv("fix", "-p", str(venv), "--driver", "535.104.05", "--json")
        seconds = time.monotonic() - started
        assert done.returncode == 0, done.stderr[-3000:]
        doc = json.loads(done.stdout)
        added = sorted(c["package"] for c in doc["plan"] if c["kind"] == "add")
        print(f"fix [real TensorFlow 2.15.1]: plan {len(doc['plan'])} packages, {seconds:.1f} s")
        assert len(added) == len(doc["plan"]) == 12 and "nvidia-cudnn-cu12" in added
        assert doc["doctor"]["before"]["cuda_findings"] > 0
        assert doc["doctor"]["after"]["cuda_findings"] == 0
        doctor = json.loads(cudaenv("doctor", "-p", str(venv), "--json").stdout)
        left = [f for f in doctor["findings"] if f["severity"] != "info"]
        assert not [f for f in left if f["cause"] in CUDA_CAUSES], left
        smoke = json.loads(cudaenv("smoke", "-p", str(venv), "--json", "--quick").stdout)
        site = next(venv.glob("lib/python3.*/site-packages"))
        assert smoke["tensorflow"]["version"] == "2.15.1"
        for lib in smoke["libraries"]:
            assert lib["loaded"] and Path(lib["path"]).is_relative_to(site / "nvidia"), lib
