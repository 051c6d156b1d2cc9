"""spaCy's part of cudaenv's probe: a pipeline from spaCy's default config, its words per second.

Loaded by path by ``parts.py`` (in the child process ``probe.py`` starts for spaCy, or for all
frameworks together). Standalone like both: standard library at the top, spaCy, thinc and CuPy
imported inside the functions, no cudaenv code; it runs on Python 3.8+. Nothing here prints:
``parts.py`` writes the result.
"""

from __future__ import annotations

import sys
import time

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


def part_spacy(args, phase):
    """spaCy on the CPU or (``args.gpu``) the GPU; ``phase`` marks each phase on stderr."""
    phase("import")
    import spacy

    out = {"version": spacy.__version__, "device": "gpu" if args.gpu else "cpu"}
    if args.gpu:
        phase("gpu")
        try:
            spacy.require_gpu()
        except Exception as e:
            out["error"] = f"{type(e).__name__}: {e}"
            out["cause"] = _cupy_error()
            return out
    if args.bench:
        phase("bench")
        out["pipeline"] = ["tok2vec", "tagger", "parser", "ner"]
        out["words_per_second"], out["words"] = _words_per_second(_pipeline(spacy), args.quick)
    return out


def enable_thinc_tensorflow():
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
