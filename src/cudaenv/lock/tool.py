"""The ``[tool.cudaenv]`` tables: cudaenv's facts that PEP 751 has no key for.

Top level: the frameworks asked for, the CUDA and cuDNN the environment holds (``cuda``,
``cudnn``: the pinned wheels'), what TensorFlow was built with (``built-with-cuda``,
``built-with-cudnn``), ``min-cuda``, the ``driver-floor`` (written the way NVIDIA writes driver
versions, ``525.60.13``), the target, the index, the recipes version and the cudaenv version,
and ``relaxed``: each framework's exact pin on an NVIDIA wheel that the lock meets with a newer
release of its major, with the NVIDIA rule that allows it (``[[tool.cudaenv.relaxed]]``:
package, pinned, chosen, by, rule, source, and why: the newest of the frameworks' pins, or the
lowest release that meets a requirement above them). Per package: the pin's group and why.
Decoding collects nothing and guesses nothing: a wrong value is a :class:`LockError` whose context
is the dotted key (``tool.cudaenv.min-cuda``), like ``PylockValidationError.context``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from cudaenv.driver import DriverVersion
from cudaenv.errors import LockError, UsageError
from cudaenv.lock.urls import without_auth
from cudaenv.request import FrameworkRequest, Target
from cudaenv.resolution import GROUPS, Relaxation, Resolution

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from cudaenv.resolution import Pin

__all__ = [
    "ToolFacts",
    "decode_tool",
    "encode_pin_tool",
    "encode_tool",
    "pin_tool",
]

_T = TypeVar("_T")
_FRAMEWORK_GROUP = frozenset({"tensorflow", "spacy", "tf-keras", "cupy"})


def encode_tool(
    resolution: Resolution, knowledge_version: str, cudaenv_version: str
) -> dict[str, Any]:
    """The top-level ``[tool.cudaenv]`` table (None values left out: TOML has no null)."""
    r = resolution
    table: dict[str, Any] = {
        "cudaenv-version": cudaenv_version,
        "knowledge-version": knowledge_version,
        "python": str(r.target.python),
        "platform": r.target.platform,
        "cuda": _str(r.cuda),
        "cudnn": _str(r.cudnn),
        "built-with-cuda": _str(r.built_cuda),
        "built-with-cudnn": _str(r.built_cudnn),
        "min-cuda": _str(r.min_cuda),
        "driver-floor": _str(r.driver_floor),
        "index-url": without_auth(r.index_url) if r.index_url else None,
        "notes": list(r.notes),
        "frameworks": [
            {"name": f.name, "specifier": str(f.specifier), "text": f.text} for f in r.frameworks
        ],
        "relaxed": [x.to_dict() for x in r.relaxed] or None,
    }
    return {k: v for k, v in table.items() if v is not None}


def encode_pin_tool(pin: Pin) -> dict[str, Any]:
    return {"group": pin.group, "why": list(pin.why)}


def _str(value: object | None) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolFacts:
    """The decoded top-level table; :meth:`resolution` adds the pins."""

    target: Target
    frameworks: tuple[FrameworkRequest, ...]
    cuda: Version | None
    cudnn: Version | None
    built_cuda: Version | None
    built_cudnn: Version | None
    min_cuda: Version | None
    driver_floor: DriverVersion | None
    index_url: str | None
    notes: tuple[str, ...]
    knowledge_version: str | None
    cudaenv_version: str | None
    relaxed: tuple[Relaxation, ...] = ()

    def resolution(self, pins: tuple[Pin, ...], fallback_index: str | None) -> Resolution:
        return Resolution(
            pins=pins,
            target=self.target,
            frameworks=self.frameworks,
            cuda=self.cuda,
            cudnn=self.cudnn,
            built_cuda=self.built_cuda,
            built_cudnn=self.built_cudnn,
            min_cuda=self.min_cuda,
            driver_floor=self.driver_floor,
            index_url=self.index_url or fallback_index,
            notes=self.notes,
            relaxed=self.relaxed,
        )


def decode_tool(table: Mapping[str, Any]) -> ToolFacts:
    """Parse ``[tool.cudaenv]``; LockError with the dotted key on the first bad value."""
    return ToolFacts(
        target=_target(table),
        frameworks=tuple(
            _framework(f, i) for i, f in enumerate(_get(table, "frameworks", list) or [])
        ),
        cuda=_version(table, "cuda"),
        cudnn=_version(table, "cudnn"),
        built_cuda=_version(table, "built-with-cuda"),
        built_cudnn=_version(table, "built-with-cudnn"),
        min_cuda=_version(table, "min-cuda"),
        driver_floor=_driver(table, "driver-floor"),
        index_url=_get(table, "index-url", str),
        notes=tuple(_strings(table, "notes")),
        knowledge_version=_get(table, "knowledge-version", str),
        cudaenv_version=_get(table, "cudaenv-version", str),
        relaxed=tuple(_relaxation(x, i) for i, x in enumerate(_get(table, "relaxed", list) or [])),
    )


def pin_tool(tool: Mapping[str, Any] | None, name: str) -> tuple[str, tuple[str, ...]]:
    """A package's group and why; a foreign package gets a group from its name."""
    table = (tool or {}).get("cudaenv")
    if not isinstance(table, dict):
        return _guess_group(name), ()
    group = _get(table, "group", str, context=f"packages.{name}.tool.cudaenv") or "other"
    if group not in GROUPS:
        raise _bad(f"packages.{name}.tool.cudaenv.group", f"not one of {', '.join(GROUPS)}")
    return group, tuple(_strings(table, "why", context=f"packages.{name}.tool.cudaenv"))


