"""The driver's own libraries through ctypes: NVML in this process, libcuda in a child.

NVML (``libnvidia-ml.so.1``) is the library ``nvidia-smi`` is built on; it answers the driver
version, max CUDA and every GPU. It is made to be loaded by monitoring tools, so it is called in
this process. ``libcuda.so.1`` is different: ``cuInit`` can crash or hang on a broken driver,
so, as conda's ``__cuda`` detection does, it runs in a separate Python process with a timeout
and only its answer comes back (as JSON on stdout).
"""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from packaging.version import Version

from cudaenv.machine.parse import cuda_from_int, parse_driver_version
from cudaenv.machine.values import DriverInfo, Gpu, ProbeError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["load_library", "nvml_info", "run_libcuda"]

_BUFFER = 96  # NVML_DEVICE_NAME_V2_BUFFER_SIZE; also > NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE
_CUDA_ERRORS = {
    3: "CUDA_ERROR_NOT_INITIALIZED",
    34: "CUDA_ERROR_STUB_LIBRARY: this libcuda is a build stub, not the driver's",
    35: "CUDA_ERROR_INSUFFICIENT_DRIVER",
    100: "CUDA_ERROR_NO_DEVICE: no GPU is visible",
    101: "CUDA_ERROR_INVALID_DEVICE: CUDA_VISIBLE_DEVICES names no GPU",
    803: "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH: the kernel module and libcuda differ",
    804: "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE",
    999: "CUDA_ERROR_UNKNOWN",
}


class _Memory(ctypes.Structure):
    _fields_ = [
        ("total", ctypes.c_ulonglong),
        ("free", ctypes.c_ulonglong),
        ("used", ctypes.c_ulonglong),
    ]


def load_library(names: Sequence[str]) -> ctypes.CDLL | None:
    """The first of ``names`` that dlopen can load, or None if none can."""
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def nvml_info(lib: ctypes.CDLL) -> DriverInfo:
    """Ask a loaded NVML for the driver version, max CUDA and GPUs; always shuts NVML down."""
    _function(lib, "nvmlErrorString").restype = ctypes.c_char_p
    _function(lib, "nvmlShutdown")  # checked before init, so that the finally below can call it
    _nvml(lib, "nvmlInit_v2")
    try:
        text = ctypes.create_string_buffer(_BUFFER)
        _nvml(lib, "nvmlSystemGetDriverVersion", text, ctypes.c_uint(_BUFFER))
        cuda = ctypes.c_int(0)
        _nvml(lib, "nvmlSystemGetCudaDriverVersion_v2", ctypes.byref(cuda))
        count = ctypes.c_uint(0)
        _nvml(lib, "nvmlDeviceGetCount_v2", ctypes.byref(count))
        return DriverInfo(
            driver_version=parse_driver_version(text.value.decode(errors="replace")),
            max_cuda=cuda_from_int(cuda.value),
            gpus=tuple(_nvml_gpu(lib, index) for index in range(count.value)),
        )
    finally:
        lib.nvmlShutdown()


def _nvml_gpu(lib: ctypes.CDLL, index: int) -> Gpu:
    handle = ctypes.c_void_p()
    _nvml(lib, "nvmlDeviceGetHandleByIndex_v2", ctypes.c_uint(index), ctypes.byref(handle))
    name = ctypes.create_string_buffer(_BUFFER)
    _nvml(lib, "nvmlDeviceGetName", handle, name, ctypes.c_uint(_BUFFER))
    memory = _Memory()
    _nvml(lib, "nvmlDeviceGetMemoryInfo", handle, ctypes.byref(memory))
    major, minor = ctypes.c_int(0), ctypes.c_int(0)
    _nvml(
        lib, "nvmlDeviceGetCudaComputeCapability", handle, ctypes.byref(major), ctypes.byref(minor)
    )
    return Gpu(
        name=name.value.decode(errors="replace"),
        compute_capability=Version(f"{major.value}.{minor.value}"),
        memory_mib=memory.total // (1024 * 1024),
    )


def _function(lib: ctypes.CDLL, function: str) -> Any:
    try:
        return getattr(lib, function)
    except AttributeError:
        raise ProbeError(f"NVML has no {function}: the library is too old or not NVML") from None


def _nvml(lib: ctypes.CDLL, function: str, *args: Any) -> None:
    code = _function(lib, function)(*args)
    if code != 0:
        reason = lib.nvmlErrorString(code) or b"unknown error"
        raise ProbeError(f"NVML {function} failed: {reason.decode(errors='replace')} ({code})")


# Runs in a fresh interpreter (``python -I -c``): no cudaenv import, only the standard library.
_LIBCUDA_CHILD = """
import ctypes, json, sys
for name in sys.argv[1:]:
    try:
        lib = ctypes.CDLL(name)
        break
    except OSError:
        continue
else:
    print(json.dumps({"loaded": None}))
    raise SystemExit(0)
if not hasattr(lib, "cuDriverGetVersion") or not hasattr(lib, "cuInit"):
    print(json.dumps({"loaded": name, "rc": None}))
    raise SystemExit(0)
version = ctypes.c_int(0)
rc = lib.cuDriverGetVersion(ctypes.byref(version))
init = lib.cuInit(ctypes.c_uint(0))
print(json.dumps({"loaded": name, "rc": rc, "version": version.value, "init": init}))
"""


def run_libcuda(
    names: Sequence[str], *, timeout: float, environ: Mapping[str, str]
) -> DriverInfo | None:
    """``cuDriverGetVersion`` (and ``cuInit``) in a child process; None if no libcuda loads."""
    # An empty or wrong CUDA_VISIBLE_DEVICES makes cuInit fail; conda drops it too.
    env = {k: v for k, v in environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    argv = [sys.executable, "-I", "-c", _LIBCUDA_CHILD, *names]
    try:
        done = subprocess.run(
            argv, check=False, capture_output=True, text=True, timeout=timeout, env=env
        )
    except subprocess.TimeoutExpired:
        message = f"libcuda did not answer within {timeout:g} s: the driver may be hung"
        raise ProbeError(message) from None
    if done.returncode != 0:
        raise ProbeError(f"loading libcuda killed the probe process ({_exit(done.returncode)})")
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        raise ProbeError(f"the libcuda probe printed {done.stdout[:200]!r}") from None
    return None if answer["loaded"] is None else _libcuda_info(answer)


def _libcuda_info(answer: dict[str, Any]) -> DriverInfo:
    if answer["rc"] is None:
        raise ProbeError(f"{answer['loaded']} has no cuDriverGetVersion/cuInit: not libcuda")
    if answer["rc"] != 0:
        raise ProbeError(f"cuDriverGetVersion failed in {answer['loaded']}: {_cuda(answer['rc'])}")
    problems: tuple[str, ...] = ()
    if answer["init"] != 0:
        problems = (f"cuInit failed: {_cuda(answer['init'])}; CUDA programs will not see a GPU",)
    return DriverInfo(max_cuda=cuda_from_int(answer["version"]), problems=problems)


def _cuda(code: int) -> str:
    return f"error {code} ({_CUDA_ERRORS.get(code, 'see the CUDA driver API docs')})"


def _exit(code: int) -> str:
    if code < 0:
        return f"signal {-code}"
    return f"exit status {code}"
