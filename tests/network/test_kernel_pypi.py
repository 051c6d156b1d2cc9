"""A real Jupyter kernel from a cudaenv kernel spec: ipykernel (and jupyter_client, which it
needs) installed from the real index by ``cudaenv kernel --install-ipykernel``, the kernel
started by jupyter_client from the spec cudaenv wrote, and code run in it finds the
environment's CUDA runtime by soname, which only the spec's ``env`` makes possible.

The environment itself is the functional tests' spaCy GPU environment (local index, NVIDIA
wheels with real ELF libraries); only ipykernel's closure comes from the real index. A kernel
registered the plain way (``python -m ipykernel install``) and started by jupyter_client from
another Python finds them too, through the environment's start-up hook alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.functional.fleet_index import create_gpu_env

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


# --- a kernel registered with plain `ipykernel install`: the start-up hook alone -------------

CUPY_STANDIN = """import ctypes
opened = {}
for soname in ("libcudart.so.12", "libcublas.so.12"):
    try:
        opened[soname] = ctypes.CDLL(soname).cudaenv_fake_version()
    except OSError as e:
        opened[soname] = str(e)


def report():
    with open("/proc/self/maps") as maps:
        rows = [row.split(None, 5) for row in maps]
    return {"opened": opened, "files": sorted({r[5].strip() for r in rows if len(r) == 6
                                               and "/libcu" in r[5]})}
"""
PLAIN_DRIVER = """
import json, sys
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(kernel_name=sys.argv[1], startup_timeout=120)
out = []
try:
    code = "import cupy, json, sys; print(json.dumps([cupy.report(), sys.executable]))"
    reply = kc.execute_interactive(code, timeout=120, output_hook=out.append)
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
text = "".join(m["content"].get("text", "") for m in out if m["msg_type"] == "stream")
print(json.dumps({"status": reply["content"]["status"], "text": text}))
"""


def test_a_plainly_registered_kernel_gets_the_environments_libraries(tmp_path: Path) -> None:
    """`python -m ipykernel install --user` writes a spec with no environment of its own; a
    jupyter_client in another Python starts it with that Python's environment, here with a
    shadowing LD_LIBRARY_PATH or none. The start-up hook alone makes the kernel's CuPy
    (a stand-in that dlopens by soname, as CuPy <= 13 does) get the environment's copies."""
    from tests.tools.bigenv import UV_CACHE
    from tests.tools.make_wheel import build_shared_library, make_wheel

    from cudaenv.system.process import find_uv

    uv = str(find_uv())
    env = create_gpu_env(tmp_path)
    standin = make_wheel(
        tmp_path / "w", "cupy-standin", "1.0", files={"cupy/__init__.py": CUPY_STANDIN}
    )
    environ = {k: v for k, v in os.environ.items() if k not in {"LD_LIBRARY_PATH", "VIRTUAL_ENV"}}
    environ |= {"JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "HOME": str(tmp_path / "home")}
    environ |= {"UV_CACHE_DIR": str(UV_CACHE), "UV_INDEX_URL": "https://pypi.org/simple"}

    def run(*cmd: str | Path, **more: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(c) for c in cmd],
            capture_output=True,
            text=True,
            env=environ | more,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    python = env / "bin" / "python"
    run(uv, "pip", "install", "-q", "--python", python, "ipykernel")
    run(uv, "pip", "install", "-q", "--python", python, "--no-deps", standin)
    run(python, "-m", "ipykernel", "install", "--user", "--name", "plain")
    spec = json.loads((tmp_path / "jupyter/kernels/plain/kernel.json").read_text())
    assert spec["argv"][0] == str(python) and not spec.get("env")  # nothing of cudaenv's
    other = tmp_path / "client"
    run(uv, "venv", "-q", "--python", sys.executable, other)
    run(uv, "pip", "install", "-q", "--python", other / "bin/python", "jupyter_client")
    script = tmp_path / "driver.py"
    script.write_text(PLAIN_DRIVER)
    shadow = tmp_path / "system cuda"
    shadow.mkdir()
    (shadow / "libcudart.so.12").write_bytes(build_shared_library("libcudart.so.12", number=99))
    for more in ({}, {"LD_LIBRARY_PATH": str(shadow)}):
        ran = run(other / "bin/python", script, "plain", **more)
        result = json.loads(ran.stdout.strip().splitlines()[-1])
        assert result["status"] == "ok", result
        report, executable = json.loads(result["text"])
        assert executable == str(python)
        assert report["opened"] == {"libcudart.so.12": 12, "libcublas.so.12": 12}, report
        nvidia = next(env.glob("lib/python3.*/site-packages")) / "nvidia"
        assert report["files"] and all(Path(f).is_relative_to(nvidia) for f in report["files"])
