"""cudaenv's knowledge base: what each framework release needs from CUDA, and from the driver.

Wheel metadata does not say which CUDA a TensorFlow, spaCy or CuPy release needs, which CUDA a
PyTorch or JAX wheel was built for, which driver that CUDA needs, when NVIDIA allows one library
release to stand in for another, or what activation must set (docs/architecture.md). That knowledge
lives as data in ``recipes/`` and ``constraints/`` (shipped inside the wheel as
``cudaenv/data/...``), every row with its source, and this package loads and validates it: all
problems are collected into one :class:`~cudaenv.errors.KnowledgeError`, so a contributor sees
every mistake in one run.

    >>> from packaging.version import Version
    >>> from cudaenv.driver import DriverVersion
    >>> from cudaenv.knowledge import load
    >>> k = load()
    >>> k.tf_line(Version("2.15.1")).cuda
    <Version('12.2')>
    >>> k.max_cuda_for_driver(DriverVersion.parse("535.104.05"))
    <Version('12.2')>
    >>> print(k.min_driver_for(Version("11.8")))
    450.80.02
    >>> k.torch_line(Version("2.7.1")).cudnn
    <Version('9.5')>
    >>> k.relaxing_rule("nvidia-cudnn-cu12", Version("9.3.0.75"), Version("9.5.1.17")).id
    'cudnn-minor-backward'

Adding a TensorFlow, PyTorch or JAX release is a data change: a new ``[lines."X.Y"]`` table, no
code.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cudaenv.errors import KnowledgeError
from cudaenv.knowledge import schema, torchjax
from cudaenv.knowledge.compat import CompatRule, compat_rule
from cudaenv.knowledge.lines import (
    CupyLine,
    FrozenMap,
    JaxLine,
    KnownBad,
    NumpyLimit,
    OptionalPart,
    PreloadModules,
    SpacyLine,
    TfLine,
    TorchLine,
    spec_text,
)
from cudaenv.knowledge.model import DriverFloor, Exclusion, FloorOnly, Knowledge, ToolkitDriver
from cudaenv.knowledge.parse import Problems, Row, read_toml

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "CompatRule",
    "CupyLine",
    "DriverFloor",
    "Exclusion",
    "FloorOnly",
    "FrozenMap",
    "JaxLine",
    "Knowledge",
    "KnownBad",
    "NumpyLimit",
    "OptionalPart",
    "PreloadModules",
    "SpacyLine",
    "TfLine",
    "ToolkitDriver",
    "TorchLine",
    "data_dirs",
    "load",
    "load_from",
    "spec_text",
]

_PACKAGE = Path(__file__).resolve().parent.parent  # .../cudaenv

# The files read, whether each sits in recipes/ (True) or constraints/, and its top-level keys.
# recipes/log_lines.toml is read by its own loader, :mod:`cudaenv.knowledge.loglines`.
_FILES = {
    "tensorflow.toml": (True, {"meta", "lines", "optional", "preload"}),
    "spacy.toml": (True, {"meta", "lines", "preload"}),
    "cupy.toml": (True, {"meta", "lines", "preload"}),
    "torch.toml": (True, {"meta", "lines", "preload"}),
    "jax.toml": (True, {"meta", "lines", "preload"}),
    "cuda_driver.toml": (False, {"meta", "toolkit", "floor_only", "minor_version_compat"}),
    "exclusions.toml": (False, {"meta", "exclude"}),
    "compat_rules.toml": (False, {"meta", "rule"}),
}


def data_dirs() -> tuple[Path, Path]:
    """Where the recipes and constraints are: inside the installed wheel, else the source tree.

    The wheel carries them as ``cudaenv/data/{recipes,constraints}``; an editable install or a
    source checkout reads the top-level ``recipes/`` and ``constraints/`` directly.
    """
    packaged = _PACKAGE / "data"
    if (packaged / "recipes").is_dir():
        return packaged / "recipes", packaged / "constraints"
    checkout = _PACKAGE.parent.parent  # src/cudaenv -> repository root
    if (checkout / "recipes").is_dir():
        return checkout / "recipes", checkout / "constraints"
    raise KnowledgeError(
        "cudaenv's knowledge base (recipes/ and constraints/) is missing from the installation",
        context=f"looked in {packaged} and {checkout}",
        hint="reinstall cudaenv: pip install --force-reinstall cudaenv",
    )


@functools.cache
def load() -> Knowledge:
    """The packaged knowledge base, read and validated once per process."""
    return load_from(*data_dirs())


def load_from(recipes_dir: Path, constraints_dir: Path) -> Knowledge:
    """Read and validate the knowledge base from two directories (tests point at copies).

    Raises :class:`KnowledgeError` listing every invalid row, one per line of its context.
    """
    problems = Problems()
    docs = {}
    digest = hashlib.sha256()
    for name, (in_recipes, keys) in _FILES.items():
        path = Path(recipes_dir if in_recipes else constraints_dir) / name
        doc = read_toml(path, problems)
        with contextlib.suppress(OSError):  # read_toml has reported it
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
        if doc is not None:
            Row(problems, name, "", doc).only(keys)
        docs[name] = doc
    version = _meta_version(docs, problems)
    driver = docs["cuda_driver.toml"]
    knowledge = Knowledge(
        version=version or "",
        digest=digest.hexdigest(),
        tensorflow=_lines(
            problems, "tensorflow.toml", docs["tensorflow.toml"], schema.tf_line, "line"
        ),
        spacy=_lines(problems, "spacy.toml", docs["spacy.toml"], schema.spacy_line, "line"),
        cupy=_lines(problems, "cupy.toml", docs["cupy.toml"], schema.cupy_line, "cuda_major"),
        toolkit=_rows(problems, "cuda_driver.toml", driver, "toolkit", schema.toolkit_driver),
        floors=_rows(
            problems, "cuda_driver.toml", driver, "minor_version_compat", schema.driver_floor
        ),
        exclusions=_rows(
            problems, "exclusions.toml", docs["exclusions.toml"], "exclude", schema.exclusion
        ),
        torch=_lines(problems, "torch.toml", docs["torch.toml"], torchjax.torch_line, "line"),
        jax=_lines(problems, "jax.toml", docs["jax.toml"], torchjax.jax_line, "line"),
        compat_rules=_rows(
            problems, "compat_rules.toml", docs["compat_rules.toml"], "rule", compat_rule
        ),
        optional=_tables(problems, "tensorflow.toml", docs["tensorflow.toml"], "optional"),
        floor_only=_rows(
            problems, "cuda_driver.toml", driver, "floor_only", schema.floor_only, required=False
        ),
        preload=_preload(problems, docs),
    )
    _check_unique(problems, knowledge)
    if problems.items:
        raise KnowledgeError(
            f"cudaenv's knowledge base has {len(problems.items)} invalid "
            f"{'entry' if len(problems.items) == 1 else 'entries'}",
            context="\n".join(problems.items),
            hint="fix the entries listed (each row needs valid fields and a source), then retry",
        )
    return knowledge


def _meta_version(docs: dict[str, dict[str, Any] | None], problems: Problems) -> str | None:
    """Every file's ``[meta] version``; they must agree, as the lock records only one."""
    found: dict[str, str] = {}
    for name, doc in docs.items():
        if doc is None:
            continue
        table = Row(problems, name, "", doc).get("meta", dict, "a table", required=True)
        if table is None:
            continue
        meta = Row(problems, name, "meta", table)
        meta.only({"version"})
        if meta.version("version") is not None:
            found[name] = meta.table["version"]
    if len(set(found.values())) > 1:
        listed = ", ".join(f"{n} has {v}" for n, v in found.items())
        problems.add("meta.version", f"the files disagree ({listed}); give them one version")
    return next(iter(found.values()), None)


