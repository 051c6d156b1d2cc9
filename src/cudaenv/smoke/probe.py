"""cudaenv's probe: run by an environment's own Python, it reports what really works there.

Standalone on purpose: it imports no cudaenv code and only the standard library at the top, so it
runs in any environment (Python 3.8+), including ones cudaenv did not make. Frameworks are
imported only by ``parts.py``, each part in a child process of this script, so that TensorFlow's
C++ log (written to file descriptor 2) can be captured, phase by phase, and a crash in one
framework cannot take the report down. It prints one JSON document on stdout; cudaenv
parses it into a ``SmokeReport`` (``cudaenv.smoke.report``) and classifies the log lines there.

Usage: ``python probe.py [--soname NAME ...] [--quick] [--no-bench] [--skip PART ...]``.
Parts: tensorflow, torch, jax, spacy (each in its own child process) and together (every one
installed, in one process; it reports which CUDA libraries each framework loaded, by path).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import signal
import subprocess
import sys

# Markers written by parts.py; keep them equal there.
RESULT = "@@cudaenv-result "
PHASE = "@@cudaenv-phase "
PROGRESS_FD = "CUDAENV_PROGRESS_FD"  # cudaenv.smoke.phases reads the steps written there
PARTS = ("tensorflow", "torch", "jax", "spacy", "together")
FRAMEWORKS = ("tensorflow", "torch", "jax", "spacy")
TF_VMODULE = "dso_loader=2,cuda_dso_loader=2,cudart_stub=2,cuda_diagnostics=2,gpu_device=2"
RTLD_DI_LINKMAP = 2
WATCHED = (
    "tensorflow",
    "tensorflow-cpu",
    "tf-nightly",
    "keras",
    "spacy",
    "thinc",
    "numpy",
    "tensorrt",
    "torch",
    "jax",
    "jaxlib",
    "cuda-pathfinder",
    "cuda-toolkit",
)


# --- libraries and the driver (in this process) -------------------------------------------


class _LinkMap(ctypes.Structure):
    _fields_ = [("l_addr", ctypes.c_void_p), ("l_name", ctypes.c_char_p)]


def _dlinfo():
    fn = getattr(ctypes.CDLL(None), "dlinfo", None)  # glibc >= 2.34 has it in libc
    if fn is None:
        try:
            fn = ctypes.CDLL("libdl.so.2").dlinfo
        except (OSError, AttributeError):
            return None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    return fn


def loaded_path(lib, soname):
    """The file a loaded library came from: dlinfo's link map, else /proc/self/maps."""
    dlinfo = _dlinfo()
    if dlinfo is not None:
        entry = ctypes.POINTER(_LinkMap)()
        if dlinfo(lib._handle, RTLD_DI_LINKMAP, ctypes.byref(entry)) == 0 and entry:
            name = entry.contents.l_name
            if name:
                return os.fsdecode(name)
    try:
        with open("/proc/self/maps") as maps:
            for row in maps:
                fields = row.rstrip("\n").split(None, 5)  # a path may hold spaces
                if len(fields) == 6 and os.path.basename(fields[5].strip()) == soname:
                    return fields[5].strip()
    except OSError:
        pass
    return None


def load(soname):
    """dlopen ``soname`` the way a framework does (by name, through the loader's search)."""
    try:
        lib = ctypes.CDLL(soname)
    except OSError as e:
        return {"soname": soname, "loaded": False, "path": None, "error": str(e)}
    return {"soname": soname, "loaded": True, "path": loaded_path(lib, soname), "error": None}


def _cuda_call(lib, name, *args):
    fn = getattr(lib, name, None)
    return -1 if fn is None else int(fn(*args))


def driver():
    """Load libcuda.so.1 (the driver's user-space part), cuInit, and count the GPUs."""
    found = load("libcuda.so.1")
    out = {
        "loaded": found["loaded"],
        "path": found["path"],
        "error": found["error"],
        "init": None,
        "cuda_version": None,
        "devices": [],
    }
    if not found["loaded"]:
        return out
    lib = ctypes.CDLL("libcuda.so.1")
    version = ctypes.c_int(0)
    if _cuda_call(lib, "cuDriverGetVersion", ctypes.byref(version)) == 0 and version.value:
        out["cuda_version"] = f"{version.value // 1000}.{version.value % 1000 // 10}"
    out["init"] = _cuda_call(lib, "cuInit", 0)
    count = ctypes.c_int(0)
    if out["init"] == 0 and _cuda_call(lib, "cuDeviceGetCount", ctypes.byref(count)) == 0:
        for ordinal in range(count.value):
            name = ctypes.create_string_buffer(256)
            device = ctypes.c_int(0)
            _cuda_call(lib, "cuDeviceGet", ctypes.byref(device), ordinal)
            _cuda_call(lib, "cuDeviceGetName", name, 256, device)
            out["devices"].append(name.value.decode(errors="replace"))
    return out


