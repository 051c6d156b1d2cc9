"""How the rows of torch.toml and jax.toml become values, every problem recorded.

The same approach as :mod:`cudaenv.knowledge.schema` (one builder per kind of row, every field
read so that every mistake is reported, None when anything was wrong), kept apart because these
frameworks state their NVIDIA wheels in their own METADATA: their rows hold only what METADATA
does not say, and what ties their fields together differs (a JAX line spans CUDA majors).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from cudaenv.knowledge.lines import FrozenMap, JaxLine, ReleaseNeeds, TorchLine, same_line
from cudaenv.knowledge.schema import _check_cuda, _notes, line_key

if TYPE_CHECKING:
    from collections.abc import Callable

    from packaging.version import Version

    from cudaenv.knowledge.parse import Row

__all__ = ["jax_line", "torch_line"]

T = TypeVar("T")

_TORCH_FIELDS = frozenset(
    {"cuda", "cudnn", "python", "min_cuda", "triton", "gpu_machines", "notes", "source"}
)
_JAX_FIELDS = frozenset(
    {"python", "extras", "since", "cudnn", "notes", "cpu_extra", "needs", "source"}
)
_MACHINES = frozenset({"x86_64", "aarch64"})


def torch_line(row: Row, key: str) -> TorchLine | None:
    """Build one ``[lines."2.N"]`` row of torch.toml."""
    row.only(_TORCH_FIELDS)
    line = line_key(row, key)
    cuda, cudnn, min_cuda = row.version("cuda"), row.version("cudnn"), row.version("min_cuda")
    fields: dict[str, Any] = {
        "python": row.specifier("python"),
        "triton": _triton(row),
        "gpu_machines": _machines(row),
        "notes": _notes(row, line),
        "source": row.source(),
    }
    for name, version in (("cuda", cuda), ("cudnn", cudnn)):
        if version is not None and len(version.release) != 2:
            row.fail(name, f"not major.minor (like 12.6), got {version}")
    _check_cuda(row, cuda, min_cuda)
    if not row.ok or line is None or cuda is None or cudnn is None or min_cuda is None:
        return None
    return TorchLine(
        line=line, cuda=cuda, cudnn=cudnn, cuda_major=cuda.major, min_cuda=min_cuda, **fields
    )


def _triton(row: Row) -> Requirement | None:
    raw = row.text("triton", required=False)
    if raw is None:
        return None
    try:
        req = Requirement(raw)
    except InvalidRequirement:
        row.fail("triton", f"not a requirement ({raw!r})")
        return None
    if canonicalize_name(req.name) != "triton":
        row.fail("triton", f"not a requirement on triton ({raw!r})")
        return None
    return req


def _machines(row: Row) -> tuple[str, ...]:
    machines = row.strings("gpu_machines", required=True)
    for machine in machines:
        if machine not in _MACHINES:
            row.fail("gpu_machines", f"not one of {', '.join(sorted(_MACHINES))} ({machine!r})")
    return machines


def jax_line(row: Row, key: str) -> JaxLine | None:
    """Build one ``[lines."0.N"]`` row of jax.toml."""
    row.only(_JAX_FIELDS)
    line = line_key(row, key)
    extras = _by_major(row, "extras", lambda sub, k: sub.text(k), required=True)
    since = _by_major(row, "since", lambda sub, k: _release(sub, k, line), required=False)
    cudnn = _by_major(row, "cudnn", lambda sub, k: sub.specifier(k), required=True)
    for name, table in (("since", since), ("cudnn", cudnn)):
        for major in sorted(set(table) - set(extras)):
            row.child(name, {}).fail(str(major), f"CUDA {major} has no entry in extras")
    for major in sorted(set(extras) - set(cudnn)):
        row.fail("cudnn", f"CUDA {major} is in extras but has no cuDNN range")
    fields: dict[str, Any] = {
        "python": row.specifier("python"),
        "notes": _notes(row, line),
        "cpu_extra": row.text("cpu_extra", required=False),
        "needs": _needs(row),
        "source": row.source(),
    }
    if not row.ok or line is None:
        return None
    return JaxLine(line=line, extras=extras, since=since, cudnn=cudnn, **fields)


def _needs(row: Row) -> tuple[ReleaseNeeds, ...]:
    """The ``[[lines."0.N".needs]]`` tables: a package of the line, the releases of it they
    cover, what those need, and the source."""
    out = []
    for i, item in row.each("needs", "an array of tables"):
        sub = row.child("needs", {}).child(i, item)
        if not isinstance(item, dict):
            sub.fail(None, "not a table")
        elif (needs := _release_needs(sub)) is not None:
            out.append(needs)
    return tuple(out)


def _release_needs(sub: Row) -> ReleaseNeeds | None:
    sub.only({"package", "versions", "requirements", "source"})
    package, versions = sub.text("package"), sub.specifier("versions")
    reqs, source = sub.requirements("requirements", required=True), sub.source()
    name = canonicalize_name(package) if package is not None else None
    if package is not None and name != package:
        sub.fail("package", f"not a normalized package name (write {name})")
    if not sub.ok or name is None or versions is None or not reqs or source is None:
        return None
    return ReleaseNeeds(package=name, versions=versions, requirements=reqs, source=source)


def _by_major(
    row: Row, field: str, parse: Callable[[Row, str], T | None], *, required: bool
) -> FrozenMap[int, T]:
    """A ``{ 12 = ..., 13 = ... }`` table keyed by CUDA major, each value parsed."""
    table = row.get(field, dict, "a table", required=required) or {}
    sub, out = row.child(field, table), {}
    if required and field in row.table and not table:
        row.fail(field, "empty")
    for key in table:
        if not key.isdigit():
            sub.fail(key, "not a CUDA major (like 12)")
        elif (value := parse(sub, key)) is not None:
            out[int(key)] = value
    return FrozenMap(out)


def _release(sub: Row, key: str, line: Version | None) -> Version | None:
    """A release that must belong to the row's line (``since = { 13 = "0.7.2" }``)."""
    version = sub.version(key)
    if version is not None and line is not None and not same_line(line, version):
        sub.fail(key, f"release {version} is not in line {line}")
        return None
    return version
