"""Which indexes and find-links locations to read, found where pip and uv look for them.

A user behind a mirror or with a private index has told pip or uv so already; cudaenv must not
quietly use PyPI instead. Each of the three settings (the default index, the extra indexes, the
find-links locations) is taken from the first of these layers that sets it:

1. cudaenv's flags: ``--index-url``, ``--extra-index-url``, ``--find-links``;
2. pip's environment: ``PIP_INDEX_URL``, ``PIP_EXTRA_INDEX_URL``, ``PIP_FIND_LINKS``;
3. uv's environment: ``UV_DEFAULT_INDEX`` / ``UV_INDEX_URL``, ``UV_INDEX`` +
   ``UV_EXTRA_INDEX_URL``, ``UV_FIND_LINKS``;
4. pip's configuration files, read as pip reads them (:mod:`.pipconf`);
5. uv's configuration files, read as uv reads them (:mod:`.uvconf`);

and PyPI is the default index when no layer names one. With several indexes, the strategy is
uv's ``first-index`` (each project from the first index, extras before the default, that has
it: a public package never shadows a private one), except when the extra indexes were named by
pip's own settings: pip searches every index for the best version, and a user who configured
pip expects what pip would pick (``unsafe-best-match``, in uv's words). ``--index-strategy``
or ``UV_INDEX_STRATEGY`` choose either. Values only; nothing here touches the network.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cudaenv.errors import UsageError
from cudaenv.settings.layers import Layer, Location, as_location

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "BEST_MATCH",
    "FIRST_INDEX",
    "PYPI",
    "STRATEGIES",
    "IndexSettings",
    "Layer",
    "Location",
    "as_location",
    "read",
]

PYPI = "https://pypi.org/simple"
FIRST_INDEX = "first-index"
BEST_MATCH = "unsafe-best-match"
STRATEGIES = (FIRST_INDEX, BEST_MATCH)


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexSettings:
    """The indexes and find-links locations a solve reads, and how it picks among indexes."""

    default: Location = field(default_factory=lambda: Location(url=PYPI, origin="PyPI"))
    extras: tuple[Location, ...] = ()
    find_links: tuple[Location, ...] = ()
    strategy: str = FIRST_INDEX
    strategy_origin: str = ""

    @classmethod
    def single(cls, url: str, origin: str = "--index-url") -> IndexSettings:
        """Exactly one index and nothing else (a lock's own index, tests)."""
        return cls(default=Location(url=url.rstrip("/"), origin=origin, tool="cudaenv"))

    @property
    def indexes(self) -> tuple[Location, ...]:
        """The indexes in the order they are searched: uv's, extras first, the default last."""
        return (*self.extras, self.default)

    def describe(self) -> list[str]:
        """One line per location (URLs without credentials), for ``-v`` and ``--json``."""
        from cudaenv.net.auth import without_auth

        lines = [f"index: {without_auth(x.url)} ({x.origin})" for x in self.indexes]
        lines += [f"find-links: {without_auth(x.url)} ({x.origin})" for x in self.find_links]
        if len(self.indexes) > 1:
            lines.append(f"index strategy: {self.strategy} ({self.strategy_origin})")
        return lines


def _index(location: Location) -> Location:
    """An index URL without its trailing slash (pages are at ``URL/NAME/``)."""
    return replace(location, url=location.url.rstrip("/") or location.url)


def _flags(
    index_url: str | None,
    extra_index_urls: Sequence[str],
    find_links: Sequence[str],
    strategy: str | None,
) -> Layer:
    return Layer(
        tool="cudaenv",
        default=_given(index_url, "--index-url") if index_url else None,
        extras=tuple(_given(u, "--extra-index-url") for u in extra_index_urls),
        find_links=tuple(as_location(u, "--find-links", "cudaenv") for u in find_links),
        strategy=strategy,
        strategy_origin="--index-strategy",
    )


_WEB = ("http", "https")


def _given(value: str, flag: str) -> Location:
    """An index given by a flag: an http(s) URL with a host, a ``file:`` URL or a path of
    this machine that exists; else UsageError, before any request (a word that is neither
    would be read as a folder that is not there, and every project "missing" from it). pip's
    and uv's own settings, and find-links, are taken as pip takes them: a missing folder is
    skipped with a warning."""
    from urllib.request import url2pathname  # urllib.request imports http.client: only here

    location = as_location(value, flag, "cudaenv")
    parts = urlsplit(location.url)
    if parts.scheme in _WEB and parts.hostname:
        return location
    if parts.scheme == "file" and Path(url2pathname(parts.path)).exists():
        return location
    if parts.scheme == "file" and "://" in value:
        why = "names no folder that exists"
    elif parts.scheme in _WEB:
        why = "is not a URL with a host"
    else:  # a word read as a path, or another scheme
        why = "is neither an http(s) URL nor a folder on this machine"
    raise UsageError(f"{flag} {value!r} {why}", hint=f"give the index's URL, e.g. {flag} {PYPI}")


def _pip_env(environ: Mapping[str, str]) -> Layer:
    def each(name: str) -> tuple[Location, ...]:
        return tuple(as_location(u, name, "pip") for u in environ.get(name, "").split())

    index = environ.get("PIP_INDEX_URL", "").strip()
    return Layer(
        tool="pip",
        default=as_location(index, "PIP_INDEX_URL", "pip") if index else None,
        extras=each("PIP_EXTRA_INDEX_URL"),
        find_links=each("PIP_FIND_LINKS"),
    )


def _uv_env(environ: Mapping[str, str]) -> Layer:
    def url_of(entry: str) -> str:  # ``name=url`` or ``url``
        name, eq, url = entry.partition("=")
        return url if eq and "://" not in name else entry

    default = None
    for name in ("UV_DEFAULT_INDEX", "UV_INDEX_URL"):
        value = environ.get(name, "").strip()
        if value and default is None:
            default = as_location(url_of(value), name, "uv")
    extras = [as_location(url_of(e), "UV_INDEX", "uv") for e in _split(environ, "UV_INDEX")]
    extra = "UV_EXTRA_INDEX_URL"
    extras += [as_location(u, extra, "uv") for u in _split(environ, extra)]
    links = environ.get("UV_FIND_LINKS", "").replace(",", " ").split()  # comma-separated
    strategy = environ.get("UV_INDEX_STRATEGY", "").strip() or None
    return Layer(
        tool="uv",
        default=default,
        extras=tuple(extras),
        find_links=tuple(as_location(u, "UV_FIND_LINKS", "uv") for u in links),
        strategy=strategy,
        strategy_origin="UV_INDEX_STRATEGY",
    )


def _split(environ: Mapping[str, str], name: str) -> list[str]:
    """A space-separated list of URLs (uv's and pip's form in the environment)."""
    return environ.get(name, "").split()


def read(
    *,
    index_url: str | None = None,
    extra_index_urls: Sequence[str] = (),
    find_links: Sequence[str] = (),
    strategy: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> IndexSettings:
    """The settings from the flags given, the environment and pip's and uv's files."""
    from cudaenv.settings import pipconf, uvconf

    env = os.environ if environ is None else environ
    layers = [
        _flags(index_url, extra_index_urls, find_links, strategy),
        _pip_env(env),
        _uv_env(env),
    ]
    layers += [pipconf.read(env), uvconf.read(env, cwd or Path.cwd())]
    return combine(layers)


def combine(layers: Iterable[Layer]) -> IndexSettings:
    """Each setting from the first layer that sets it (see the module's docstring)."""
    layers = list(layers)
    default = next((_index(x.default) for x in layers if x.default is not None), None)
    extras = tuple(map(_index, next((x.extras for x in layers if x.extras), ())))
    links = next((x.find_links for x in layers if x.find_links), ())
    chosen = next((x for x in layers if x.strategy), None)
    if chosen is not None and chosen.strategy not in STRATEGIES:
        raise UsageError(
            f"{chosen.strategy_origin} {chosen.strategy!r} is not an index strategy cudaenv knows",
            hint=f"use --index-strategy {FIRST_INDEX} or --index-strategy {BEST_MATCH}",
        )
    if chosen is not None and chosen.strategy is not None:
        strategy, why = chosen.strategy, chosen.strategy_origin
    elif extras and extras[0].tool == "pip":
        strategy, why = BEST_MATCH, "pip's rule for its extra-index-url"
    else:
        strategy, why = FIRST_INDEX, "the default"
    return IndexSettings(
        default=default or Location(url=PYPI, origin="PyPI, no index was configured"),
        extras=tuple(x for x in extras if default is None or x.url != default.url),
        find_links=links,
        strategy=strategy,
        strategy_origin=why,
    )
