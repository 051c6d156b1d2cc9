"""The index ``cudaenv fix``'s tests make broken environments from, the way users make them.

Real wheels on a real index on 127.0.0.1 (tests/tools/index_server.py), installed by the real
pip and uv. The frameworks are stand-ins with the metadata shapes of the real releases (their
Requires-Dist as PyPI has them, trimmed: TensorFlow's ``and-cuda`` pins, PyTorch's exact NVIDIA
pins, spaCy's ``cuda11x``/``cuda12x`` extras) and just enough code to answer the smoke probe
(``tf.sysconfig.get_build_info``, ``torch.version.cuda``, a pipeline that counts words):
the real ones are gigabytes (the one real-PyPI test installs real TensorFlow). What matters to
fix is real: each NVIDIA wheel ships real ELF libraries with the real sonames, TensorFlow's
``libtensorflow_framework.so.2`` carries the RUNPATH the release has (2.15: every
``nvidia/*/lib``; 2.16.1: only ``cuda_runtime``, the regression; 2.13: none) and CuPy's
extension modules the DT_NEEDED of the real builds.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from cudaenv.envs.base import Env
from cudaenv.system.process import find_uv
from tests.tools.index_server import IndexServer
from tests.tools.make_wheel import build_shared_library, make_nvidia_wheel, make_sdist, make_wheel

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.conftest import RunResult

__all__ = [
    "CP",
    "DRIVER",
    "build",
    "checked",
    "cuda_findings",
    "fix",
    "hashes",
    "installed",
    "pip_env",
    "report",
    "run",
    "served",
    "uv_env",
]

CP = "cp311-cp311-manylinux_2_17_x86_64"
TF_COMPONENTS = ("cublas", "cuda_nvrtc", "cuda_runtime", "cudnn", "cufft", "curand", "cusolver")
TF_COMPONENTS += ("cusparse",)

# wheel -> the libraries it ships, by CUDA major (and cuDNN's by its own major)
_LIBS = {
    "nvidia-cuda-runtime": {11: ["libcudart.so.11.0"], 12: ["libcudart.so.12"]},
    "nvidia-cublas": {11: ["libcublas.so.11", "libcublasLt.so.11"],
                      12: ["libcublas.so.12", "libcublasLt.so.12"]},
    "nvidia-cufft": {11: ["libcufft.so.10"], 12: ["libcufft.so.11"]},
    "nvidia-curand": {11: ["libcurand.so.10"], 12: ["libcurand.so.10"]},
    "nvidia-cusolver": {11: ["libcusolver.so.11"], 12: ["libcusolver.so.11"]},
    "nvidia-cusparse": {11: ["libcusparse.so.11"], 12: ["libcusparse.so.12"]},
    "nvidia-cuda-nvrtc": {11: ["libnvrtc.so.11.2"], 12: ["libnvrtc.so.12"]},
    "nvidia-cuda-cupti": {11: ["libcupti.so.11.8"], 12: ["libcupti.so.12"]},
    "nvidia-nccl": {12: ["libnccl.so.2"]},
    "nvidia-nvtx": {12: ["libnvToolsExt.so.1"]},
    "nvidia-cuda-nvcc": {11: [], 12: []},
}  # fmt: skip
_CUBLAS = {"nvidia-cudnn-cu12": ["nvidia-cublas-cu12"], "nvidia-cudnn-cu11": ["nvidia-cublas-cu11"]}
NVIDIA = {
    # TensorFlow 2.15.1's and-cuda (CUDA 12.2 Update 2)
    "tf215": {
        "nvidia-cublas-cu12": "12.2.5.6", "nvidia-cuda-nvrtc-cu12": "12.2.140",
        "nvidia-cuda-runtime-cu12": "12.2.140", "nvidia-cudnn-cu12": "8.9.4.25",
        "nvidia-cufft-cu12": "11.0.8.103", "nvidia-curand-cu12": "10.3.3.141",
        "nvidia-cusolver-cu12": "11.5.2.141", "nvidia-cusparse-cu12": "12.1.2.141",
    },
    # TensorFlow 2.16.1's and-cuda (CUDA 12.3 Update 2)
    "tf216": {
        "nvidia-cublas-cu12": "12.3.4.1", "nvidia-cuda-nvrtc-cu12": "12.3.107",
        "nvidia-cuda-runtime-cu12": "12.3.101", "nvidia-cudnn-cu12": "8.9.7.29",
        "nvidia-cufft-cu12": "11.0.12.1", "nvidia-curand-cu12": "10.3.4.107",
        "nvidia-cusolver-cu12": "11.5.4.101", "nvidia-cusparse-cu12": "12.2.0.103",
    },
    # the CUDA 11.8 set cudaenv's recipe adds to TensorFlow 2.13 (and CuPy's cu11 runtime)
    "cu118": {
        "nvidia-cuda-runtime-cu11": "11.8.89", "nvidia-cublas-cu11": "11.11.3.6",
        "nvidia-cufft-cu11": "10.9.0.58", "nvidia-curand-cu11": "10.3.0.86",
        "nvidia-cusolver-cu11": "11.4.1.48", "nvidia-cusparse-cu11": "11.7.5.86",
        "nvidia-cuda-cupti-cu11": "11.8.87", "nvidia-cuda-nvcc-cu11": "11.8.89",
        "nvidia-cudnn-cu11": "8.6.0.163", "nvidia-cuda-nvrtc-cu11": "11.8.89",
    },
    # PyTorch 2.3.1's exact pins (CUDA 12.1)
    "torch23": {
        "nvidia-cuda-nvrtc-cu12": "12.1.105", "nvidia-cuda-runtime-cu12": "12.1.105",
        "nvidia-cuda-cupti-cu12": "12.1.105", "nvidia-cudnn-cu12": "8.9.2.26",
        "nvidia-cublas-cu12": "12.1.3.1", "nvidia-cufft-cu12": "11.0.2.54",
        "nvidia-curand-cu12": "10.3.2.106", "nvidia-cusolver-cu12": "11.4.5.107",
        "nvidia-cusparse-cu12": "12.1.0.106", "nvidia-nccl-cu12": "2.20.5",
        "nvidia-nvtx-cu12": "12.1.105",
    },
    # what a plain resolver takes for `nvidia-cudnn-cu12` beside TensorFlow 2.13 (the newest)
    "cudnn9": {"nvidia-cudnn-cu12": "9.3.0.75"},
}  # fmt: skip


def _and_cuda(pins: dict[str, str]) -> list[str]:
    return [f'{name}=={version}; extra == "and-cuda"' for name, version in pins.items()]


TF_STUB = """__version__ = "{version}"
import contextlib


