"""A wheel's core metadata without downloading the wheel: cache, then PEP 658, then HTTP Range.

The solver needs ``Requires-Dist`` and ``Requires-Python`` of many candidate wheels, some of
them hundreds of megabytes. The chain is: the disk cache (by filename and sha256, forever); the
PEP 658/714 ``.metadata`` file when the index offers one (its hash checked); then byte-range reads
of the wheel's zip (``lazy_wheel``: two or three requests). A cache entry that does not parse is
fetched again and replaced, never a permanent failure. A server that ignores ``Range`` sends
the whole wheel, which is used as the last resort. No sdist is ever built.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.metadata import parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from cudaenv.errors import IndexError_
from cudaenv.solver.lazy_wheel import BadWheel, read_member

if TYPE_CHECKING:
    import httpx
    from packaging.utils import NormalizedName

    from cudaenv.solver.cache import DiskCache
    from cudaenv.solver.index import Http
    from cudaenv.solver.links import FileLink

__all__ = ["BadMetadata", "CoreMetadata", "fetch_metadata"]

_log = logging.getLogger(__name__)
_IDENTITY = {"Accept-Encoding": "identity"}


class BadMetadata(ValueError):
    """METADATA that lacks a name or version, or has an unparseable field the solver needs."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreMetadata:
    """The fields of a distribution's core metadata that resolution uses."""

    name: NormalizedName
    version: Version
    requires_dist: tuple[Requirement, ...] = ()
    requires_python: SpecifierSet | None = None
    provides_extra: tuple[NormalizedName, ...] = ()

    @classmethod
    def from_bytes(cls, data: bytes | str) -> CoreMetadata:
        """Parse METADATA (RFC 822 style, any Metadata-Version); raises :class:`BadMetadata`."""
        raw, _unparsed = parse_email(data)
        if "name" not in raw or "version" not in raw:
            raise BadMetadata("METADATA has no Name or no Version")
        try:
            return cls(
                name=canonicalize_name(raw["name"]),
                version=Version(raw["version"]),
                requires_dist=tuple(Requirement(r) for r in raw.get("requires_dist", ())),
                requires_python=_specifiers(raw.get("requires_python")),
                provides_extra=tuple(canonicalize_name(e) for e in raw.get("provides_extra", ())),
            )
        except (InvalidVersion, InvalidRequirement, InvalidSpecifier) as e:
            raise BadMetadata(str(e)) from e


def _specifiers(value: str | None) -> SpecifierSet | None:
    return SpecifierSet(value) if value and value.strip() else None


def fetch_metadata(link: FileLink, *, http: Http, cache: DiskCache, offline: bool) -> CoreMetadata:
    """The link's metadata through the chain; every failure is an :class:`IndexError_`."""
    cached = _from_cache(link, cache, offline=offline)
    if cached is not None:
        return cached
    if offline:
        raise IndexError_(
            f"the metadata of {link.filename} is not in the cache, and --offline forbids "
            "fetching it",
            hint="run the same command once without --offline to fill the cache",
        )
    data = _from_pep658(link, http)
    if data is None:
        data = _from_wheel(link, http)
    meta = _parse(link, data)
    cache.put_metadata(link, data)
    return meta


def _from_cache(link: FileLink, cache: DiskCache, *, offline: bool) -> CoreMetadata | None:
    """The cached metadata, or None when there is none or the entry is corrupt.

    A corrupt entry (it does not parse, or names another project) is never trusted: it is
    fetched again and overwritten by the fresh copy, so it cannot fail every later run.
    """
    data = cache.metadata(link)
    if data is None:
        return None
    try:
        return _parse(link, data)
    except IndexError_ as e:
        if offline:
            raise IndexError_(
                f"the cached metadata of {link.filename} is corrupt ({e.message}), and "
                "--offline forbids fetching it again",
                hint="run the same command once without --offline to replace the cache entry",
            ) from e
        _log.debug("%s: corrupt cached METADATA (%s); fetching it again", link.filename, e)
        return None


def _parse(link: FileLink, data: bytes) -> CoreMetadata:
    try:
        meta = CoreMetadata.from_bytes(data)
    except BadMetadata as e:
        raise IndexError_(f"the METADATA of {link.filename} is invalid: {e}") from e
    if link.name is not None and meta.name != link.name:
        raise IndexError_(
            f"the METADATA of {link.filename} names another project ({meta.name}): "
            "the index serves an inconsistent file"
        )
    return meta


def _from_pep658(link: FileLink, http: Http) -> bytes | None:
    if not link.core_metadata:
        return None
    resp = http.get(link.metadata_url)
    if resp.status_code != 200:
        _log.debug("%s: PEP 658 metadata answered %s", link.filename, resp.status_code)
        return None
    expected = link.metadata_sha256
    if expected and hashlib.sha256(resp.content).hexdigest() != expected.lower():
        _log.debug("%s: PEP 658 metadata hash mismatch; reading the wheel", link.filename)
        return None
    return resp.content


def _from_wheel(link: FileLink, http: Http) -> bytes:
    if not link.is_wheel:
        raise IndexError_(
            f"{link.filename} is not a wheel; cudaenv reads metadata only from wheels and "
            "never builds source distributions",
            hint="pick a version that publishes wheels for your platform",
        )
    prefer = link.filename.split("-", 1)[0] + "-"
    try:
        return read_member(
            lambda n: _tail(link, http, n), lambda a, b: _range(link, http, a, b), prefer=prefer
        )
    except BadWheel as e:
        raise IndexError_(f"could not read the METADATA of {link.filename}: {e}") from e


def _total(resp: httpx.Response) -> int | None:
    match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", resp.headers.get("Content-Range", ""))
    return int(match.group(3)) if match else None


def _tail(link: FileLink, http: Http, n: int) -> tuple[int, bytes]:
    resp = http.get(link.url, headers={"Range": f"bytes=-{n}", **_IDENTITY})
    if resp.status_code == 206 and (total := _total(resp)) is not None:
        return total, resp.content
    if resp.status_code == 416:
        resp = http.get(link.url, headers=_IDENTITY)
    if resp.status_code != 200:
        raise http.failure(resp, what=link.filename)
    _log.debug("%s: the server ignored Range; read the whole wheel", link.filename)
    return len(resp.content), resp.content


def _range(link: FileLink, http: Http, start: int, end: int) -> bytes:
    resp = http.get(link.url, headers={"Range": f"bytes={start}-{end - 1}", **_IDENTITY})
    if resp.status_code == 206:
        return resp.content
    if resp.status_code == 200:
        _log.debug("%s: the server ignored Range; read the whole wheel", link.filename)
        return resp.content[start:end]
    raise http.failure(resp, what=link.filename)
