"""``scripts/gpu-check``: its dry run on this machine (no GPU) against the suite's fake driver.

The fake machine agrees with itself (tests/tools/fake_driver: NVML and libcuda compiled here and
loaded by the real dlopen, a fake ``nvidia-smi``, ``/proc/driver/nvidia/version`` under
``CUDAENV_HOST_ROOT``). "The machine's Python" is a plain venv holding test-built NVIDIA wheels
(real shared libraries with the real sonames). The script runs as it does on a lent GPU machine:
a real child process, every cudaenv command it runs a real one, the environment made offline
from a wheelhouse of wheels made from that venv's distributions; ``--dry-run`` only stops it
from requiring the GPU verdicts. The run on a real GPU is the last test, marked ``gpu``.
"""

from __future__ import annotations

import hashlib
import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

from tests.functional.test_smoke import make_venv, uv_install
from tests.tools import fake_driver
from tests.tools.make_wheel import make_nvidia_wheel

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu-check"
sys.path.insert(0, str(ROOT / "scripts"))

from gpucheck import prepare, repack  # noqa: E402

HAS_DRIVER = os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidiactl")
no_compiler = pytest.mark.skipif(
    fake_driver.compiler() is None, reason="no C compiler for the fake driver"
)
real_driver = pytest.mark.skipif(HAS_DRIVER, reason="this machine has a real NVIDIA driver")
TOOL_DEPENDENCIES = ("resolvelib", "msgspec", "platformdirs", "tomli-w", "certifi", "packaging")


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The fake driver's variables, and PATH with its nvidia-smi first."""
    fake = fake_driver.fake_machine(tmp_path_factory.mktemp("driver"))
    return {**fake, "PATH": f"{fake['PATH']}{os.pathsep}{os.environ['PATH']}"}


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The machine's own Python environment: a venv with CUDA 12 runtime, cuBLAS and cuDNN."""
    folder = tmp_path_factory.mktemp("image")
    wheels = [
        make_nvidia_wheel(folder, "nvidia-cuda-runtime-cu12", "12.2.140", libs=["libcudart.so.12"]),
        make_nvidia_wheel(folder, "nvidia-cublas-cu12", "12.2.5.6",
                          libs=["libcublas.so.12", "libcublasLt.so.12"]),
        make_nvidia_wheel(folder, "nvidia-cudnn-cu12", "9.3.0.75", libs=["libcudnn.so.9"],
                          requires_dist=["nvidia-cublas-cu12"]),
    ]  # fmt: skip
    venv = make_venv(folder / "venv")
    uv_install(venv, "--no-deps", "--no-index", *map(str, wheels))
    return venv.python