def _guess_group(name: str) -> str:
    if name in _FRAMEWORK_GROUP:
        return "framework"
    return "cuda" if name.startswith("nvidia-") else "other"


def _target(table: Mapping[str, Any]) -> Target:
    python = _get(table, "python", str)
    platform = _get(table, "platform", str)
    if python is None or platform is None:
        raise _bad("tool.cudaenv", "the target python and platform are missing")
    try:
        return Target.from_strings(python, platform)
    except UsageError as e:
        raise _bad("tool.cudaenv.python/platform", e.message) from e


def _framework(item: object, i: int) -> FrameworkRequest:
    ctx = f"tool.cudaenv.frameworks[{i}]"
    if not isinstance(item, dict):
        raise _bad(ctx, "not a table")
    name = _get(item, "name", str, context=ctx)
    spec = _get(item, "specifier", str, context=ctx)
    if not name or spec is None:
        raise _bad(ctx, "name and specifier are required")
    try:
        specifier = SpecifierSet(spec)
    except InvalidSpecifier as e:
        raise _bad(f"{ctx}.specifier", f"{spec!r} is not a version specifier") from e
    text = _get(item, "text", str, context=ctx) or spec
    return FrameworkRequest(name=canonicalize_name(name), specifier=specifier, text=text)


def _relaxation(item: object, i: int) -> Relaxation:
    ctx = f"tool.cudaenv.relaxed[{i}]"
    if not isinstance(item, dict):
        raise _bad(ctx, "not a table")
    keys = ("package", "by", "rule", "source", "why")
    text = {k: _get(item, k, str, context=ctx) for k in keys}
    pinned, chosen = (_get(item, k, str, context=ctx) for k in ("pinned", "chosen"))
    if not text["package"] or not text["by"] or not text["rule"] or not pinned or not chosen:
        raise _bad(ctx, "package, pinned, chosen, by and rule are required")
    return Relaxation(
        package=canonicalize_name(text["package"]),
        pinned=_parse(pinned, Version, f"{ctx}.pinned"),
        chosen=_parse(chosen, Version, f"{ctx}.chosen"),
        by=text["by"],
        rule=text["rule"],
        source=text["source"] or "",
        why=text["why"] or "",  # locks made before 2026-12 do not say
    )


def _version(table: Mapping[str, Any], key: str) -> Version | None:
    text = _get(table, key, str)
    return None if text is None else _parse(text, Version, f"tool.cudaenv.{key}")


def _driver(table: Mapping[str, Any], key: str) -> DriverVersion | None:
    text = _get(table, key, str)
    return None if text is None else _parse(text, DriverVersion, f"tool.cudaenv.{key}")


def _parse(text: str, parse: Callable[[str], _T], ctx: str) -> _T:
    try:
        return parse(text)
    except (InvalidVersion, ValueError) as e:
        raise _bad(ctx, f"{text!r} is not a version") from e


def _strings(table: Mapping[str, Any], key: str, context: str = "tool.cudaenv") -> list[str]:
    items = _get(table, key, list, context=context) or []
    if not all(isinstance(s, str) for s in items):
        raise _bad(f"{context}.{key}", "not a list of strings")
    return items


def _get(
    table: Mapping[str, Any], key: str, kind: type[_T], *, context: str = "tool.cudaenv"
) -> _T | None:
    value = table.get(key)
    if value is not None and not isinstance(value, kind):
        raise _bad(f"{context}.{key}", f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def _bad(context: str, what: str) -> LockError:
    return LockError(
        f"the lock's cudaenv table is invalid: {what}",
        context=context,
        hint="regenerate the lock with `cudaenv lock` rather than editing it by hand",
    )
