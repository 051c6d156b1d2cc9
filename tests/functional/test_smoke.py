"""`cudaenv smoke` with the real probe, real venvs and real dlopen (this machine has no GPU).

NVIDIA wheels are the test-built ones (real ELF libraries with the real sonames, installed by
uv), so "loads by soname" is the loader's real answer under the activation variables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cudaenv import smoke
from cudaenv.envs.base import Env
from cudaenv.system.process import find_uv
from tests.tools.bigenv import big_dir, environ, requirements

PYENV = Path.home() / ".pyenv" / "versions"
# A torch wheel for this Python (a CPU build is enough; PyPI's Linux wheels are CUDA builds of
# several GB with their NVIDIA wheels): the smoke test's PyTorch part then runs for real.
TORCH_WHEEL = os.environ.get("CUDAENV_TEST_TORCH_WHEEL", "")


def make_venv(path: Path, python: str = sys.executable) -> Env:
    subprocess.run([python, "-m", "venv", "--without-pip", str(path)], check=True)
    return Env.from_prefix(path)


def uv_install(env: Env, *args: str, timeout: int = 300) -> None:
    uv = find_uv()
    if uv is None:
        pytest.skip("needs uv (installed with cudaenv's test extra)")
    cmd = [str(uv), "pip", "install", "-q", "--python", str(env.python), *args]
    subprocess.run(cmd, check=True, env=environ(), timeout=timeout)


@pytest.fixture
def venv(tmp_path: Path) -> Env:
    return make_venv(tmp_path / "env with space")


@pytest.fixture
def cuda12_wheels(make_nvidia_wheel) -> list[Path]:
    return [
        make_nvidia_wheel("nvidia-cuda-runtime-cu12", "12.2.140", libs=["libcudart.so.12"]),
        make_nvidia_wheel(
            "nvidia-cublas-cu12", "12.2.5.6", libs=["libcublas.so.12", "libcublasLt.so.12"]
        ),
        make_nvidia_wheel("nvidia-cudnn-cu12", "9.3.0.75", libs=["libcudnn.so.9"], namespace=True),
    ]


def test_bare_venv_says_no_frameworks_and_passes(cli, venv: Env) -> None:
    result = cli("smoke", "-p", str(venv.prefix))
    assert result.code == 0, result.err
    assert "frameworks: none of TensorFlow, PyTorch, JAX, spaCy is installed" in result.out
    assert "GPU used: no (no NVIDIA driver on this machine: libcuda.so.1" in result.out
    assert result.out.rstrip().endswith("verdict: cpu-only")
    data = json.loads(cli("smoke", "-p", str(venv.prefix), "--json").out)
    assert data["tensorflow"] is None and data["spacy"] is None
    assert data["gpu"]["available"] is False and data["verdict"] == "cpu-only"


def test_require_gpu_fails_naming_the_missing_driver(cli, venv: Env) -> None:
    result = cli("smoke", "-p", str(venv.prefix), "--require-gpu")
    assert result.code == 2
    assert "error: no GPU is used: no NVIDIA driver on this machine" in result.err
    assert "libcuda.so.1" in result.err and "Traceback" not in result.err


def test_nvidia_wheels_load_by_soname_under_activation(
    venv: Env, cuda12_wheels: list[Path]
) -> None:
    uv_install(venv, "--no-deps", "--no-index", *map(str, cuda12_wheels))
    report = smoke.run(venv)
    assert report.verdict == "cpu-only" and report.exit_code() == 0
    got = {lib.soname: lib for lib in report.libraries}
    assert set(got) == {"libcudart.so.12", "libcublas.so.12", "libcublasLt.so.12", "libcudnn.so.9"}
    for soname, component in [("libcudart.so.12", "cuda_runtime"), ("libcudnn.so.9", "cudnn")]:
        assert got[soname].loaded, got[soname].error
        assert got[soname].path == venv.site_packages / "nvidia" / component / "lib" / soname
    assert report.distributions["nvidia-cudnn-cu12"] == "9.3.0.75"


def test_a_library_that_cannot_load_is_exit_2(cli, venv: Env, make_nvidia_wheel) -> None:
    broken = make_nvidia_wheel(
        "nvidia-cufft-cu12",
        "11.0.8.103",
        extra_files={"nvidia/cufft/lib/libcufft.so.11": b"not an ELF file"},
    )
    uv_install(venv, "--no-deps", "--no-index", str(broken))
    result = cli("smoke", "-p", str(venv.prefix))
    assert result.code == 2
    assert "libcufft.so.11" in result.out and "problem: libcufft.so.11 does not load" in result.out
    assert "verdict: broken" in result.out


def test_active_env_is_the_default(cli, venv: Env) -> None:
    result = cli("smoke", "--json", env={"VIRTUAL_ENV": str(venv.prefix)})
    assert result.code == 0 and json.loads(result.out)["verdict"] == "cpu-only"


@pytest.mark.parametrize("command", ["smoke", "doctor"])
def test_no_prefix_and_nothing_active_is_a_usage_error(cli, monkeypatch, command) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.delenv("CONDA_PREFIX", raising=False)
    result = cli(command)
    assert result.code == 2 and "which environment?" in result.err
    assert "hint: " in result.err and "PREFIX" not in result.err  # a command that runs
    assert "`cudaenv detect` checks the driver without one" in result.err


def test_probe_runs_on_the_oldest_python_tf_supports(tmp_path: Path) -> None:
    """TF 2.12/2.13 run on Python 3.8: the probe must too (it is not cudaenv's own Python)."""
    found = sorted(PYENV.glob("3.8.*/bin/python3.8"))
    if not found:
        pytest.skip("no Python 3.8 interpreter on this machine")
    env = make_venv(tmp_path / "py38", str(found[-1]))
    data = smoke.run_probe(env.python, ["libz.so.1", "libnot-there.so.7"], dict(os.environ))
    assert data["environment"]["python"].startswith("3.8.")
    assert [x["loaded"] for x in data["libraries"]] == [True, False]
    assert "libnot-there.so.7" in data["libraries"][1]["error"]
    parts = subprocess.run(  # the framework parts compile and parse their arguments there too
        [str(env.python), str(smoke.PROBE.with_name("parts.py")), "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert parts.returncode == 0 and "--part" in parts.stdout, parts.stderr


@pytest.mark.network
def test_spacy_37_cpu_words_per_second_with_the_default_pipeline(cli, venv: Env) -> None:
    """Real spaCy 3.7 from PyPI; its default tok2vec/tagger/parser/ner, no model download.

    numpy<2: spaCy 3.7's binaries need NumPy 1.x (docs/facts.md, "NumPy 2"). click: spaCy 3.7.5
    imports it, but typer releases after 0.12 no longer bring it in.
    """
    uv_install(venv, "spacy==3.7.*", "numpy<2", "click", timeout=600)
    result = cli("smoke", "-p", str(venv.prefix), "--quick", "--json")
    assert result.code == 0, result.out + result.err
    data = json.loads(result.out)
    assert data["spacy"]["version"].startswith("3.7.")
    assert data["spacy"]["words_per_second"]["cpu"] > 0
    assert data["spacy"]["words_per_second"]["gpu"] is None
    assert data["verdict"] == "cpu-only" and data["tensorflow"] is None


@pytest.mark.gpu
@pytest.mark.network
def test_spacy_37_on_a_real_gpu(cli, venv: Env) -> None:
    """spaCy's GPU path: cupy-cuda12x < 13 (what spacy[cuda12x] allows) with NVIDIA's wheels,
    found through the activation's LD_LIBRARY_PATH (docs/facts.md, "CuPy")."""
    uv_install(
        venv,
        "spacy[cuda12x]==3.7.*",
        "numpy<2",
        "click",
        "nvidia-cuda-runtime-cu12==12.2.*",
        "nvidia-cuda-nvrtc-cu12==12.2.*",
        "nvidia-cublas-cu12==12.2.*",
        "nvidia-curand-cu12",
        "nvidia-cusolver-cu12",
        "nvidia-cusparse-cu12",
        "nvidia-cufft-cu12",
        timeout=900,
    )
    result = cli("smoke", "-p", str(venv.prefix), "--quick", "--json", "--require-gpu")
    data = json.loads(result.out)
    assert result.code == 0, data
    assert data["gpu"]["available"] is True
    assert data["spacy"]["gpu"] is True and data["spacy"]["words_per_second"]["gpu"] > 0


@pytest.mark.bigenv
@pytest.mark.network
def test_real_tensorflow_and_cuda_on_a_machine_without_a_driver(cli, tmp_path: Path) -> None:
    """Real TF 2.15.1 with its and-cuda wheels (~3 GB, the shared test cache; installed by URL
    from a cudaenv lock, as cudaenv installs them, into a venv cudaenv did not make): every CUDA
    library loads by soname from the wheels under activation; TF's own log, captured per phase,
    says the driver is missing; the verdict is cpu-only with that reason, exit 0."""
    req = tmp_path / "requirements.txt"
    req.write_text(requirements("--tf", "2.15", "--driver", "535.104.05", "--python", "3.11"))
    with big_dir("smoke-tf215") as folder:
        venv = make_venv(folder / "env with space")
        uv_install(venv, "--no-deps", "--require-hashes", "-r", str(req), timeout=1800)
        _check_real_tensorflow(cli, venv)


def _check_real_tensorflow(cli, venv: Env) -> None:
    result = cli("smoke", "-p", str(venv.prefix), "--quick", "--json")
    data = json.loads(result.out)
    assert result.code == 0, data["problems"]
    libraries = {x["soname"]: x for x in data["libraries"]}
    assert {"libcudart.so.12", "libcudnn.so.8", "libcublasLt.so.12"} <= set(libraries)
    for lib in libraries.values():
        assert lib["loaded"] and "/site-packages/nvidia/" in lib["path"], lib
    tf = data["tensorflow"]
    assert (tf["version"], tf["cuda"], tf["gpus"]) == ("2.15.1", "12.2", [])
    assert tf["matmul_seconds"]["cpu"] > 0
    by_phase = {(x["phase"], x["verdict"]) for x in tf["log"]}
    assert ("import", "noise") in by_phase and ("gpu", "problem") in by_phase
    assert any("user-space part of the NVIDIA driver" in x["explanation"] for x in tf["log"])
    assert data["gpu"]["reason"].startswith("no NVIDIA driver on this machine")
    assert data["verdict"] == "cpu-only"


@pytest.mark.network
@pytest.mark.skipif(
    not TORCH_WHEEL.endswith(f"-cp{sys.version_info[0]}{sys.version_info[1]}-"
                             f"cp{sys.version_info[0]}{sys.version_info[1]}-"
                             "manylinux_2_28_x86_64.whl"),
    reason="set CUDAENV_TEST_TORCH_WHEEL to a torch wheel for this Python (a CPU build will do)",
)  # fmt: skip
def test_torch_and_jax_run_for_real_on_the_cpu_alone_and_together(cli, venv: Env) -> None:
    """A real PyTorch and a real JAX (from PyPI) on this GPU-less machine: each part runs its
    matmul on the CPU and says so, and the together part runs both in one process."""
    uv_install(venv, TORCH_WHEEL, "jax==0.7.2", "jaxlib==0.7.2", "numpy", timeout=900)
    result = cli("smoke", "-p", str(venv.prefix), "--quick", "--json")
    assert result.code == 0, result.out + result.err
    data = json.loads(result.out)
    torch, jax, together = data["torch"], data["jax"], data["together"]
    assert torch["error"] is None and torch["gpus"] == [] and torch["matmul_seconds"]["cpu"] > 0
    assert torch["cuda"] is None and "CPU-only build" in torch["gpu_error"]
    assert (jax["version"], jax["backend"], jax["gpus"]) == ("0.7.2", "cpu", [])
    assert jax["matmul_seconds"]["cpu"] > 0 and jax["error"] is None
    assert together["device"] == "cpu" and "error" not in together
    assert set(together["frameworks"]) == {"torch", "jax"}
    assert together["frameworks"]["torch"]["device"] == "cpu"
    assert together["cudnn"] == []  # CPU builds load no cuDNN
    assert data["verdict"] == "cpu-only" and data["problems"] == []
    human = cli("smoke", "-p", str(venv.prefix), "--quick").out
    assert f"PyTorch {torch['version']} (a CPU-only build); GPUs: none" in human
    assert "JAX 0.7.2 (backend cpu); GPUs: none" in human
    assert "all frameworks in one process (CPU):" in human and "  torch: ran on cpu" in human
