"""What each knowledge file may contain, and how its rows become values.

One builder per kind of row. A builder reads every field (so every problem in the row is
recorded), checks what ties fields together (``min_cuda`` in the line's CUDA major, ``bad``
releases inside their line), and returns None if anything was wrong. The file formats are
documented in the header comments of the TOML files themselves.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from cudaenv.knowledge.lines import (
    CupyLine,
    FrozenMap,
    KnownBad,
    NumpyLimit,
    OptionalPart,
    PreloadModules,
    SpacyLine,
    TfLine,
    same_line,
)
from cudaenv.knowledge.model import DriverFloor, Exclusion, FloorOnly, ToolkitDriver

if TYPE_CHECKING:
    from cudaenv.knowledge.parse import Row

__all__ = [
    "cupy_line",
    "driver_floor",
    "exclusion",
    "floor_only",
    "line_key",
    "optional_part",
    "preload_modules",
    "spacy_line",
    "tf_line",
    "toolkit_driver",
]

_TF_FIELDS = frozenset(
    {
        "cuda",
        "cudnn",
        "python",
        "extra",
        "wheels",
        "requirements",
        "constraints",
        "min_cuda",
        "sonames",
        "env",
        "path",
        "bad",
        "notes",
        "pre_release_only",
        "source",
    }
)
_SPACY_FIELDS = frozenset(
    {"thinc", "python", "gpu_extras", "requirements", "constraints", "source"}
)
_CUPY_FIELDS = frozenset(
    {"cuda_major", "versions", "python", "runtime_wheels", "sonames", "optional", "numpy", "source"}
)


def line_key(row: Row, key: str) -> Version | None:
    """A line's table key must be major.minor, like "2.15"."""
    try:
        line = Version(key)
    except InvalidVersion:
        line = None
    if line is None or len(line.release) != 2 or str(line) != key:
        row.fail(None, "line key is not a major.minor version")
        return None
    return line


def tf_line(row: Row, key: str) -> TfLine | None:
    """Build one ``[lines."2.N"]`` row of tensorflow.toml."""
    row.only(_TF_FIELDS)
    line = line_key(row, key)
    cuda, min_cuda = row.version("cuda"), row.version("min_cuda")
    known_bad = _bad(row, line)
    fields: dict[str, Any] = {
        "cudnn": row.version("cudnn"),
        "python": row.specifier("python"),
        "extra": row.text("extra", required=False),
        "requirements": row.requirements("requirements"),
        "constraints": row.requirements("constraints"),
        "sonames": row.strings("sonames", required=True),
        "env": _env(row),
        "path": row.templates("path"),
        "notes": _notes(row, line),
        "pre_release_only": row.flag("pre_release_only"),
        "source": row.source(),
    }
    # Lines with the extra name its wheels; the others' wheels are what cudaenv adds itself.
    wheels = row.requirements("wheels", required=fields["extra"] is not None)
    _check_cuda(row, cuda, min_cuda)
    if not row.ok or line is None or cuda is None or min_cuda is None:
        return None
    return TfLine(
        line=line,
        cuda=cuda,
        cuda_major=cuda.major,
        min_cuda=min_cuda,
        wheels=wheels or fields["requirements"],
        bad=FrozenMap({b.version: b.reason for b in known_bad if b.python is None}),
        known_bad=known_bad,
        **fields,
    )


def _check_cuda(row: Row, cuda: Version | None, min_cuda: Version | None) -> None:
    if cuda is not None and min_cuda is not None:
        if min_cuda.major != cuda.major or min_cuda > cuda:
            row.fail("min_cuda", f"must be in CUDA {cuda.major}.x and not above cuda {cuda}")


def _env(row: Row) -> FrozenMap[str, str]:
    table = row.get("env", dict, "a table", required=False) or {}
    sub = row.child("env", table)
    return FrozenMap({k: v for k in table if (v := sub.template(k, table[k])) is not None})


def _release_rows(row: Row, field: str, line: Version | None) -> list[tuple[Version, Row]]:
    """The ``field."V"`` sub-tables of a line, each key a release inside that line."""
    table = row.get(field, dict, "a table", required=False) or {}
    out = []
    for key, value in table.items():
        sub = row.child(field, table).child(key, value)
        try:
            version = Version(key)
        except InvalidVersion:
            sub.fail(None, "not a version")
            continue
        if line is not None and not same_line(line, version):
            sub.fail(None, f"release is not in line {line}")
        out.append((version, sub))
    return out


def _bad(row: Row, line: Version | None) -> tuple[KnownBad, ...]:
    out = []
    for version, sub in _release_rows(row, "bad", line):
        sub.only({"reason", "python", "source"})
        reason, source = sub.text("reason"), sub.source()
        python = sub.specifier("python", required=False)
        if reason is not None and source is not None:
            out.append(KnownBad(version=version, reason=reason, python=python, source=source))
    return tuple(out)


def _notes(row: Row, line: Version | None) -> FrozenMap[Version, str]:
    out = {}
    for version, sub in _release_rows(row, "notes", line):
        sub.only({"text", "source"})
        text, source = sub.text("text"), sub.source()
        if text is not None and source is not None:
            out[version] = text
    return FrozenMap(out)


