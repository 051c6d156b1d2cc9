"""A framework that segfaults in the smoke test is reported as that crash, with where it was.

The JAX here is a stand-in (no JAX wheel fits this machine's tests): a package named ``jax``
whose ``devices()`` really dereferences a null pointer, as CUPTI does inside ``jax.devices()``
on a machine without a driver. The probe, the child process, the signal and the fault report
in its log are real.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

from cudaenv.envs.base import Env

if TYPE_CHECKING:
    from pathlib import Path

FAKE_JAX = """
__version__ = "0.7.2"


def devices(kind=None):
    import ctypes

    return ctypes.string_at(0)  # a segfault, in native code, at the first device query


def default_backend():
    return "cpu"
"""


def test_a_framework_killed_by_a_signal_is_reported_as_that_crash(cli, tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    env = Env.from_prefix(prefix)
    site = next(p for p in (prefix / "lib").glob("python*/site-packages"))
    (site / "jax").mkdir()
    (site / "jax" / "__init__.py").write_text(FAKE_JAX)
    (site / "jax" / "numpy.py").write_text("")
    result = cli("smoke", "-p", str(env.prefix), "--quick")
    assert result.code == 2, result.out + result.err
    said = (
        "JAX crashed: killed by SIGSEGV (signal 11) while it looked for a GPU, "
        "called from jax/__init__.py (devices)"
    )
    assert said in result.out + result.err
    assert "fails on the GPU" not in result.out + result.err
    doc = json.loads(cli("smoke", "-p", str(env.prefix), "--quick", "--json").out)
    assert doc["jax"]["crash"] == {
        "signal": 11,
        "name": "SIGSEGV",
        "phase": "gpu",
        "library": None,  # Python < 3.14 writes no C stack
        "called_from": "jax/__init__.py (devices)",
        "fatal": None,  # a segfault, not an abort after a C++ message
    }
    assert doc["verdict"] == "broken" and said in doc["problems"]
