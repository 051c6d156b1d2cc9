"""Run inside an environment: which file each CUDA library loads from, and the driver.

``python libcheck.py [--soname NAME ...] [--cupy]`` dlopens each soname the way a framework
does (by name, through the loader's search: ``LD_LIBRARY_PATH``, RUNPATH, the ld.so cache),
reads back the file the loader chose, loads the driver's ``libcuda.so.1`` and calls ``cuInit``,
and with ``--cupy`` multiplies two matrices with CuPy on the GPU (when CuPy is installed). It
prints one JSON document: ``scripts/gpu-check`` judges it (``judge.activation``).

Standard library only, no cudaenv code: it runs in the environment being checked.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import time

RTLD_DI_LINKMAP = 2


class _LinkMap(ctypes.Structure):
    _fields_ = [("l_addr", ctypes.c_void_p), ("l_name", ctypes.c_char_p)]


def loaded_path(lib, soname):
    """The file a loaded library came from: dlinfo's link map, else /proc/self/maps."""
    fn = getattr(ctypes.CDLL(None), "dlinfo", None)
    if fn is not None:
        fn.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        entry = ctypes.POINTER(_LinkMap)()
        if fn(lib._handle, RTLD_DI_LINKMAP, ctypes.byref(entry)) == 0 and entry:
            if entry.contents.l_name:
                return os.fsdecode(entry.contents.l_name)
    with open("/proc/self/maps") as maps:
        for row in maps:
            path = mapped_file(row)
            if os.path.basename(path) == soname:
                return path
    return None


def mapped_file(row):
    """The file of one /proc/self/maps row: all after its five fixed fields (a path may hold
    spaces); "" for an anonymous mapping."""
    fields = row.rstrip("\n").split(None, 5)
    return fields[5].strip() if len(fields) == 6 else ""


def load(soname):
    try:
        lib = ctypes.CDLL(soname)
    except OSError as e:
        return {"soname": soname, "loaded": False, "path": None, "error": str(e)}, None
    path = loaded_path(lib, soname)
    return {"soname": soname, "loaded": True, "path": path, "error": None}, lib


def driver():
    """libcuda.so.1: where it loads from, cuInit's status, the CUDA version it reports."""
    out, lib = load("libcuda.so.1")
    if lib is None:
        return out
    version = ctypes.c_int(0)
    out["cuda_version"] = None
    if lib.cuDriverGetVersion(ctypes.byref(version)) == 0:
        out["cuda_version"] = f"{version.value // 1000}.{version.value % 1000 // 10}"
    out["init"] = int(lib.cuInit(ctypes.c_uint(0)))
    return out


def cupy_matmul(n=2048):
    """CuPy's matmul on the GPU, timed; or why not."""
    try:
        import cupy
    except ImportError as e:
        return {"installed": False, "error": str(e)}
    try:
        a = cupy.ones((n, n), dtype=cupy.float32)
        (a @ a).sum().item()  # warm-up: cuBLAS handle, kernels
        start = time.perf_counter()
        value = float((a @ a).sum().item())
        seconds = time.perf_counter() - start
        device = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode(errors="replace")
    except Exception as e:
        return {"installed": True, "version": cupy.__version__, "error": f"{type(e).__name__}: {e}"}
    return {
        "installed": True,
        "version": cupy.__version__,
        "device": device,
        "size": n,
        "seconds": seconds,
        "correct": abs(value - float(n) ** 3) <= 1e-3 * float(n) ** 3,
        "error": None,
    }


def maps(prefixes=("libcu", "libnv")):
    """Every CUDA library file mapped into this process now, by soname."""
    found = {}
    with open("/proc/self/maps") as rows:
        for row in rows:
            path = mapped_file(row)
            name = os.path.basename(path)
            if name.startswith(prefixes) and ".so" in name:
                found.setdefault(name, path)
    return found


def main(argv):
    sonames = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--soname"]
    out = {
        "python": sys.executable,
        "prefix": sys.prefix,
        "ld_library_path": os.environ.get("LD_LIBRARY_PATH"),
        "libraries": [load(s)[0] for s in sonames],
        "driver": driver(),
    }
    if "--cupy" in argv:
        out["cupy"] = cupy_matmul()
        out["cupy_loaded"] = maps()
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