def optional_part(row: Row, key: str) -> OptionalPart | None:
    """Build one ``[optional.NAME]`` table of tensorflow.toml."""
    row.only({"packages", "feature", "source"})
    packages = row.strings("packages", required=True)
    for name in packages:
        if canonicalize_name(name) != name:
            row.fail("packages", f"{name!r} is not a normalized package name")
    feature, source = row.text("feature"), row.source()
    if not row.ok or feature is None or source is None:
        return None
    names = frozenset(canonicalize_name(n) for n in packages)
    return OptionalPart(name=key, packages=names, feature=feature, source=source)


_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def preload_modules(row: Row, file: str) -> PreloadModules | None:
    """Build a recipe file's ``[preload]`` table: top-level module names, why, source."""
    row.only({"modules", "why", "source"})
    modules = row.strings("modules", required=True)
    for name in modules:
        if not _MODULE.match(name):
            row.fail("modules", f"{name!r} is not a top-level module name")
    why, source = row.text("why"), row.source()
    if not row.ok or why is None or source is None:
        return None
    return PreloadModules(file=file, modules=modules, why=why, source=source)


def spacy_line(row: Row, key: str) -> SpacyLine | None:
    """Build one ``[lines."3.N"]`` row of spacy.toml."""
    row.only(_SPACY_FIELDS)
    line = line_key(row, key)
    fields: dict[str, Any] = {
        "thinc": row.specifier("thinc"),
        "python": row.specifier("python"),
        "gpu_extras": _gpu_extras(row),
        "requirements": row.requirements("requirements"),
        "constraints": row.requirements("constraints"),
        "source": row.source(),
    }
    if not row.ok or line is None:
        return None
    return SpacyLine(line=line, **fields)


def _gpu_extras(row: Row) -> FrozenMap[int, str]:
    table = row.get("gpu_extras", dict, "a table", required=True) or {}
    sub, out = row.child("gpu_extras", table), {}
    for key, value in table.items():
        if not key.isdigit():
            sub.fail(key, "not a CUDA major (like 12)")
        elif not isinstance(value, str) or not value:
            sub.fail(key, "not an extra name")
        else:
            out[int(key)] = value
    return FrozenMap(out)


def cupy_line(row: Row, key: str) -> CupyLine | None:
    """Build one ``[lines.cupy-cudaNNx]`` row of cupy.toml."""
    row.only(_CUPY_FIELDS)
    name = canonicalize_name(key)
    if name != key:
        row.fail(None, f"package name is not normalized (write {name})")
    fields: dict[str, Any] = {
        "cuda_major": row.integer("cuda_major"),
        "versions": row.specifier("versions"),
        "python": row.specifier("python"),
        "runtime_wheels": row.requirements("runtime_wheels", required=True),
        "sonames": row.strings("sonames", required=True),
        "optional": row.strings("optional"),
        "numpy": _numpy_limits(row),
        "source": row.source(),
    }
    if not row.ok:
        return None
    return CupyLine(name=name, **fields)


def _numpy_limits(row: Row) -> tuple[NumpyLimit, ...]:
    out = []
    for i, item in row.each("numpy", "a list of tables"):
        sub = row.child("numpy", {}).child(i, item)
        sub.only({"versions", "numpy"})
        versions, numpy = sub.specifier("versions"), sub.specifier("numpy")
        if versions is not None and numpy is not None:
            out.append(NumpyLimit(versions=versions, numpy=numpy))
    return tuple(out)


def toolkit_driver(row: Row) -> ToolkitDriver | None:
    """Build one ``[[toolkit]]`` row of cuda_driver.toml."""
    row.only({"cuda", "release", "driver", "source"})
    fields: dict[str, Any] = {
        "cuda": row.version("cuda"),
        "release": row.text("release"),
        "source": row.source(),
        "driver": row.driver("driver"),
    }
    if fields["cuda"] is not None and len(fields["cuda"].release) != 2:
        row.fail("cuda", "not major.minor (like 12.2)")
    return ToolkitDriver(**fields) if row.ok else None


def floor_only(row: Row) -> FloorOnly | None:
    """Build one ``[[floor_only]]`` row of cuda_driver.toml: a release with no driver of its own
    in the sources read."""
    row.only({"cuda", "release", "note", "source"})
    fields: dict[str, Any] = {
        "cuda": row.version("cuda"),
        "release": row.text("release"),
        "note": row.text("note"),
        "source": row.source(),
    }
    if fields["cuda"] is not None and len(fields["cuda"].release) != 2:
        row.fail("cuda", "not major.minor (like 13.5)")
    return FloorOnly(**fields) if row.ok else None


def driver_floor(row: Row) -> DriverFloor | None:
    """Build one ``[[minor_version_compat]]`` row of cuda_driver.toml."""
    row.only({"cuda_major", "driver", "source"})
    fields: dict[str, Any] = {
        "cuda_major": row.integer("cuda_major"),
        "source": row.source(),
        "driver": row.driver("driver"),
    }
    return DriverFloor(**fields) if row.ok else None


def exclusion(row: Row) -> Exclusion | None:
    """Build one ``[[exclude]]`` row of exclusions.toml."""
    row.only({"name", "versions", "reason", "source"})
    name = row.text("name")
    fields: dict[str, Any] = {
        "versions": row.specifier("versions"),
        "reason": row.text("reason"),
        "source": row.source(),
    }
    if not row.ok or name is None:
        return None
    return Exclusion(name=canonicalize_name(name), **fields)
