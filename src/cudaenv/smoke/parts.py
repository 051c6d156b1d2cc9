"""The framework parts of cudaenv's probe, each run in its own child process by ``probe.py``.

``python parts.py --part tensorflow|torch|jax|spacy|together [--gpu] [--quick] [--no-bench]
[--with NAME ...]`` imports the framework, marks each phase on stderr (``@@cudaenv-phase NAME``,
so that the C++ log lines that follow can be told apart: import, first GPU use, benchmark) and
prints its result as one line ``@@cudaenv-result {json}`` on stdout. ``together`` runs every
framework named by ``--with`` in this one process, in turn, and says which CUDA libraries each
one loaded, by path: two frameworks that load two different cuDNNs into one process is the
classic failure. Standalone like ``probe.py``: standard library at the top, frameworks imported
inside the parts, no cudaenv code; it runs on Python 3.8+.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

# The two markers are read by probe.parse_child; keep them equal there.
RESULT = "@@cudaenv-result "
PHASE = "@@cudaenv-phase "
PARTS = ("tensorflow", "torch", "jax", "spacy", "together")
FRAMEWORKS = ("tensorflow", "torch", "jax", "spacy")  # the order ``together`` runs them in
_WATCHED = ("libcudnn", "libcudart", "libcublas", "libnvJitLink", "libnccl", "libcuda.so")


PROGRESS_FD = "CUDAENV_PROGRESS_FD"  # cudaenv.smoke.phases reads the phases written there


def _phase(name):
    sys.stdout.flush()
    sys.stderr.write(PHASE + name + "\n")
    sys.stderr.flush()
    fd = os.environ.get(PROGRESS_FD, "")
    if fd.isdigit():  # cudaenv's status line, when it passed a pipe
        try:
            os.write(int(fd), ("phase " + name + "\n").encode())
        except OSError:
            pass


def _timed(fn, repeats=3):
    best = None
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        spent = time.perf_counter() - start
        best = spent if best is None else min(best, spent)
    return best


def _tf_matmul(tf, device, n):
    with tf.device(device):
        a = tf.random.normal((n, n))
        b = tf.random.normal((n, n))
        tf.linalg.matmul(a, b).numpy()  # warm-up: kernels, cuBLAS handles
        return _timed(lambda: tf.linalg.matmul(a, b).numpy())


def part_tensorflow(args):
    _phase("import")
    import tensorflow as tf

    info = tf.sysconfig.get_build_info()
    out = {
        "version": tf.__version__,
        "cuda_version": info.get("cuda_version"),
        "cudnn_version": info.get("cudnn_version"),
        "is_cuda_build": info.get("is_cuda_build"),
    }
    _phase("gpu")
    gpus = tf.config.list_physical_devices("GPU")
    out["gpus"] = [g.name for g in gpus]
    if args.bench:
        n = 256 if args.quick else 1024
        out["matmul_seconds"] = {"cpu": _tf_matmul(tf, "/CPU:0", n), "size": n}
        if gpus:
            out["matmul_seconds"]["gpu"] = _tf_matmul(tf, "/GPU:0", n)
    return out


def _matmul_seconds(run, devices, n):
    """Best time of ``run(device, n)`` on each of ``devices`` (name -> device or None)."""
    out = {"size": n}
    for name, device in devices.items():
        if device is not None:
            run(device, n)  # warm-up: kernels, library handles
            out[name] = _timed(lambda d=device: run(d, n))
    return out


def part_torch(args):
    """PyTorch: what it was built for, the GPUs it sees (or why not), a matmul on each device."""
    _phase("import")
    import torch

    out = {"version": torch.__version__, "cuda_version": torch.version.cuda}
    _phase("gpu")
    try:
        cudnn = torch.backends.cudnn.version() if torch.version.cuda else None
    except Exception as e:  # a cuDNN that does not load says so here
        out["cudnn_error"] = f"{type(e).__name__}: {e}"
        cudnn = None
    out["cudnn_version"] = _cudnn_text(cudnn)
    out["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    if not out["gpus"]:
        out["gpu_error"] = _torch_why(torch)
    out["loaded"] = loaded_libraries()
    if args.bench:

        def run(device, n):
            a = torch.randn(n, n, device=device)
            (a @ a).sum().item()  # .item() waits for the device

        cuda = torch.device("cuda:0") if out["gpus"] else None
        devices = {"cpu": torch.device("cpu"), "gpu": cuda}
        out["matmul_seconds"] = _matmul_seconds(run, devices, 256 if args.quick else 1024)
    return out


def _cudnn_text(number):
    """torch's cuDNN version 90501 (or 8902 before cuDNN 9) as 9.5.1."""
    if not number:
        return None
    if number >= 10000:
        return f"{number // 10000}.{number // 100 % 100}.{number % 100}"
    return f"{number // 1000}.{number // 100 % 10}.{number % 100}"


