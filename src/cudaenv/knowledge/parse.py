"""Reading the knowledge TOML files field by field, collecting every problem instead of the first.

A contributor who adds a TensorFlow line should see all of their mistakes in one run, each named
by file and dotted path (``tensorflow.toml: lines."2.15".cudnn: not a version ('8.x')``), the way
packaging's ``Metadata.from_raw(validate=True)`` gathers its errors. :class:`Row` wraps one TOML
table; each typed getter either returns the parsed value or records a problem and returns None,
and the caller checks :attr:`Row.ok` before building a value.
"""

from __future__ import annotations

import re
import string
from typing import TYPE_CHECKING, Any, TypeVar

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from cudaenv._toml import tomllib
from cudaenv.driver import DriverVersion, InvalidDriverVersion

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

__all__ = ["Problems", "Row", "read_toml"]

T = TypeVar("T")

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_PYPI_SOURCE = re.compile(r"^PyPI metadata of [A-Za-z0-9][A-Za-z0-9._-]*==\S+$")
_TOML_LINE = re.compile(r"at line (\d+)")
_PARSE_ERRORS = (InvalidVersion, InvalidSpecifier, InvalidRequirement, InvalidDriverVersion)
PLACEHOLDERS = frozenset({"site", "prefix"})


class Problems:
    """Every problem found so far, each one line: ``file: dotted.path: what is wrong``."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")


def dotted(path: str, key: str | int) -> str:
    """Extend a dotted TOML path by a key (quoted unless bare) or an array index."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    part = key if _BARE_KEY.match(key) else f'"{key}"'
    return f"{path}.{part}" if path else part


def read_toml(path: Path, problems: Problems) -> dict[str, Any] | None:
    """Parse one file; a missing file or a syntax error becomes a problem naming file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.add(path.name, f"missing (looked for {path})")
        return None
    except (OSError, UnicodeDecodeError) as e:
        problems.add(path.name, f"cannot be read: {e}")
        return None
    try:
        table: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        found = _TOML_LINE.search(str(e))
        where = f"{path.name}: line {found.group(1)}" if found else path.name
        problems.add(where, f"invalid TOML: {e}")
        return None
    return table


class Row:
    """One TOML table being read; problems go to the shared :class:`Problems` list."""

    def __init__(self, problems: Problems, file: str, path: str, table: object) -> None:
        self._problems = problems
        self.file = file
        self.path = path
        self._start = len(problems.items)
        if not isinstance(table, dict):
            self.fail(None, "not a table")
            table = {}
        self.table: dict[str, Any] = table

    @property
    def ok(self) -> bool:
        """True while no problem was recorded since this row was opened."""
        return len(self._problems.items) == self._start

    def fail(self, key: str | int | None, message: str) -> None:
        path = self.path if key is None else dotted(self.path, key)
        self._problems.add(f"{self.file}: {path}" if path else self.file, message)

    def child(self, key: str | int, table: object) -> Row:
        """The row of a sub-table (``bad."2.15.0"``, ``numpy[2]``)."""
        return Row(self._problems, self.file, dotted(self.path, key), table)

    def each(self, key: str, what: str) -> list[tuple[int, object]]:
        """The items of a list field, numbered for error paths; [] if absent."""
        return list(enumerate(self.get(key, list, what, required=False) or []))

    def only(self, allowed: Iterable[str]) -> None:
        """Record every key that is not a known field (typos must not pass silently)."""
        for key in sorted(set(self.table) - set(allowed)):
            self.fail(key, "unknown field")

    def get(self, key: str, kind: type[T], what: str, *, required: bool) -> T | None:
        if key not in self.table:
            if required:
                self.fail(key, "missing")
            return None
        value = self.table[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(key, f"not {what}")
            return None
        return value

    def text(self, key: str, *, required: bool = True) -> str | None:
        value = self.get(key, str, "a string", required=required)
        if value is not None and not value.strip():
            self.fail(key, "empty")
            return None
        return value

    def integer(self, key: str, *, required: bool = True) -> int | None:
        return self.get(key, int, "an integer", required=required)

    def flag(self, key: str, *, default: bool = False) -> bool:
        value = self.get(key, bool, "true or false", required=False)
        return default if value is None else value

    def _parsed(self, key: str, parse: Callable[[str], T], what: str, required: bool) -> T | None:
        raw = self.text(key, required=required)
        if raw is None:
            return None
        try:
            return parse(raw)
        except _PARSE_ERRORS:
            self.fail(key, f"not {what} ({raw!r})")
            return None

    def version(self, key: str, *, required: bool = True) -> Version | None:
        return self._parsed(key, Version, "a version", required)

    def driver(self, key: str, *, required: bool = True) -> DriverVersion | None:
        return self._parsed(key, DriverVersion, "an NVIDIA driver version", required)

    def specifier(self, key: str, *, required: bool = True) -> SpecifierSet | None:
        return self._parsed(key, SpecifierSet, "a version specifier", required)

    def strings(self, key: str, *, required: bool = False) -> tuple[str, ...]:
        items = self.get(key, list, "a list of strings", required=required) or []
        out = []
        for i, item in enumerate(items):
            if isinstance(item, str) and item.strip():
                out.append(item)
            else:
                self.fail(key, f"item {i} is not a non-empty string")
        return tuple(out)

    def requirements(self, key: str, *, required: bool = False) -> tuple[Requirement, ...]:
        out = []
        for item in self.strings(key, required=required):
            try:
                out.append(Requirement(item))
            except InvalidRequirement:
                self.fail(key, f"not a requirement ({item!r})")
        return tuple(out)

    def templates(self, key: str) -> tuple[str, ...]:
        """A list of templates (``path = ["{site}/nvidia/cuda_nvcc/bin"]``)."""
        holder = Row(self._problems, self.file, dotted(self.path, key), {})
        found = (holder.template(i, v) for i, v in self.each(key, "a list of strings"))
        return tuple(t for t in found if t is not None)

    def template(self, key: str | int, value: object) -> str | None:
        """A string with only ``{site}`` / ``{prefix}`` placeholders (checked, not filled)."""
        if not isinstance(value, str) or not value:
            self.fail(key, "not a non-empty string")
            return None
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
        except ValueError as e:
            self.fail(key, f"not a template ({e})")
            return None
        if names - PLACEHOLDERS:
            unknown = ", ".join(sorted(f"{{{n}}}" for n in names - PLACEHOLDERS))
            self.fail(key, f"unknown placeholder {unknown} (use {{site}} or {{prefix}})")
            return None
        return value

    def source(self) -> str | None:
        """The row's source: an https:// URL or 'PyPI metadata of NAME==VERSION'."""
        value = self.text("source")
        if value is None or value.startswith("https://") or _PYPI_SOURCE.match(value):
            return value
        self.fail("source", f"not an https:// URL or 'PyPI metadata of NAME==VERSION' ({value!r})")
        return None
