"""A real Jupyter kernel from a cudaenv kernel spec: ipykernel (and jupyter_client, which it
needs) installed from the real index by ``cudaenv kernel --install-ipykernel``, the kernel
started by jupyter_client from the spec cudaenv wrote, and code run in it finds the
environment's CUDA runtime by soname, which only the spec's ``env`` makes possible.

The environment itself is the functional tests' spaCy GPU environment (local index, NVIDIA
wheels with real ELF libraries); only ipykernel's closure comes from the real index.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from tests.functional.fleet_index import create_gpu_env

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.network

DRIVER = """
import json, sys
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(kernel_name=sys.argv[1], startup_timeout=120)
out = []
try:
    code = ("import ctypes, sys; lib = ctypes.CDLL('libcudart.so.12'); "
            "lib.cudaenv_fake_soname.restype = ctypes.c_char_p; "
            "print(lib.cudaenv_fake_soname().decode(), sys.executable)")
    reply = kc.execute_interactive(code, timeout=120, output_hook=out.append)
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
text = "".join(m["content"].get("text", "") for m in out if m["msg_type"] == "stream")
print(json.dumps({"status": reply["content"]["status"], "text": text}))
"""


def test_a_real_kernel_runs_with_the_activation(tmp_path: Path) -> None:
    env = create_gpu_env(tmp_path)
    environ = {k: v for k, v in os.environ.items() if k not in {"LD_LIBRARY_PATH", "VIRTUAL_ENV"}}
    environ |= {"JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cudaenv",
            "kernel",
            "-p",
            str(env),
            "--name",
            "spacy-gpu",
            "--install-ipykernel",
            "--index-url",
            "https://pypi.org/simple",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=environ,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    added = json.loads(done.stdout)["added"]
    assert any(a.startswith("ipykernel ") for a in added)
    assert any(a.startswith("jupyter-client ") for a in added)

    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    ran = subprocess.run(
        [str(env / "bin/python"), str(script), "spacy-gpu"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout.strip().splitlines()[-1])
    assert result["status"] == "ok", result
    assert result["text"].strip() == f"libcudart.so.12 {env / 'bin/python'}"