class _T:
    def numpy(self):
        return [[0.0]]


class sysconfig:
    @staticmethod
    def get_build_info():
        return {{"cuda_version": "{cuda}", "cudnn_version": "8", "is_cuda_build": True}}


class config:
    @staticmethod
    def list_physical_devices(kind=None):
        return []

    class experimental:
        @staticmethod
        def set_memory_growth(device, on):
            pass


class linalg:
    @staticmethod
    def matmul(a, b):
        return _T()


class random:
    @staticmethod
    def normal(shape):
        return _T()


def ones(shape):
    return _T()


def device(name):
    return contextlib.nullcontext()
"""
TORCH_STUB = '''__version__ = "{version}"
import ctypes, glob, os

_SITE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class version:
    cuda = "{cuda}"


class _T:
    def __matmul__(self, other):
        return self

    def sum(self):
        return self

    def item(self):
        return 0.0


def device(name):
    return name


def randn(*shape, device=None):
    return _T()


def ones(*shape, device=None):
    return _T()


class cuda:
    @staticmethod
    def is_available():
        return False

    @staticmethod
    def device_count():
        return 0

    @staticmethod
    def init():
        pass


class backends:
    class cudnn:
        @staticmethod
        def version():
            """torch loads the cuDNN wheel by path; its version from the wheel's metadata."""
            ctypes.CDLL(os.path.join(_SITE, "nvidia/cudnn/lib/libcudnn.so.8"))
            found = glob.glob(os.path.join(_SITE, "nvidia_cudnn_cu12-*.dist-info"))
            parts = os.path.basename(found[0]).split("-")[1].split(".")
            return int(parts[0]) * 1000 + int(parts[1]) * 100 + int(parts[2])


class nn:
    class Linear:
        def __init__(self, *args):
            pass
