"""uv's configuration files, read for the index settings as uv reads them for ``uv pip``.

uv's rules (docs: "Configuration files"): ``UV_NO_CONFIG`` turns files off; ``UV_CONFIG_FILE``
names the one file to read, instead of any other; otherwise the project's file (``uv.toml``, or
a ``pyproject.toml`` with a ``[tool.uv]`` table, in the working directory or the nearest parent
that has one), the user's (``$XDG_CONFIG_HOME/uv/uv.toml``, default ``~/.config``) and the
system's (the first of ``$XDG_CONFIG_DIRS/uv/uv.toml``, default ``/etc/xdg``, and
``/etc/uv/uv.toml``) are merged: a value from the project beats the user's, which beats the
system's, and lists are joined, the project's first.

Keys read: ``index-url``, ``extra-index-url``, ``find-links``, ``index-strategy`` and the
``[[index]]`` tables (``default = true`` is the default index; ``explicit = true`` ones serve
only packages pinned to them in a project, so a solve never reads them), at the top level and
in the ``[pip]`` table that ``uv pip`` commands read, which wins. uv searches ``[[index]]``
entries before ``extra-index-url`` ones. Relative paths are relative to the file's folder.
cudaenv reads the project's file because ``uv pip install`` run in that folder would.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cudaenv._toml import tomllib
from cudaenv.settings.layers import Layer, Location, as_location

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

__all__ = ["config_files", "read"]

_log = logging.getLogger(__name__)


def _project_file(cwd: Path) -> Path | None:
    for folder in (cwd, *cwd.parents):
        if (folder / "uv.toml").is_file():
            return folder / "uv.toml"
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _table(pyproject):
            return pyproject
    return None


def config_files(environ: Mapping[str, str], cwd: Path) -> list[Path]:
    """The files uv would read, the one that wins first."""
    if environ.get("UV_NO_CONFIG", "").strip().lower() not in ("", "0", "false", "no"):
        return []
    if environ.get("UV_CONFIG_FILE"):
        return [Path(environ["UV_CONFIG_FILE"])]
    home = Path(environ.get("HOME") or Path.home())
    user = Path(environ.get("XDG_CONFIG_HOME") or home / ".config") / "uv" / "uv.toml"
    dirs = (environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":")
    system = [Path(d) / "uv" / "uv.toml" for d in dirs if d] + [Path("/etc/uv/uv.toml")]
    files = [_project_file(cwd), user, next((f for f in system if f.is_file()), None)]
    return [f for f in files if f is not None and f.is_file()]


def _table(path: Path) -> dict[str, Any]:
    """The uv settings of a file: all of a uv.toml, ``[tool.uv]`` of a pyproject.toml."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        _log.debug("uv configuration %s skipped: %s", path, e)
        return {}
    if path.name == "pyproject.toml":
        tool = data.get("tool")
        data = tool.get("uv") if isinstance(tool, dict) else None
    return data if isinstance(data, dict) else {}


def _settings(table: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The top-level settings, then the ``[pip]`` table's (which win for ``uv pip``)."""
    yield table
    pip = table.get("pip")
    if isinstance(pip, dict):
        yield pip


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


class _Merged:
    """Values of several files: the first file's scalar wins; lists join, first file first."""

    def __init__(self) -> None:
        self.default: Location | None = None
        self.indexes: list[Location] = []
        self.extras: list[Location] = []
        self.links: list[Location] = []
        self.strategy: tuple[str, str] | None = None

    def add(self, path: Path) -> None:
        def loc(url: str) -> Location:
            return as_location(url, str(path), "uv", base=path.parent)

        default: Location | None = None
        extras: list[Location] = []
        links: list[Location] = []
        strategy: tuple[str, str] | None = None
        for table in _settings(_table(path)):  # the [pip] table's values win
            default = next((loc(u) for u in _strings(table.get("index-url"))), default)
            extras = [loc(u) for u in _strings(table.get("extra-index-url"))] or extras
            links = [loc(u) for u in _strings(table.get("find-links"))] or links
            value = table.get("index-strategy")
            strategy = (value, str(path)) if isinstance(value, str) else strategy
        indexes, index_default = _index_tables(_table(path), loc)
        self.default = self.default or index_default or default
        self.indexes += indexes
        self.extras += extras
        self.links += links
        self.strategy = self.strategy or strategy


def _index_tables(
    table: dict[str, Any], loc: Callable[[str], Location]
) -> tuple[list[Location], Location | None]:
    """The ``[[index]]`` tables: (the indexes searched, in order; the default one)."""
    indexes: list[Location] = []
    default = None
    for entry in table.get("index", []) if isinstance(table.get("index"), list) else []:
        url = entry.get("url") if isinstance(entry, dict) else None
        if not isinstance(url, str) or entry.get("explicit") is True:
            continue
        if entry.get("default") is True:
            default = loc(url)
        else:
            indexes.append(loc(url))
    return indexes, default


def read(environ: Mapping[str, str], cwd: Path) -> Layer:
    """The index settings uv's files give, each with the file that gave it."""
    merged = _Merged()
    for path in config_files(environ, cwd):
        merged.add(path)
    strategy, origin = merged.strategy or (None, "")
    return Layer(
        tool="uv",
        default=merged.default,
        extras=(*merged.indexes, *merged.extras),
        find_links=tuple(merged.links),
        strategy=strategy,
        strategy_origin=origin,
    )