def _lines(
    problems: Problems,
    name: str,
    doc: dict[str, Any] | None,
    build: Callable[[Row, str], Any],
    order: str,
) -> tuple[Any, ...]:
    """The valid ``[lines.*]`` rows of a recipe file, oldest first."""
    if doc is None:
        return ()
    table = Row(problems, name, "", doc).get("lines", dict, "a table", required=True) or {}
    built = (build(Row(problems, name, "lines", {}).child(k, v), k) for k, v in table.items())
    return tuple(sorted((b for b in built if b is not None), key=attrgetter(order)))


def _tables(
    problems: Problems, name: str, doc: dict[str, Any] | None, key: str
) -> tuple[OptionalPart, ...]:
    """The ``[optional.NAME]`` tables of a recipe file (none is fine)."""
    if doc is None:
        return ()
    table = Row(problems, name, "", doc).get(key, dict, "a table", required=False) or {}
    built = (
        schema.optional_part(Row(problems, name, key, {}).child(k, v), k) for k, v in table.items()
    )
    return tuple(b for b in built if b is not None)


def _preload(
    problems: Problems, docs: dict[str, dict[str, Any] | None]
) -> tuple[PreloadModules, ...]:
    """The ``[preload]`` table of each recipe file that has one."""
    out = []
    for name, doc in docs.items():
        if doc is None or "preload" not in doc:
            continue
        table = Row(problems, name, "", doc).get("preload", dict, "a table", required=True)
        built = schema.preload_modules(Row(problems, name, "preload", table or {}), name)
        if built is not None:
            out.append(built)
    return tuple(out)


def _rows(
    problems: Problems,
    name: str,
    doc: dict[str, Any] | None,
    key: str,
    build: Callable[[Row], Any],
    *,
    required: bool = True,
) -> tuple[Any, ...]:
    """The ``[[key]]`` rows of a constraints file."""
    if doc is None:
        return ()
    table = Row(problems, name, "", doc)
    items = table.get(key, list, "an array of tables", required=required) or []
    built = (build(Row(problems, name, key, {}).child(i, v)) for i, v in enumerate(items))
    return tuple(b for b in built if b is not None)


def _check_unique(problems: Problems, k: Knowledge) -> None:
    """One floor and one CuPy build per CUDA major, one rule per id, or queries are ambiguous."""
    for name, majors in (
        ("cuda_driver.toml: minor_version_compat", [f.cuda_major for f in k.floors]),
        ("cupy.toml: lines", [c.cuda_major for c in k.cupy]),
    ):
        for major in sorted({m for m in majors if majors.count(m) > 1}):
            problems.add(name, f"CUDA major {major} appears more than once")
    ids = [r.id for r in k.compat_rules]
    for rule_id in sorted({i for i in ids if ids.count(i) > 1}):
        problems.add("compat_rules.toml: rule", f"id {rule_id!r} appears more than once")
    _check_floors(problems, k)


def _check_floors(problems: Problems, k: Knowledge) -> None:
    """Every CUDA major a torch or JAX line needs has a driver floor, or no driver can be named."""
    majors = {t.min_cuda.major: f'torch.toml: lines."{t.line}"' for t in k.torch}
    majors.update({m: f'jax.toml: lines."{j.line}"' for j in k.jax for m in j.extras})
    for major, where in sorted(majors.items()):
        if all(f.cuda_major != major for f in k.floors):
            problems.add(where, f"CUDA {major} has no minor_version_compat row in cuda_driver.toml")