'''
SPACY_STUB = """__version__ = "{version}"


class _Nlp:
    def add_pipe(self, name):
        pass

    def make_doc(self, text):
        return text.split()

    def initialize(self, get_examples):
        get_examples()

    def pipe(self, texts, batch_size=64):
        return (text.split() for text in texts)


def blank(lang):
    return _Nlp()


def require_gpu():
    import cupy

    cupy.cuda.runtime.getDeviceCount()
"""
SPACY_TRAINING = """class Example:
    @classmethod
    def from_dict(cls, doc, annotations):
        return cls()
"""
SO = ".cpython-311-x86_64-linux-gnu.so"
# cupy/_core/_accelerator of cupy-cuda11x / cupy-cuda12x 12.3.0 (readelf -d of the PyPI wheels)
_ACCELERATOR = {
    11: ["libcudart.so.11.0", "libcublas.so.11", "libcufft.so.10", "libcurand.so.10"],
    12: ["libcudart.so.12", "libcublas.so.12", "libcufft.so.11", "libcurand.so.10"],
}
_ACCELERATOR[11] += ["libcusparse.so.11", "libnvrtc.so.11.2"]
_ACCELERATOR[12] += ["libcusparse.so.12", "libnvrtc.so.12"]


def _nvidia(dest: Path, name: str, version: str) -> None:
    family, _, cu = name.rpartition("-cu")
    major = int(cu)
    libs = list(_LIBS.get(family, {}).get(major, []))
    if family == "nvidia-cudnn":
        libs = [f"libcudnn.so.{version.split('.')[0]}"]
    needed = {f"libcublas.so.{major}": [f"libcublasLt.so.{major}"]} if "cublas" in family else {}
    extra = {"nvidia/cuda_nvcc/bin/ptxas": "#!/bin/sh\n"} if family == "nvidia-cuda-nvcc" else {}
    make_nvidia_wheel(
        dest,
        name,
        version,
        libs=libs,
        requires_dist=_CUBLAS.get(name, ()),
        needed=needed,
        extra_files=extra,
    )


def _tensorflow(
    dest: Path, version: str, cuda: str, runpath: list[str], requires: list[str]
) -> None:
    lib = build_shared_library("libtensorflow_framework.so.2", runpath=runpath)
    make_wheel(
        dest,
        "tensorflow",
        version,
        requires_dist=requires,
        requires_python=">=3.9",
        provides_extra=["and-cuda"] if any("and-cuda" in r for r in requires) else [],
        tag=CP,
        files={
            "tensorflow/__init__.py": TF_STUB.format(version=version, cuda=cuda),
            "tensorflow/libtensorflow_framework.so.2": lib,
        },
    )


def _cupy(dest: Path, major: int) -> None:
    make_wheel(
        dest,
        f"cupy-cuda{major}x",
        "12.3.0",
        requires_dist=["numpy<1.29,>=1.20", "fastrlock>=0.5"],
        tag=CP,
        files={
            "cupy/__init__.py": "",
            f"cupy/_core/_accelerator{SO}": build_shared_library(
                f"_accelerator{SO}", needed=["libcuda.so.1", *_ACCELERATOR[major]]
            ),
        },
    )


def build(dest: Path) -> Path:
    """Every wheel the fix tests install, into ``dest``."""
    typing = "typing-extensions>=3.6.6"
    numpy = "numpy<2.0.0,>=1.23.5"
    everywhere = [f"$ORIGIN/../nvidia/{c}/lib" for c in TF_COMPONENTS]
    _tensorflow(dest, "2.15.1", "12.2", everywhere, [numpy, typing, *_and_cuda(NVIDIA["tf215"])])
    _tensorflow(
        dest, "2.16.1", "12.3", ["$ORIGIN/../nvidia/cuda_runtime/lib"],
        [numpy, typing, *_and_cuda(NVIDIA["tf216"])],
    )  # fmt: skip
    _tensorflow(dest, "2.13.1", "11.8", [], ["numpy<=1.24.3,>=1.22", typing])
    cu11 = {**NVIDIA["cu118"], "nvidia-cudnn-cu11": "8.7.0.84"}  # 2.14.1's and-cuda set
    del cu11["nvidia-cuda-nvrtc-cu11"]
    _tensorflow(dest, "2.14.1", "11.8", everywhere, [numpy, typing, *_and_cuda(cu11)])
    torch = [f'{n}=={v}; platform_system == "Linux" and platform_machine == "x86_64"'
             for n, v in NVIDIA["torch23"].items()]  # fmt: skip
    make_wheel(
        dest, "torch", "2.3.1", tag=CP, requires_dist=["typing-extensions>=4.8.0", *torch],
        files={"torch/__init__.py": TORCH_STUB.format(version="2.3.1", cuda="12.1")},
    )  # fmt: skip
    make_wheel(
        dest, "spacy", "3.7.5", tag=CP,
        requires_dist=["thinc<8.3.0,>=8.2.2", "numpy>=1.19.0",
                       'cupy-cuda12x<13.0.0,>=11.5.0; extra == "cuda12x"',
                       'cupy-cuda11x<13.0.0,>=11.0.0; extra == "cuda11x"'],
        provides_extra=["cuda11x", "cuda12x"],
        files={"spacy/__init__.py": SPACY_STUB.format(version="3.7.5"),
               "spacy/training.py": SPACY_TRAINING},
    )  # fmt: skip
    make_wheel(dest, "thinc", "8.2.5", tag=CP, requires_dist=["numpy<2.0.0,>=1.19.0"])
    for major in (11, 12):
        _cupy(dest, major)
    for name, version in (("fastrlock", "0.8.2"), ("click", "8.1.8")):
        make_wheel(dest, name, version)
    make_wheel(dest, "typing-extensions", "4.12.2", files={"typing_extensions.py": ""})
    make_wheel(dest, "typing-extensions", "4.5.0", files={"typing_extensions.py": ""})
    for version in ("1.24.3", "1.26.3", "1.26.4"):
        make_wheel(dest, "numpy", version, tag=CP)
    for pins in NVIDIA.values():
        for name, version in pins.items():
            _nvidia(dest, name, version)
    _nvidia(dest, "nvidia-cudnn-cu11", "8.7.0.84")
    # the newest CUDA 12 NVRTC, as an sdist only: its setup.py leaves SDIST-CODE-RAN if run
    make_sdist(dest, "nvidia-cuda-nvrtc-cu12", "12.9.0")
    return dest


def served(wheels: Path) -> Iterator[IndexServer]:
    """For a module's fixture: the wheels of :func:`build` in ``wheels``, served (shared: the
    log is no test's to read)."""
    srv = IndexServer(wheels, shared=True).start()
    try:
        yield srv
    finally:
        srv.stop()


def run(cmd: list[str], **more: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False, **more)
    assert done.returncode == 0, (cmd, done.stdout[-2000:], done.stderr[-3000:])
    return done


def pip_env(path: Path, index: IndexServer, *steps: list[str]) -> Env:
    """``python -m venv PATH``, then ``pip install`` of each step in turn, as a user does."""
    run([sys.executable, "-m", "venv", str(path)])
    pip = [
        str(path / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    for step in steps:
        run([*pip, "--index-url", index.url, *step])
    return Env.from_prefix(path)


def uv_env(path: Path, index: IndexServer, *steps: list[str]) -> Env:
    """``uv venv PATH`` (a venv another tool made), then ``uv pip install`` of each step."""
    uv = find_uv()
    if uv is None:
        pytest.skip("needs uv (installed with cudaenv's test extra)")
    run([str(uv), "venv", "-q", "--python", sys.executable, str(path)])
    for step in steps:
        python = ["--python", str(path / "bin" / "python")]
        run([str(uv), "pip", "install", "-q", *python, "--index-url", index.url, *step])
    return Env.from_prefix(path)


def hashes(prefix: Path) -> dict[str, str]:
    """sha256 of every file under ``prefix`` (links by their target's text)."""
    out = {}
    for top, _dirs, names in os.walk(prefix):
        for name in names:
            path = Path(top, name)
            data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
            out[str(path.relative_to(prefix))] = hashlib.sha256(data).hexdigest()
    return out


DRIVER = "535.104.05"  # CUDA 12.2
CUDA_CAUSES = ("version-mismatch", "several-installs", "library-path")


def fix(cli, env: Env, index: IndexServer, tmp_path: Path, *more: str) -> tuple[RunResult, float]:
    """``cudaenv fix --json`` on ``env`` from the test index; (its result, its seconds)."""
    args = ["fix", "-p", str(env.prefix), "--index-url", index.url]
    args += ["--cache-dir", str(tmp_path / "cache"), "--json", *more]
    if not any(a.startswith("--driver") for a in more):
        args += ["--driver", DRIVER]
    started = time.monotonic()
    result = cli(*args)
    return result, time.monotonic() - started


def report(case: str, doc: dict[str, Any], seconds: float) -> None:
    kinds = [c["kind"] for c in doc["plan"]]
    counts = ", ".join(f"{kinds.count(k)} {k}" for k in ("add", "replace", "remove") if k in kinds)
    line = f"fix [{case}]: plan {len(kinds)} packages ({counts or 'none'}), {seconds:.1f} s"
    print(line, file=sys.__stderr__)  # past the cli fixture's capture (shown with -s)


def cuda_findings(findings: list[dict[str, Any]]) -> list[str]:
    return [
        f"{f['severity']} [{f['cause']}]: {f['message']}"
        for f in findings
        if f["severity"] in ("error", "warning") and f["cause"] in CUDA_CAUSES
    ]


def checked(cli, env: Env) -> dict[str, Any]:
    """doctor finds nothing left about the CUDA packages, and the smoke probe loads every
    library it tries from this environment's wheels; returns the smoke report."""
    doctor = json.loads(cli("doctor", "--python", str(env.python), "--json").out)
    assert cuda_findings(doctor["findings"]) == []
    assert doctor["preload"]["present"]
    smoke = json.loads(cli("smoke", "--python", str(env.python), "--json", "--quick").out)
    libraries = smoke["libraries"]
    assert libraries, "the smoke probe tried no CUDA library"
    for lib in libraries:
        assert lib["loaded"], lib
        assert Path(lib["path"]).is_relative_to(env.site_packages / "nvidia"), lib
    assert smoke["verdict"] != "broken", smoke["problems"]
    return smoke


def installed(env: Env) -> dict[str, str]:
    from cudaenv.verify.installed import scan

    return {d.name: d.version for d in scan(env.site_packages)}
