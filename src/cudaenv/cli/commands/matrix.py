"""``cudaenv matrix``: what the knowledge base knows, per TensorFlow, PyTorch, JAX, spaCy line.

Users ask "which CUDA/cuDNN/driver does TF 2.15 need?" before they ask cudaenv to build anything;
this answers from the same recipes the solver uses, so the table can never drift from what
``create`` does. ``--tf``/``--torch``/``--jax``/``--spacy`` pick lines (then only the lines
asked for are shown); ``--json`` prints ``{"tensorflow": [...], "torch": [...], "jax": [...],
"spacy": [...]}`` for scripts. The PyTorch and JAX rows (:mod:`._matrix_frameworks`) say which
lines can share one environment: the same CUDA major and the same cuDNN major.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cudaenv.cli import render
from cudaenv.errors import OK, Remedy, UsageError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

    from packaging.specifiers import SpecifierSet

    from cudaenv.knowledge import Knowledge, KnownBad, OptionalPart, SpacyLine, TfLine

NAME = "matrix"
HELP = "show the TensorFlow/PyTorch/JAX/spaCy lines cudaenv knows: CUDA, cuDNN, Python, driver"
ORDER = 20
EXAMPLES = ("matrix", "matrix --tf 2.15 --spacy 3.7", "matrix --tf 2.12 --json")

__all__ = [
    "EXAMPLES",
    "HELP",
    "NAME",
    "ORDER",
    "configure",
    "run",
    "spacy_rows",
    "tf_rows",
]

# Lower bounds before upper bounds, so ">=3.9,<3.12" reads the way people write it.


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tf", action="append", default=[], metavar="LINE",
        help="only this TensorFlow line (2.15, or a release such as 2.15.1); repeatable",
    )  # fmt: skip
    parser.add_argument(
        "--torch", action="append", default=[], metavar="LINE",
        help="only this PyTorch line (2.7, or a release such as 2.7.1); repeatable",
    )  # fmt: skip
    parser.add_argument(
        "--jax", action="append", default=[], metavar="LINE",
        help="only this JAX line (0.7, or a release such as 0.7.2); repeatable",
    )  # fmt: skip
    parser.add_argument(
        "--spacy", action="append", default=[], metavar="LINE",
        help="only this spaCy line (3.7, or a release such as 3.7.5); repeatable",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def run(args: argparse.Namespace) -> int:
    from cudaenv.cli.commands import _matrix_frameworks as fw
    from cudaenv.knowledge import load

    k = load()
    filtered = bool(args.tf or args.torch or args.jax or args.spacy)

    def pick(lines: Sequence[Any], asked: Sequence[str], label: str, flag: str) -> list[Any]:
        return _pick(lines, asked, label, flag) if asked or not filtered else []

    tf = pick(k.tensorflow, args.tf, "TensorFlow", "--tf")
    torch = pick(k.torch, args.torch, "PyTorch", "--torch")
    jax = pick(k.jax, args.jax, "JAX", "--jax")
    spacy = pick(k.spacy, args.spacy, "spaCy", "--spacy")
    if args.json:
        render.emit_json(
            {
                "tensorflow": tf_rows(k, tf),
                "torch": fw.torch_rows(k, torch),
                "jax": fw.jax_rows(k, jax),
                "spacy": spacy_rows(spacy),
            }
        )
        return OK
    _print_text(k, tf, spacy, detailed=filtered, others=fw.tables(k, torch, jax, detailed=filtered))
    return OK


def _pick(lines: Sequence[Any], asked: Sequence[str], label: str, flag: str) -> list[Any]:
    """The lines asked for (all when none), in knowledge-base order; unknown ones exit 2."""
    from packaging.version import InvalidVersion, Version

    if not asked:
        return list(lines)
    known = ", ".join(str(line.line) for line in lines)
    remedies = (Remedy.use((flag, str(lines[-1].line))),) if lines else ()
    picked = []
    for text in asked:
        try:
            version = Version(text)
        except InvalidVersion as e:
            raise UsageError(f"{flag} {text!r} is not a version", remedies=remedies) from e
        match = next((line for line in lines if line.contains(version)), None)
        if match is None:
            raise UsageError(
                f"{label} {text} is not in cudaenv's knowledge base",
                context=f"known {label} lines: {known}",
                remedies=remedies,
            )
        if match not in picked:
            picked.append(match)
    return sorted(picked, key=lambda line: line.line)


def _spec_text(spec: SpecifierSet) -> str:
    from cudaenv.knowledge import spec_text  # loaded in run, not when the CLI starts

    return spec_text(spec)


def tf_rows(k: Knowledge, lines: Sequence[TfLine]) -> list[dict[str, Any]]:
    """The JSON rows for TensorFlow lines."""
    return [
        {
            "version": str(t.line),
            "cuda": str(t.cuda),
            "cudnn": str(t.cudnn),
            "python": _spec_text(t.python),
            "min_driver": _min_driver(k, t),
            "wheels": [str(w) for w in t.wheels],
        }
        for t in lines
    ]


def spacy_rows(lines: Sequence[SpacyLine]) -> list[dict[str, Any]]:
    """The JSON rows for spaCy lines."""
    return [
        {
            "version": str(s.line),
            "thinc": _spec_text(s.thinc),
            "gpu_extras": {str(major): extra for major, extra in sorted(s.gpu_extras.items())},
            "python": _spec_text(s.python),
        }
        for s in lines
    ]


def _min_driver(k: Knowledge, t: TfLine) -> str | None:
    floor = k.floor_for(t.min_cuda)
    return str(floor.driver) if floor else None


def _print_text(
    k: Knowledge,
    tf: Sequence[TfLine],
    spacy: Sequence[SpacyLine],
    *,
    detailed: bool,
    others: Sequence[Callable[[], None]] = (),
) -> None:
    """The tables in order (TensorFlow, then ``others``: PyTorch and JAX, then spaCy), a blank
    line between two."""
    printed = False
    if tf:
        render.table(
            [_tf_cells(k, t) for t in tf],
            ["TensorFlow", "CUDA", "cuDNN", "Python", "min driver", "CUDA wheels", "notes"],
        )
        if detailed:
            for t in tf:
                _tf_details(k, t)
        printed = True
    for table in others:
        if printed:
            render.line()
        table()
        printed = True
    if printed and spacy:
        render.line()
    if spacy:
        render.table(
            [(s.line, _spec_text(s.thinc), _spec_text(s.python), _extras(s)) for s in spacy],
            ["spaCy", "thinc", "Python", "GPU extras (CUDA major: extra)"],
        )
    render.line()
    render.line(f"knowledge base {k.version}; min driver = lowest driver for the line's CUDA major")


def _tf_cells(k: Knowledge, t: TfLine) -> tuple[object, ...]:
    wheels = f"tensorflow[{t.extra}]" if t.extra else f"{len(t.requirements)} added by cudaenv"
    notes = []
    if t.pre_release_only:
        notes.append("pre-release only")
    if t.known_bad:
        notes.append("avoid " + ", ".join(_bad_text(b) for b in t.known_bad))
    notes += [f"{part.feature.split()[0]} optional" for part, _ in _optional(k, t)]
    return (t.line, t.cuda, t.cudnn, _spec_text(t.python), _min_driver(k, t), wheels,
            "; ".join(notes))  # fmt: skip


def _tf_details(k: Knowledge, t: TfLine) -> None:
    render.line()
    how = f"tensorflow[{t.extra}]" if t.extra else "cudaenv (TensorFlow declares none)"
    render.line(f"TensorFlow {t.line}: CUDA {t.cuda}, cuDNN {t.cudnn}; wheels from {how}:")
    for wheel in t.wheels:
        render.line(f"  {wheel}")
    for bad in t.known_bad:
        render.line(f"avoid {_bad_text(bad)}: {bad.reason} ({bad.source})")
    for part, wheels in _optional(k, t):
        render.line(
            f"optional: {', '.join(wheels)}, only for {part.feature}: left out, with a note, "
            f"where it has no wheel for the target ({part.source})"
        )
    for version, note in t.notes.items():
        render.line(f"note {version}: {note}")
    render.line(f"source: {t.source}")


def _optional(k: Knowledge, t: TfLine) -> list[tuple[OptionalPart, list[str]]]:
    """The optional parts of the line's extra, each with the wheels of it the extra pins."""
    out: dict[str, tuple[OptionalPart, list[str]]] = {}
    for wheel in t.wheels:
        part = k.optional_part(wheel.name)
        if part is not None:
            out.setdefault(part.name, (part, []))[1].append(str(wheel))
    return list(out.values())


def _bad_text(bad: KnownBad) -> str:
    return f"{bad.version} on Python {_spec_text(bad.python)}" if bad.python else str(bad.version)


def _extras(s: SpacyLine) -> str:
    return ", ".join(f"{major}: {extra}" for major, extra in sorted(s.gpu_extras.items()))
