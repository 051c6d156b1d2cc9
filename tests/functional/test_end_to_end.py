"""The whole flow, as a new user runs it, with real TensorFlow and spaCy from the real index.

Environments of several GB each, made on the one test cache's file system and removed as soon
as their tests are done (tests/tools/bigenv.py: one uv wheel cache, so a second run downloads
nothing, every wheel installed by URL as cudaenv installs it, hardlinked from the cache), and
the seed's warning, reproduced and then fixed:

* TF 2.12 + spaCy 3.7 for driver 470.82.01 (CUDA 11.4): TF 2.12 takes CUDA 11 from cu11 wheels and
  finds them only through LD_LIBRARY_PATH. Installed the usual way, `import tensorflow` prints
  "Could not find cuda drivers on your machine" (libcudart cannot be dlopened); in cudaenv's
  environment, activated, it does not, and every library TF 2.12 opens loads by name.
* TF 2.15 + spaCy 3.7 for driver 535.104.05: the smoke report on this GPU-less machine.

Both environments work without activation too (the start-up hook, cudaenv.preload): real
TensorFlow 2.12 (no RUNPATH into the wheels, like 2.13) and 2.15, and real CuPy 12 (cuda11x and
cuda12x) as spaCy 3.7 imports it, each started by path with an empty environment, with a
shadowing copy of libcudart on LD_LIBRARY_PATH, and in a forkserver worker; every CUDA library
the framework loaded is read from /proc/self/maps and must be the environment's. CuPy links
the driver's libcuda.so.1, which this machine lacks: a stub exporting the driver functions
CuPy imports (tests/tools/fake_driver) is loaded by path first, as the machine's driver would
be found. The other starts (spawn, a cleared subprocess, after deactivate, a Jupyter kernel)
are checked on a stand-in framework in tests/functional/test_without_activation.py and
tests/network/test_kernel_pypi.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from packaging.version import Version

from cudaenv import lock
from cudaenv.envs.venv import find_python
from cudaenv.system.process import find_uv
from tests.tools import fake_driver
from tests.tools.bigenv import big_dir, environ

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = [pytest.mark.bigenv, pytest.mark.network]

SEED_WARNING = "Could not find cuda drivers on your machine"
TF212_SONAMES = (
    "libcudart.so.11.0",
    "libcublas.so.11",
    "libcublasLt.so.11",
    "libcudnn.so.8",
    "libcufft.so.10",
    "libcurand.so.10",
    "libcusolver.so.11",
    "libcusparse.so.11",
)


def cudaenv(*args: str, timeout: int = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cudaenv", *args],
        capture_output=True,
        text=True,
        env=environ(),
        timeout=timeout,
        check=False,
    )


def in_env(
    prefix: Path, script: str, *, activate: bool, args: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run a bash snippet ($1 = the prefix), after `. bin/activate` or without it."""
    pre = '. "$1/bin/activate" && ' if activate else ""
    return subprocess.run(
        ["bash", "-c", pre + script, "bash", str(prefix), *args],
        capture_output=True,
        text=True,
        env=environ(),
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def tf212() -> Iterator[Path]:
    with big_dir("e2e-tf212") as folder:
        yield _create_tf212(folder / "tf 212")  # a space in the path, on purpose


def _create_tf212(prefix: Path) -> Path:
    r = cudaenv(
        "create",
        "--tf",
        "2.12",
        "--spacy",
        "3.7",
        "--driver",
        "470.82.01",
        "--python",
        "3.11",
        "-p",
        str(prefix),
        "--no-smoke",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return prefix


def test_tf212_usual_way_prints_the_seed_warning(tf212: Path, tmp_path: Path) -> None:
    """TensorFlow 2.12.1 and the CUDA 11 runtime wheel in a plain venv, as `pip install
    tensorflow==2.12.1 nvidia-cuda-runtime-cu11` makes it: the same files as the cudaenv lock
    pins (by URL, so the cache holds them once), without cudaenv's extra CUDA 11 wheels."""
    uv = find_uv()
    assert uv is not None, "uv comes with the test extra"
    locked = lock.read(tf212 / "pylock.toml")
    usual = [p for p in locked.pins if not p.name.startswith("nvidia-") or "runtime" in p.name]
    req = tmp_path / "requirements.txt"
    req.write_text(lock.requirements_txt(replace(locked, pins=tuple(usual))))
    python = find_python(Version("3.11"))
    with big_dir("e2e-usual") as folder:
        venv = folder / "usual"
        subprocess.run(
            [str(uv), "venv", "-q", "--python", str(python), str(venv)], check=True, env=environ()
        )
        install = [str(uv), "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
        subprocess.run(
            [*install, "--no-deps", "--require-hashes", "-r", str(req)],
            check=True,
            env=environ(),
            timeout=1800,
        )
        r = in_env(venv, '"$1/bin/python" -c "import tensorflow"', activate=False)
    assert r.returncode == 0, r.stderr[-2000:]
    assert SEED_WARNING in r.stderr


def test_tf212_cudaenv_env_unactivated_warns_only_with_the_hook_off(tf212: Path) -> None:
    # The wheels alone do not help TF 2.12 (no RUNPATH to site-packages/nvidia): activation
    # does, and so does the start-up hook, which CUDAENV_NO_PRELOAD=1 turns off.
    r = in_env(tf212, 'CUDAENV_NO_PRELOAD=1 "$1/bin/python" -c "import tensorflow"', activate=False)
    assert r.returncode == 0, r.stderr[-2000:]
    assert SEED_WARNING in r.stderr
    r = in_env(tf212, '"$1/bin/python" -c "import tensorflow"', activate=False)
    assert r.returncode == 0, r.stderr[-2000:]
    assert SEED_WARNING not in r.stderr


def test_tf212_activated_loads_every_library_and_does_not_warn(tf212: Path) -> None:
    probe = (
        "import ctypes, sys\n"
        f"for soname in {TF212_SONAMES!r}:\n"
        "    ctypes.CDLL(soname)\n"
        "import tensorflow, spacy\n"
        "print(tensorflow.__version__, spacy.__version__)\n"
    )
    r = in_env(tf212, 'python -c "$2"', activate=True, args=(probe,))
    assert r.returncode == 0, r.stderr[-3000:]
    assert SEED_WARNING not in r.stderr
    tf_version, spacy_version = r.stdout.split()
    assert tf_version.startswith("2.12.") and spacy_version.startswith("3.7.")


def test_tf212_env_keeps_its_lock_and_smoke_passes_on_cpu(tf212: Path) -> None:
    assert (tf212 / "pylock.toml").is_file()
    r = cudaenv("smoke", "-p", str(tf212), "--quick", "--json")
    data = json.loads(r.stdout)
    assert r.returncode == 0, data
    assert all(lib["loaded"] for lib in data["libraries"]), data["libraries"]
    assert data["verdict"] == "cpu-only"
    loaded = data["together"]["frameworks"]["tensorflow"]["loaded"]
    # read whole from /proc/self/maps, the space in the prefix included
    assert loaded and all(path.startswith(f"{tf212}/") for path in loaded.values()), loaded


# thinc's TensorFlowWrapper on an input 4 bytes past a 64-byte boundary (so: never aligned),
# then the probe's copy of the same input; SRC is cudaenv's smoke folder, loaded by path.
UNALIGNED = """
import importlib.util, sys
import numpy, tensorflow as tf
def load(name):
    spec = importlib.util.spec_from_file_location(name, f"{sys.argv[1]}/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
parts = load("parts")
load("parts_spacy").enable_thinc_tensorflow()
import thinc.api
raw = numpy.zeros(64 + 32, dtype="float32")
start = (-raw.ctypes.data % 64) // 4 + 1
x = raw[start : start + 64].reshape(4, 16)
if sys.argv[2] == "aligned":
    x = parts._aligned(x)
    assert x.ctypes.data % 64 == 0 and x.shape == (4, 16) and not x.any()
layer = tf.keras.Sequential([tf.keras.Input(shape=(16,)), tf.keras.layers.Dense(8)])
model = thinc.api.TensorFlowWrapper(layer)
model.initialize(X=x)
print(model.predict(x).shape)
"""


def test_tf212_thinc_tensorflow_aborts_on_unaligned_numpy_and_the_probe_aligns(
    tf212: Path,
) -> None:
    """Why the smoke test copies its input: the abort is TensorFlow's, deterministic on an
    unaligned buffer (in a smoke run, only when NumPy's allocation happens to be unaligned)."""
    smoke = Path(__file__).resolve().parents[2] / "src" / "cudaenv" / "smoke"
    python = str(tf212 / "bin" / "python")
    runs = {
        how: subprocess.run(
            [python, "-c", UNALIGNED, str(smoke), how],
            capture_output=True,
            text=True,
            env=environ(),
            timeout=300,
            check=False,
        )
        for how in ("as-is", "aligned")
    }
    crashed, fine = runs["as-is"], runs["aligned"]
    assert crashed.returncode == -6, crashed.stderr[-2000:]  # SIGABRT
    assert "Check failed: IsAligned()" in crashed.stderr
    assert fine.returncode == 0, fine.stderr[-2000:]
    assert fine.stdout.splitlines()[-1] == "(4, 8)"


@pytest.fixture(scope="module")
def tf215() -> Iterator[Path]:
    with big_dir("e2e-tf215") as folder:
        yield _create_tf215(folder / "tf215")


def _create_tf215(prefix: Path) -> Path:
    r = cudaenv(
        "create",
        "--tf",
        "2.15",
        "--spacy",
        "3.7",
        "--driver",
        "535.104.05",
        "--python",
        "3.11",
        "-p",
        str(prefix),
    )
    # create ran the smoke test: CPU-only is fine; its report is on stdout
    assert r.returncode == 0, (r.stdout[-4000:], r.stderr[-3000:])
    return prefix


def test_tf215_spacy37_create_smoke_and_require_gpu(tf215: Path) -> None:
    prefix = tf215
    r = cudaenv("smoke", "-p", str(prefix), "--quick", "--json")
    data = json.loads(r.stdout)
    assert r.returncode == 0, data
    assert data["libraries"] and all(lib["loaded"] for lib in data["libraries"])
    assert data["tensorflow"]["version"].startswith("2.15.")
    factory = [
        x for x in data["tensorflow"]["log"] if "Unable to register cuDNN factory" in x["line"]
    ]
    assert factory and all(x["verdict"] == "noise" for x in factory)
    assert data["spacy"]["version"].startswith("3.7.")
    assert data["spacy"]["words_per_second"]["cpu"] > 0
    r = cudaenv("smoke", "-p", str(prefix), "--quick", "--require-gpu")
    assert r.returncode == 2
    assert "no NVIDIA driver" in r.stdout + r.stderr


# --- without activation: the start-up hook, with the real frameworks -------------------------

_FILES = """
def cuda_files():
    with open("/proc/self/maps") as maps:
        rows = [row.split(None, 5) for row in maps]
    names = ("libcu", "libnv", "libnccl")
    paths = {r[5].strip() for r in rows if len(r) == 6}
    return sorted(p for p in paths if p.rsplit("/", 1)[-1].startswith(names))
"""
TF_PROBE = (
    "import json, sys\n" + _FILES + "import tensorflow as tf\n"
    "tf.config.list_physical_devices('GPU')\n"
    "print(json.dumps({'files': cuda_files()}))\n"
)
SPACY_PROBE = (
    "import ctypes, json, sys\n"
    + _FILES
    + "ctypes.CDLL(sys.argv[1])  # the machine's driver: a stub where there is none\n"
    "import spacy, thinc.compat\n"
    "print(json.dumps({'files': cuda_files(), 'cupy': thinc.compat.has_cupy}))\n"
)
WORKER = """import multiprocessing, sys


def child(probe, args):
    sys.argv = [probe, *args]
    exec(compile(open(probe).read(), probe, "exec"), {"__name__": "__main__"})


if __name__ == "__main__":
    context = multiprocessing.get_context(sys.argv[1])
    worker = context.Process(target=child, args=(sys.argv[2], sys.argv[3:]))
    worker.start()
    worker.join()
    sys.exit(worker.exitcode)
"""
STARTS = ("by path, empty environment", "shadowing LD_LIBRARY_PATH", "forkserver, shadowing")


def _site(prefix: Path) -> Path:
    return next(prefix.glob("lib/python3.*/site-packages"))


def _shadow(prefix: Path, folder: Path) -> Path:
    """A copy of the environment's own libcudart elsewhere: what a system CUDA puts first."""
    folder.mkdir(exist_ok=True)
    for lib in _site(prefix).glob("nvidia/cuda_runtime/lib/libcudart.so.*"):
        shutil.copyfile(lib, folder / lib.name)
    return folder


def _stub_driver(prefix: Path, folder: Path) -> Path:
    cupy = [p for p in _site(prefix).glob("cupy*/**/*.so") if p.is_file()]
    return fake_driver.build_libcuda_stub(folder, fake_driver.driver_functions(cupy))


def _start(
    prefix: Path, how: str, probe: str, tmp: Path, *args: str, **more: str
) -> dict[str, Any]:
    """Start the environment's Python ``how`` a user might, running ``probe``; its JSON."""
    (tmp / "probe.py").write_text(probe)
    (tmp / "worker.py").write_text(WORKER)
    python = str(prefix / "bin" / "python")
    environ = [f"HOME={tmp}", *(f"{k}={v}" for k, v in more.items())]
    if how != "by path, empty environment":
        environ.append(f"LD_LIBRARY_PATH={_shadow(prefix, tmp / 'system cuda')}")
    cmd = [python, str(tmp / "probe.py"), *args]
    if how.startswith("forkserver"):
        cmd = [python, str(tmp / "worker.py"), "forkserver", str(tmp / "probe.py"), *args]
    done = subprocess.run(
        ["env", "-i", *environ, *cmd], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    data["stderr"] = done.stderr
    return data


def _all_from(prefix: Path, files: list[str], *must: str) -> None:
    nvidia = _site(prefix) / "nvidia"
    assert files and all(Path(f).is_relative_to(nvidia) for f in files), files
    assert {Path(f).name for f in files} >= set(must), files


@pytest.mark.parametrize("how", STARTS)
def test_tf212_loads_the_environments_cuda_without_activation(tf212: Path, tmp_path, how) -> None:
    data = _start(tf212, how, TF_PROBE, tmp_path)
    _all_from(tf212, data["files"], "libcudart.so.11.0")
    assert SEED_WARNING not in data["stderr"]


@pytest.mark.parametrize("how", STARTS)
def test_tf215_loads_the_environments_cuda_without_activation(tf215: Path, tmp_path, how) -> None:
    data = _start(tf215, how, TF_PROBE, tmp_path)
    _all_from(tf215, data["files"], "libcudart.so.12")


def test_tf215_without_the_hook_takes_the_shadowing_libcudart(tf215: Path, tmp_path) -> None:
    """What the hook prevents: TF >= 2.14's RUNPATH comes after LD_LIBRARY_PATH."""
    data = _start(tf215, "shadowing LD_LIBRARY_PATH", TF_PROBE, tmp_path, CUDAENV_NO_PRELOAD="1")
    assert str(tmp_path / "system cuda" / "libcudart.so.12") in data["files"]


CUPY11 = ("libcudart.so.11.0", "libcublas.so.11", "libcufft.so.10", "libcurand.so.10")
CUPY12 = ("libcudart.so.12", "libcublas.so.12", "libcufft.so.11", "libcurand.so.10")


@pytest.mark.parametrize("how", STARTS)
@pytest.mark.parametrize("env", ["tf212", "tf215"])
def test_spacys_cupy_loads_the_environments_cuda_without_activation(
    request, tmp_path, how, env
) -> None:
    prefix = request.getfixturevalue(env)
    stub = _stub_driver(prefix, tmp_path / "driver")
    data = _start(prefix, how, SPACY_PROBE, tmp_path, str(stub))
    assert data["cupy"] is True  # thinc found a CuPy that loads
    files = [f for f in data["files"] if f != str(stub)]
    _all_from(
        prefix,
        files,
        *(CUPY11 if env == "tf212" else CUPY12),
        "libnvrtc.so.11.2" if env == "tf212" else "libnvrtc.so.12",
    )


def test_spacys_cupy_without_the_hook_does_not_load(tf212: Path, tmp_path) -> None:
    stub = _stub_driver(tf212, tmp_path / "driver")
    data = _start(
        tf212,
        "by path, empty environment",
        SPACY_PROBE,
        tmp_path,
        str(stub),
        CUDAENV_NO_PRELOAD="1",
    )
    assert data["cupy"] is False and data["files"] == [str(stub)]
