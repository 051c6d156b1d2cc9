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
is the dotted key (``tool.cudaenv.min-cuda``), like ``PylockValidationError.context``. The stack's
keys and each relaxed pin are written and read by the values' own codec
(:meth:`~cudaenv.resolution.Stack.to_table`, :meth:`~cudaenv.resolution.Relaxation.to_dict`),
which the solver's memo uses too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from cudaenv.errors import LockError, UsageError
from cudaenv.lock.urls import without_auth
from cudaenv.request import FrameworkRequest, Target
from cudaenv.resolution import GROUPS, FieldError, Relaxation, Resolution, Stack

if TYPE_CHECKING:
    from collections.abc import Mapping

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
        **r.stack.to_table(),
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


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolFacts:
    """The decoded top-level table; :meth:`resolution` adds the pins."""

    target: Target
    frameworks: tuple[FrameworkRequest, ...]
    stack: Stack
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
            stack=self.stack,
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
        stack=_stack(table),
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


def _stack(table: Mapping[str, Any]) -> Stack:
    try:
        return Stack.from_table(table)
    except FieldError as e:
        raise _bad(f"tool.cudaenv.{e.key}", e.what) from e


def _relaxation(item: object, i: int) -> Relaxation:
    ctx = f"tool.cudaenv.relaxed[{i}]"
    if not isinstance(item, dict):
        raise _bad(ctx, "not a table")
    try:
        return Relaxation.from_dict(item)
    except FieldError as e:
        raise _bad(f"{ctx}.{e.key}" if e.key else ctx, e.what) from e


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