def distributions():
    """Versions of the frameworks, numpy and every nvidia-* wheel, from metadata (no import)."""
    try:
        from importlib import metadata
    except ImportError:  # pragma: no cover - Python < 3.8
        return {}
    found = {}
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-").replace(".", "-")
        if name in WATCHED or name.startswith(("nvidia-", "cupy")):
            found.setdefault(name, dist.version)
    return found


def environment():
    keys = (
        "LD_LIBRARY_PATH",
        "CUDA_VISIBLE_DEVICES",
        "XLA_FLAGS",
        "TF_FORCE_GPU_ALLOW_GROWTH",
        "CUDA_PATH",
        "CUDA_HOME",
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "PATH",
    )
    site = [p for p in sys.path if p.endswith("-packages")]
    return {
        "python": platform.python_version(),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "site_packages": site,
        "environ": {k: os.environ[k] for k in keys if k in os.environ},
    }


def progress(kind, name):
    """Tell cudaenv which step starts (``part NAME``), on the pipe it passed, if it did."""
    fd = os.environ.get(PROGRESS_FD, "")
    if fd.isdigit():
        try:
            os.write(int(fd), (kind + " " + name + "\n").encode())
        except OSError:
            pass


def _progress_fds():
    """The progress pipe, for the children to inherit (none if it is not open here)."""
    fd = os.environ.get(PROGRESS_FD, "")
    try:
        return (int(fd),) if fd.isdigit() and os.fstat(int(fd)) else ()
    except OSError:
        return ()


# --- parts, each in a child process -----------------------------------------------------


def child(part, args, extra=()):
    """Run one part in a child process; return its result and its log, phase by phase."""
    env = dict(
        os.environ,
        TF_CPP_MIN_LOG_LEVEL="0",
        TF_CPP_VMODULE=TF_VMODULE,
        TF_FORCE_GPU_ALLOW_GROWTH="true",
        XLA_PYTHON_CLIENT_PREALLOCATE="false",
        PYTHONUNBUFFERED="1",
        PYTHONFAULTHANDLER="1",  # a part killed by a signal leaves its backtrace in its log
    )
    parts = os.path.join(os.path.dirname(os.path.abspath(__file__)), "parts.py")
    cmd = [sys.executable, parts, "--part", part, *extra]
    cmd += (["--quick"] if args.quick else []) + ([] if args.bench else ["--no-bench"])
    progress("part", part + ("-gpu" if part == "spacy" and "--gpu" in extra else ""))
    try:
        done = subprocess.run(
            cmd,
            env=env,
            capture_output=True,
            timeout=args.timeout,
            check=False,
            pass_fds=_progress_fds(),
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout} s", "log": []}
    return parse_child(
        done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")
    )


def parse_child(returncode, stdout, stderr):
    result = None
    for row in stdout.splitlines():
        if row.startswith(RESULT):
            result = json.loads(row[len(RESULT) :])
    log, phase = [], "start"
    for row in stderr.splitlines():
        if row.startswith(PHASE):
            phase = row[len(PHASE) :].strip()
        elif row.strip():
            log.append({"phase": phase, "line": row})
    if result is None and returncode < 0:  # killed by a signal: a crash, in this phase
        name = _signal_name(-returncode)
        result = {
            "error": f"killed by {name} (signal {-returncode})",
            "crash": {"signal": -returncode, "name": name, "phase": phase},
        }
    if result is None:
        result = {"error": f"the child process died (exit status {returncode})"}
    result["log"] = log
    return result


def _signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return "signal " + str(number)


def _installed(module):
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def frameworks(args, gpu_possible):
    """Each installed framework in its own child process, then (when two or more are installed)
    all of them in one, on the GPU where there is one: which CUDA libraries each loads there is
    what ``doctor`` needs too, so this runs without the benchmark as well."""
    out = {}
    found = [f for f in FRAMEWORKS if f not in args.skip and _installed(f)]
    for name in found:
        if name == "spacy":
            out["spacy"] = {"cpu": child("spacy", args)}
            if gpu_possible:
                out["spacy"]["gpu"] = child("spacy", args, ["--gpu"])
        else:
            out[name] = child(name, args)
    if len(found) > 1 and "together" not in args.skip:
        extra = [a for name in found for a in ("--with", name)]
        out["together"] = child("together", args, [*extra, *(["--gpu"] if gpu_possible else [])])
        out["together"].setdefault("device", "gpu" if gpu_possible else "cpu")  # died: unsaid
    return out


def parse_args(argv):
    parser = argparse.ArgumentParser(description="cudaenv's in-environment probe")
    parser.add_argument("--soname", action="append", default=[], help="a library to dlopen")
    parser.add_argument("--quick", action="store_true", help="a small benchmark")
    parser.add_argument("--no-bench", dest="bench", action="store_false", help="no timings")
    parser.add_argument("--skip", action="append", default=[], choices=PARTS)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per child process")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    progress("part", "driver")
    report = {
        "probe": 1,
        "environment": environment(),
        "distributions": distributions(),
        "driver": driver(),
    }
    progress("part", "libraries")
    report["libraries"] = [load(s) for s in args.soname]
    gpu_possible = bool(report["driver"]["devices"])
    report.update(frameworks(args, gpu_possible))
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.exit(main())
