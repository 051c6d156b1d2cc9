"""The framework parts of cudaenv's probe, each run in its own child process by ``probe.py``.

``python parts.py --part tensorflow|spacy|together [--gpu] [--quick] [--no-bench]`` imports the
framework, marks each phase on stderr (``@@cudaenv-phase NAME``, so that the C++ log lines that
follow can be told apart: import, first GPU use, benchmark) and prints its result as one line
``@@cudaenv-result {json}`` on stdout. Standalone like ``probe.py``: standard library at the top,
frameworks imported inside the parts, no cudaenv code; it runs on Python 3.8+.
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
PARTS = ("tensorflow", "spacy", "together")


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


_VOCAB = (
    "the cat sat on a mat while green ideas slept and Alice met Bob in Paris "
    "under bright lights near old river banks with quiet songs"
).split()


def _sentence(seed, length):
    words = []
    for _ in range(length):
        seed = (seed * 1103515245 + 12345) % 2147483648
        words.append(_VOCAB[seed % len(_VOCAB)])
    return words


def _examples(nlp):
    from spacy.training import Example

    examples = []
    for i in range(8):
        words = _sentence(i + 1, 6 + i % 4)
        annotations = {
            "words": words,
            "tags": ["NN" if j % 2 else "VB" for j in range(len(words))],
            "heads": [0] * len(words),
            "deps": ["ROOT"] + ["dep"] * (len(words) - 1),
            "entities": ["U-ORG"] + ["O"] * (len(words) - 1),
        }
        examples.append(Example.from_dict(nlp.make_doc(" ".join(words)), annotations))
    return examples


def _pipeline(spacy):
    """spaCy's default components with their default configs; no model download."""
    nlp = spacy.blank("en")
    for name in ("tok2vec", "tagger", "parser", "ner"):
        nlp.add_pipe(name)
    examples = _examples(nlp)
    nlp.initialize(lambda: examples)
    return nlp


def _words_per_second(nlp, quick):
    texts = [" ".join(_sentence(i, 12 + i % 16)) for i in range(120 if quick else 2000)]
    list(nlp.pipe(texts[:8]))  # warm-up
    start = time.perf_counter()
    words = sum(len(doc) for doc in nlp.pipe(texts, batch_size=64))
    return words / max(time.perf_counter() - start, 1e-9), words


def _cupy_error():
    """What thinc hides behind 'CuPy is not installed' / 'No GPU devices detected'
    (docs/facts.md, "CuPy")."""
    try:
        import cupy

        cupy.cuda.runtime.getDeviceCount()
    except Exception as e:
        return f"{type(e).__name__}: {e}"
    return None


def part_spacy(args):
    _phase("import")
    import spacy

    out = {"version": spacy.__version__, "device": "gpu" if args.gpu else "cpu"}
    if args.gpu:
        _phase("gpu")
        try:
            spacy.require_gpu()
        except Exception as e:
            out["error"] = f"{type(e).__name__}: {e}"
            out["cause"] = _cupy_error()
            return out
    if args.bench:
        _phase("bench")
        out["pipeline"] = ["tok2vec", "tagger", "parser", "ner"]
        out["words_per_second"], out["words"] = _words_per_second(_pipeline(spacy), args.quick)
    return out


def _enable_thinc_tensorflow():
    """thinc >= 8.2 imports TensorFlow only on request; its modules keep the values they
    imported (``tf``, ``has_tensorflow``) from ``thinc.compat``, so refresh them too."""
    import importlib
    import warnings

    compat = importlib.import_module("thinc.compat")
    if not hasattr(compat, "enable_tensorflow"):  # thinc <= 8.1 imported TensorFlow itself
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        compat.enable_tensorflow()
    names = {
        "tf": "tensorflow",
        "tensorflow": "tensorflow",
        "has_tensorflow": "has_tensorflow",
        "has_tensorflow_gpu": "has_tensorflow_gpu",
    }
    for name, module in list(sys.modules.items()):
        if name.startswith("thinc.") and module is not compat:
            for attr, source in names.items():
                if attr in vars(module):
                    setattr(module, attr, getattr(compat, source))


def part_together(args):
    """TF and spaCy in one process: a TF layer through thinc's wrapper, memory growth on so that
    TensorFlow does not take the whole GPU from CuPy (docs/facts.md, "TensorFlow and spaCy in
    one process"). ``--gpu``: on the GPU."""
    _phase("import")
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)
    import spacy
    import thinc.api as thinc

    _phase("gpu")
    if args.gpu:
        spacy.require_gpu()
    _enable_thinc_tensorflow()
    layer = tf.keras.Sequential([tf.keras.Input(shape=(16,)), tf.keras.layers.Dense(8)])
    model = thinc.TensorFlowWrapper(layer)
    x = model.ops.alloc2f(4, 16)
    model.initialize(X=x)
    y = model.predict(x)
    return {
        "output_shape": list(y.shape),
        "ops": type(model.ops).__name__,
        "tensorflow": tf.__version__,
        "spacy": spacy.__version__,
    }


def run_part(args):
    fn = {"tensorflow": part_tensorflow, "spacy": part_spacy, "together": part_together}[args.part]
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
    parser.add_argument("--gpu", action="store_true", help="spaCy: require the GPU")
    parser.add_argument("--quick", action="store_true", help="a small benchmark")
    parser.add_argument("--no-bench", dest="bench", action="store_false", help="no timings")
    return parser.parse_args(argv)


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.exit(run_part(parse_args(sys.argv[1:])))