def gpu_check(python: str, out: Path, environ: dict[str, str], *args: str, timeout: int = 300):
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_OVERRIDE_CUDA")}
    return subprocess.run(
        [python, str(SCRIPT), str(out), *args],
        env={**env, **environ},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def dry_run(python: str, tmp_path: Path, environ, image: Path, *more: str):
    """``gpu-check OUT --dry-run`` with the fake image; OUT is ``tmp_path / "out"``."""
    args = ["--dry-run", "--python", str(image), "--work", str(tmp_path / "work"), *more]
    return gpu_check(python, tmp_path / "out", environ, *args)


def checks(out: Path) -> dict[str, dict]:
    return {c["name"]: c for c in json.loads((out / "report.json").read_text())["checks"]}


@no_compiler
@real_driver
def test_dry_run_passes_against_the_fake_driver(tmp_path: Path, machine, image) -> None:
    out = tmp_path / "out"
    done = dry_run(sys.executable, tmp_path, machine, image, "--carried", str(tmp_path / "none"))
    assert done.returncode == 0, (out / "summary.txt").read_text() + done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["log.txt", "report.json", "summary.txt"]
    found = checks(out)
    names = list(found)
    assert names[:5] == ["carried", "tool", "machine", "detect", "smoke-image"]
    assert names[-4:] == ["activation-bash", "cupy-env", "cudaenv-run", "smoke-env"]
    assert set(names[5:-4]) == {"doctor-image", "cupy-image", "wheelhouse", "lock", "create"}
    assert names.index("wheelhouse") < names.index("lock") < names.index("create")
    assert {n for n, c in found.items() if c["ok"] is None} == {
        "carried",
        "cupy-image",
        "cupy-env",
        "smoke-env",  # no CuPy, no spaCy in a dry run
    }
    figures = found["detect"]["figures"]
    assert (figures["driver"], figures["max_cuda"]) == ("580.173.02", "13.0")
    assert figures["gpus"] == ["NVIDIA H100 80GB HBM3 (compute 9.0)"]
    assert figures["answered_by"] == ["libcuda", "nvidia-smi", "nvml", "proc"]
    assert found["wheelhouse"]["figures"]["from_image"] == {
        "nvidia-cublas-cu12": "12.2.5.6", "nvidia-cuda-runtime-cu12": "12.2.140",
        "nvidia-cudnn-cu12": "9.3.0.75",
    }  # fmt: skip
    env = tmp_path / "work" / "env"
    for check in ("activation-bash", "cudaenv-run"):
        libraries = found[check]["figures"]["libraries"]
        assert sorted(libraries) == ["libcublas.so.12", "libcudart.so.12", "libcudnn.so.9"]
        assert all(Path(p).is_relative_to(env) for p in libraries.values())
        assert found[check]["figures"]["libcuda"] == str(
            Path(machine["LD_LIBRARY_PATH"]) / "libcuda.so.1"
        )
        assert found[check]["figures"]["cuInit"] == 0
    summary = (out / "summary.txt").read_text()
    assert summary.startswith("cudaenv gpu-check: PASSED (dry run")
    assert "detect.driver: 580.173.02" in summary
    header = found["machine"]["details"]["nvidia-smi"]["table"]["text"]
    assert "Driver Version: 580.173.02" in header  # kept verbatim for tests/data


@no_compiler
@real_driver
def test_from_a_python_without_cudaenvs_dependencies(tmp_path: Path, machine, image) -> None:
    """As on a lent machine: the first stage runs under a Python that lacks resolvelib and the
    rest; they come from the carried folder (here: wheels made from the suite's own installs),
    into a venv of that Python, with its pip, and the second stage runs there."""
    own = Path(next(p for p in site.getsitepackages() if p.endswith("site-packages")))
    dists = repack.installed(own)
    made = [repack.wheel_of(dists[name], tmp_path / "wheels", strict=False)
            for name in TOOL_DEPENDENCIES]  # fmt: skip
    packed = [(w, hashlib.sha256(w.read_bytes()).hexdigest(), ["tool"]) for w in made]
    prepare.pack(packed, tmp_path / "carried")
    bare = make_venv(tmp_path / "bare")
    out = tmp_path / "out"
    carried = str(tmp_path / "carried")
    done = dry_run(str(bare.python), tmp_path, machine, image, "--carried", carried)
    found = checks(out)
    assert done.returncode == 0, (out / "summary.txt").read_text() + done.stderr
    assert found["carried"]["summary"].endswith("6 for tool")
    assert found["tool"]["summary"].endswith("a venv of this Python with the carried dependencies")
    assert found["create"]["ok"] is True


@no_compiler
@real_driver
def test_probes_that_disagree_fail_the_check(tmp_path: Path, image) -> None:
    fake = fake_driver.fake_machine(tmp_path / "driver", driver="580.65.06")  # /proc: 580.173.02
    environ = {**fake, "PATH": f"{fake['PATH']}{os.pathsep}{os.environ['PATH']}"}
    out = tmp_path / "out"
    done = dry_run(sys.executable, tmp_path, environ, image, "--carried", str(tmp_path / "none"))
    assert done.returncode == 1
    detect = checks(out)["detect"]
    assert detect["ok"] is False
    assert (
        "driver versions differ: nvml 580.65.06, nvidia-smi 580.65.06, proc 580.173.02"
        in (detect["summary"])
    )
    assert (out / "summary.txt").read_text().startswith("cudaenv gpu-check: FAILED")


@no_compiler
@real_driver
def test_what_the_budget_leaves_out_is_reported_not_run(tmp_path: Path, machine, image):
    out = tmp_path / "out"
    done = dry_run(sys.executable, tmp_path, machine, image, "--budget", "0")
    assert done.returncode == 1
    found = checks(out)
    assert found["smoke-env"]["summary"] == "not run: out of time (--budget)"
    assert found["tool"]["ok"] is True  # the first stage ran; every check after it is listed


def test_a_gpu_run_without_cudaenvs_dependencies_or_carried_says_how(tmp_path: Path) -> None:
    bare = make_venv(tmp_path / "bare")
    out = tmp_path / "out"
    done = gpu_check(str(bare.python), out, {}, "--carried", str(tmp_path / "none"),
                     "--work", str(tmp_path / "work"))  # fmt: skip
    assert done.returncode == 1
    tool = checks(out)["tool"]
    assert tool["ok"] is False
    assert "run `scripts/gpu-check --prepare DIR` where the index is reachable" in tool["summary"]


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert done.returncode == 2 and "give OUT" in done.stderr


@pytest.mark.gpu
def test_on_a_real_gpu(tmp_path: Path) -> None:
    """The check itself, on a machine with an NVIDIA GPU: ``CUDAENV_TEST_GPU=1``, with what
    ``scripts/gpu-check --prepare`` made in ``CUDAENV_TEST_GPU_CARRIED`` (else ``.gpu-check``)."""
    carried = os.environ.get("CUDAENV_TEST_GPU_CARRIED", str(ROOT / ".gpu-check"))
    out = tmp_path / "out"
    done = gpu_check(sys.executable, out, {}, "--carried", carried, timeout=400)
    assert done.returncode == 0, (out / "summary.txt").read_text()