def _torch_why(torch):
    if not torch.version.cuda:
        return "this PyTorch is a CPU-only build (torch.version.cuda is None)"
    try:
        torch.cuda.init()
    except Exception as e:
        return f"{type(e).__name__}: {e}"
    return "torch.cuda.device_count() is 0"


def part_jax(args):
    """JAX: its backends, the GPUs its CUDA plugin sees (or why not), a matmul on each."""
    _phase("import")
    import jax
    import jax.numpy as jnp

    out = {"version": jax.__version__}
    _phase("gpu")
    try:
        gpus = jax.devices("gpu")
    except Exception as e:  # no CUDA plugin, or one that failed to initialise: JAX says why
        gpus, out["gpu_error"] = [], f"{type(e).__name__}: {e}"
    out["gpus"] = [str(d) for d in gpus]
    out["backend"] = jax.default_backend()
    out["loaded"] = loaded_libraries()
    if args.bench:

        def run(device, n):
            a = jax.device_put(jnp.ones((n, n), jnp.float32), device)
            jnp.dot(a, a).block_until_ready()

        devices = {"cpu": jax.devices("cpu")[0], "gpu": gpus[0] if gpus else None}
        out["matmul_seconds"] = _matmul_seconds(run, devices, 256 if args.quick else 1024)
    return out


def loaded_libraries():
    """soname -> the file of each watched CUDA library loaded in this process (its maps)."""
    found = {}
    try:
        with open("/proc/self/maps") as maps:
            for row in maps:
                path = mapped_file(row)
                name = os.path.basename(path)
                if name.startswith(_WATCHED) and ".so" in name:
                    found.setdefault(name, path)
    except OSError:
        pass
    return found


def mapped_file(row):
    """The file of one ``/proc/self/maps`` row: everything after its five fixed fields, so a
    path with spaces in it stays whole (``""`` for an anonymous mapping)."""
    fields = row.rstrip("\n").split(None, 5)
    return fields[5].strip() if len(fields) == 6 else ""


def part_spacy(args):
    """spaCy's pipeline on the CPU or (``--gpu``) the GPU: ``parts_spacy.py``."""
    return _sibling("parts_spacy").part_spacy(args, _phase)


def _sibling(name):
    """A script beside this one, loaded by path (this folder is not on ``sys.path``: the
    probe runs in foreign environments, where a module named like it must not be shadowed)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".py")
    spec = importlib.util.spec_from_file_location("_cudaenv_probe_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def part_together(args):
    """Every framework of ``--with`` in this one process, in turn: each imports and runs a small
    operation (on the GPU with ``--gpu``, else the CPU), and the CUDA libraries that appear in
    the process after it are its own (``loaded``). TensorFlow takes GPU memory as it grows and
    JAX does not preallocate (docs/facts.md, "TensorFlow and spaCy in one process"); spaCy runs
    a layer through thinc's PyTorch or TensorFlow wrapper when one of them is installed."""
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    out = {"device": "gpu" if args.gpu else "cpu", "frameworks": {}}
    seen = loaded_libraries()
    for name in (f for f in FRAMEWORKS if f in args.frameworks):
        _phase(name)
        try:
            result = _TOGETHER[name](args)
        except Exception as e:
            result = {"error": f"{type(e).__name__}: {e}"}
            out.setdefault("error", f"{name}: {result['error']}")
        now = loaded_libraries()
        result["loaded"] = {k: v for k, v in now.items() if seen.get(k) != v}
        seen = now
        out["frameworks"][name] = result
    out["cudnn"] = sorted({path for soname, path in seen.items() if _is_cudnn(soname)})
    return out


def _is_cudnn(soname):
    """The main cuDNN library (libcudnn.so.9), not its parts (libcudnn_ops.so.9)."""
    return soname.startswith("libcudnn.so")


