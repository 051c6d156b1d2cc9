"""pip's configuration files, read for the three index settings as pip itself reads them.

pip (``pip._internal.configuration``) loads, each file overriding what the earlier ones set:
the global files (``pip/pip.conf`` under each ``$XDG_CONFIG_DIRS`` folder, default
``/etc/xdg``, then ``/etc/pip.conf``), the user files (``~/.pip/pip.conf``, then
``$XDG_CONFIG_HOME/pip/pip.conf``, default ``~/.config``; skipped when ``PIP_CONFIG_FILE``
names a file that exists), the site file (``pip.conf`` in the prefix of the running
interpreter), and last ``PIP_CONFIG_FILE``. ``PIP_CONFIG_FILE=/dev/null`` (``os.devnull``)
loads no file at all. Within the result, the ``[install]`` section overrides ``[global]``.
A file that cannot be read or parsed is skipped, as pip skips what it cannot load.
"""

from __future__ import annotations

import configparser
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cudaenv.settings.layers import Layer, Location, as_location

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["config_files", "read"]

_KEYS = ("index-url", "extra-index-url", "find-links")
_SECTIONS = ("global", "install")  # later overrides earlier, whatever the file
_log = logging.getLogger(__name__)


def config_files(environ: Mapping[str, str]) -> list[Path]:
    """The files pip would load, in the order it loads them (later ones override)."""
    env_file = environ.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        return []
    dirs = (environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(os.pathsep)
    files = [Path(d) / "pip" / "pip.conf" for d in dirs if d]
    files.append(Path("/etc/pip.conf"))
    if not (env_file and Path(env_file).exists()):
        home = Path(environ.get("HOME") or Path.home())
        user_dir = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
        files += [home / ".pip" / "pip.conf", user_dir / "pip" / "pip.conf"]
    files.append(Path(sys.prefix) / "pip.conf")
    if env_file:
        files.append(Path(env_file))
    return files


def read(environ: Mapping[str, str]) -> Layer:
    """The index settings pip's files give, each with the file that gave it."""
    found: dict[tuple[str, str], tuple[str, Path]] = {}
    for path in config_files(environ):
        if not path.is_file():
            continue
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError) as e:
            _log.debug("pip configuration %s skipped: %s", path, e)
            continue
        for section in _SECTIONS:
            if parser.has_section(section):
                for name, value in parser.items(section):
                    key = name.replace("_", "-").lower()
                    if key in _KEYS:
                        found[section, key] = (value, path)
    chosen = {key: found[s, key] for s in _SECTIONS for key in _KEYS if (s, key) in found}
    return Layer(
        tool="pip",
        default=_one(chosen.get("index-url")),
        extras=_many(chosen.get("extra-index-url")),
        find_links=_many(chosen.get("find-links")),
    )


def _one(entry: tuple[str, Path] | None) -> Location | None:
    locations = _many(entry)
    return locations[0] if locations else None


def _many(entry: tuple[str, Path] | None) -> tuple[Location, ...]:
    if entry is None:
        return ()
    value, path = entry
    return tuple(as_location(v, str(path), "pip") for v in value.split())