def _together_tensorflow(args):
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)
    device = "/GPU:0" if args.gpu and tf.config.list_physical_devices("GPU") else "/CPU:0"
    with tf.device(device):
        tf.linalg.matmul(tf.ones((8, 8)), tf.ones((8, 8))).numpy()
    return {"version": tf.__version__, "device": device}


def _together_torch(args):
    import torch

    device = "cuda:0" if args.gpu and torch.cuda.is_available() else "cpu"
    (torch.ones(8, 8, device=device) @ torch.ones(8, 8, device=device)).sum().item()
    cudnn = _cudnn_text(torch.backends.cudnn.version()) if torch.version.cuda else None
    return {"version": torch.__version__, "device": device, "cudnn_version": cudnn}


def _together_jax(args):
    import jax
    import jax.numpy as jnp

    jnp.dot(jnp.ones((8, 8)), jnp.ones((8, 8))).block_until_ready()
    return {"version": jax.__version__, "device": jax.default_backend()}


def _together_spacy(args):
    """spaCy on the device, and a layer through thinc's wrapper of another framework."""
    import spacy
    import thinc.api as thinc

    if args.gpu:
        spacy.require_gpu()
    out = {"version": spacy.__version__}
    if "torch" in args.frameworks:
        import torch

        model = thinc.PyTorchWrapper(torch.nn.Linear(16, 8))
        out["wrapper"] = "PyTorchWrapper"
    elif "tensorflow" in args.frameworks:
        import tensorflow as tf

        _sibling("parts_spacy").enable_thinc_tensorflow()
        layer = tf.keras.Sequential([tf.keras.Input(shape=(16,)), tf.keras.layers.Dense(8)])
        model = thinc.TensorFlowWrapper(layer)
        out["wrapper"] = "TensorFlowWrapper"
    else:
        return out
    x = _aligned(model.ops.alloc2f(4, 16))
    model.initialize(X=x)
    out["output_shape"] = list(model.predict(x).shape)
    out["ops"] = type(model.ops).__name__
    return out


def _aligned(x, align=64):
    """``x`` copied into memory aligned to ``align`` bytes, where it is a NumPy array that is
    not. thinc hands NumPy arrays to TensorFlow without a copy (DLPack), and TensorFlow's CPU
    kernels abort the process (``Check failed: IsAligned()``) on a buffer that is not 64-byte
    aligned, which NumPy does not promise for small arrays: left as it is, the smoke test would
    crash now and then (docs/facts.md, "thinc, TensorFlow and DLPack on the CPU")."""
    import numpy

    if type(x) is not numpy.ndarray or x.ctypes.data % align == 0:
        return x  # CuPy's device memory is 256-byte aligned
    raw = numpy.zeros(x.size + align // x.itemsize, dtype=x.dtype)
    skip = (-raw.ctypes.data % align) // x.itemsize
    out = raw[skip : skip + x.size].reshape(x.shape)
    out[...] = x
    return out


_TOGETHER = {
    "tensorflow": _together_tensorflow,
    "torch": _together_torch,
    "jax": _together_jax,
    "spacy": _together_spacy,
}


def run_part(args):
    fn = {
        "tensorflow": part_tensorflow,
        "torch": part_torch,
        "jax": part_jax,
        "spacy": part_spacy,
        "together": part_together,
    }[args.part]
    try:
        out = fn(args)
    except BaseException as e:  # report anything, even SystemExit from a framework
        out = {"error": f"{type(e).__name__}: {e}"}
    sys.stderr.flush()
    sys.stdout.write("\n" + RESULT + json.dumps(out) + "\n")
    sys.stdout.flush()
    return 0


def parse_args(argv):
    parser = argparse.ArgumentParser(description="one part of cudaenv's probe")
    parser.add_argument("--part", choices=PARTS, required=True)
    parser.add_argument("--gpu", action="store_true", help="spaCy, together: use the GPU")
    parser.add_argument("--quick", action="store_true", help="a small benchmark")
    parser.add_argument("--no-bench", dest="bench", action="store_false", help="no timings")
    parser.add_argument(
        "--with", dest="frameworks", action="append", default=[], choices=FRAMEWORKS,
        help="together: a framework to run in this process (repeatable)",
    )  # fmt: skip
    return parser.parse_args(argv)


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.exit(run_part(parse_args(sys.argv[1:])))
