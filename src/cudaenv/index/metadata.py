"""A wheel's core metadata without downloading the wheel: cache, then PEP 658, then HTTP Range.

The solver needs ``Requires-Dist`` and ``Requires-Python`` of many candidate wheels, some of
them hundreds of megabytes. The chain is: the disk cache (by filename and sha256, forever); the
PEP 658/714 ``.metadata`` file when the index offers one (its hash checked); then byte-range reads
of the wheel's zip (``lazy_wheel``: two or three requests). A cache entry that does not parse is
fetched again and replaced, never a permanent failure. A server that ignores ``Range`` sends
the whole wheel, which is used as the last resort. No sdist is ever built. Every body is read
with a limit on its decoded size (:mod:`cudaenv.net.limits`): METADATA up to :data:`MAX_METADATA`, a
range the bytes asked for, a whole wheel into a temporary file (never memory) up to the size its
page states, else :data:`MAX_WHEEL` (and a second more for every 64 KiB of it); past it, one clear
error. Every read is a streamed GET of :class:`~cudaenv.net.http.Http`, retried and counted as page
GETs are.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import tempfile
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from cudaenv.errors import IndexError_
from cudaenv.index.lazy_wheel import BadWheel, read_member
from cudaenv.net import limits
from cudaenv.net.limits import MIN_RATE, BodyTooLarge

if TYPE_CHECKING:
    from collections.abc import Iterator

    from packaging.utils import NormalizedName

    from cudaenv.index.cache import DiskCache
    from cudaenv.index.links import FileLink
    from cudaenv.net.http import Http, Response

__all__ = ["MAX_METADATA", "MAX_WHEEL", "BadMetadata", "CoreMetadata", "fetch_metadata"]

_log = logging.getLogger(__name__)
_IDENTITY = {"Accept-Encoding": "identity"}  # the bytes as stored: Range offsets, no inflating
MAX_METADATA = limits.MAX_METADATA  # module values: tests make them small
MAX_WHEEL = limits.MAX_WHEEL


_FIELDS = frozenset({"name", "version", "requires-dist", "requires-python", "provides-extra"})


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
        """Parse METADATA (RFC 822 style, any Metadata-Version); raises :class:`BadMetadata`.
        The fields are read as ``packaging.metadata.parse_email`` reads them (:mod:`.rfc822`)."""
        from cudaenv.index.rfc822 import headers

        raw = headers(data.encode("utf-8") if isinstance(data, str) else data, _FIELDS)
        if "name" not in raw or "version" not in raw:
            raise BadMetadata("METADATA has no Name or no Version")
        python = raw.get("requires-python")
        try:
            return cls(
                name=canonicalize_name(raw["name"][0]),
                version=Version(raw["version"][0]),
                requires_dist=tuple(Requirement(r) for r in raw.get("requires-dist", ())),
                requires_python=_specifiers(python[0] if python else None),
                provides_extra=tuple(canonicalize_name(e) for e in raw.get("provides-extra", ())),
            )
        except (InvalidVersion, InvalidRequirement, InvalidSpecifier) as e:
            raise BadMetadata(str(e)) from e


def _specifiers(value: str | None) -> SpecifierSet | None:
    return SpecifierSet(value) if value and value.strip() else None


def fetch_metadata(
    link: FileLink, *, http: Http | None, cache: DiskCache, offline: bool
) -> CoreMetadata:
    """The link's metadata through the chain; every failure is an :class:`IndexError_`.
    A ``file:`` link (a find-links folder, a ``file://`` index) is read from disk instead."""
    cached = _from_cache(link, cache, offline=offline)
    if cached is not None:
        return cached
    if http is None or link.url.startswith("file:"):
        return _parse(link, _from_local(link))
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
        meta = _parse(link, data)
    except IndexError_ as e:
        if offline:
            raise IndexError_(
                f"the cached metadata of {link.filename} is corrupt ({e.message}), and "
                "--offline forbids fetching it again",
                hint="run the same command once without --offline to replace the cache entry",
            ) from e
        _log.debug("%s: corrupt cached METADATA (%s); fetching it again", link.filename, e)
        return None
    return meta


def _parse(link: FileLink, data: bytes) -> CoreMetadata:
    try:
        meta = CoreMetadata.from_bytes(data)
    except BadMetadata as e:
        raise IndexError_(f"the METADATA of {link.filename} is invalid: {e}") from e
    return _checked(link, meta)


def _checked(link: FileLink, meta: CoreMetadata) -> CoreMetadata:
    if link.name is not None and meta.name != link.name:
        raise IndexError_(
            f"the METADATA of {link.filename} names another project ({meta.name}): "
            "the index serves an inconsistent file"
        )
    return meta


def _from_pep658(link: FileLink, http: Http) -> bytes | None:
    if not link.core_metadata:
        return None
    with http.stream(link.metadata_url, _IDENTITY, what=link.filename) as resp:
        if resp.status_code != 200:
            _log.debug("%s: PEP 658 metadata answered %s", link.filename, resp.status_code)
            return None
        data = _read(resp, http, MAX_METADATA, f"the METADATA of {link.filename}")
    expected = link.metadata_sha256
    if expected and hashlib.sha256(data).hexdigest() != expected.lower():
        _log.debug("%s: PEP 658 metadata hash mismatch; reading the wheel", link.filename)
        return None
    return data


def _from_wheel(link: FileLink, http: Http | None) -> bytes:
    if not link.is_wheel:
        raise IndexError_(
            f"{link.filename} is not a wheel; cudaenv reads metadata only from wheels and "
            "never builds source distributions",
            hint="pick a version that publishes wheels for your platform",
        )
    assert http is not None  # a wheel on disk is read by _from_local
    prefer = link.filename.split("-", 1)[0] + "-"
    with contextlib.ExitStack() as stack:
        wheel = _RemoteWheel(link, http, stack)
        try:
            data = read_member(wheel.tail, wheel.range, prefer=prefer)
        except BadWheel as e:
            raise IndexError_(f"could not read the METADATA of {link.filename}: {e}") from e
    if len(data) > MAX_METADATA:
        raise _too_large(f"the METADATA of {link.filename}", MAX_METADATA)
    return data


def _from_local(link: FileLink) -> bytes:
    """The METADATA of a wheel on disk (``file:`` URL), from its zip directory."""
    from cudaenv.index.pages import local_path

    path = local_path(link.url)
    if not link.is_wheel:
        return _from_wheel(link, None)  # the same "not a wheel" error
    try:
        with path.open("rb") as f:
            size = path.stat().st_size

            def tail(n: int) -> tuple[int, bytes]:
                f.seek(max(0, size - n))
                return size, f.read()

            def span(start: int, end: int) -> bytes:
                f.seek(start)
                return f.read(end - start)

            return read_member(tail, span, prefer=link.filename.split("-", 1)[0] + "-")
    except OSError as e:
        raise IndexError_(f"could not read {path}: {e.strerror or e}") from e
    except BadWheel as e:
        raise IndexError_(f"could not read the METADATA of {link.filename}: {e}") from e


class _RemoteWheel:
    """A wheel's bytes as ``read_member`` asks for them: by HTTP Range, or, once the server has
    ignored a Range and sent the whole wheel, from ``spool`` (a temporary file, never memory,
    made then and closed by ``stack``: most servers honour Range, and a file costs a syscall
    heavy enough to count over a hundred wheels)."""

    def __init__(self, link: FileLink, http: Http, stack: contextlib.ExitStack):
        self.link, self.http, self.stack = link, http, stack
        self._spool: IO[bytes] | None = None
        self.size: int | None = None  # set once the whole wheel is in the spool

    @property
    def spool(self) -> IO[bytes]:
        if self._spool is None:
            spool = tempfile.TemporaryFile(prefix="cudaenv-wheel-")
            self._spool = self.stack.enter_context(spool)
        return self._spool

    def _get(self, headers: dict[str, str]) -> contextlib.AbstractContextManager[Response]:
        return self.http.stream(self.link.url, {**headers, **_IDENTITY}, what=self.link.filename)

    def tail(self, n: int) -> tuple[int, bytes]:
        with self._get({"Range": f"bytes=-{n}"}) as resp:
            if resp.status_code == 206 and (total := _total(resp)) is not None:
                return total, _read(resp, self.http, n, f"a range of {self.link.filename}")
            if resp.status_code != 416:
                return self._whole(resp, n)
        with self._get({}) as resp:
            return self._whole(resp, n)

    def range(self, start: int, end: int) -> bytes:
        if self.size is None:
            with self._get({"Range": f"bytes={start}-{end - 1}"}) as resp:
                if resp.status_code == 206:
                    return _read(resp, self.http, end - start, f"a range of {self.link.filename}")
                self._whole(resp, 0)
        self.spool.seek(start)
        return self.spool.read(end - start)

    def _whole(self, resp: Response, n: int) -> tuple[int, bytes]:
        """Spool a 200 response (the server ignored Range); return (size, the last n bytes)."""
        if resp.status_code != 200:
            raise self.http.failure(resp, what=self.link.filename)
        _log.debug("%s: the server ignored Range; download the wheel", self.link.filename)
        self.spool.seek(0)
        self.spool.truncate()
        stated = self.link.size
        limit = stated if stated is not None and 0 < stated < MAX_WHEEL else MAX_WHEEL
        resp.allow(self.http.total + limit / MIN_RATE)  # a download now, not a range read
        for chunk in _chunks(resp, self.http, self.link.filename, limit):
            self.spool.write(chunk)
        self.size = self.spool.tell()
        self.spool.seek(max(0, self.size - n))
        return self.size, self.spool.read(n)


def _total(resp: Response) -> int | None:
    match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", resp.headers.get("Content-Range", ""))
    return int(match.group(3)) if match else None


def _read(resp: Response, http: Http, limit: int, what: str) -> bytes:
    return b"".join(_chunks(resp, http, what, limit))  # at most limit bytes in memory


def _chunks(resp: Response, http: Http, what: str, limit: int) -> Iterator[bytes]:
    try:
        yield from http.chunks(resp, what, limit)
    except BodyTooLarge:
        raise _too_large(what, limit) from None


def _too_large(what: str, limit: int) -> IndexError_:
    units = ((30, "GiB"), (20, "MiB"), (10, "KiB"), (0, "bytes"))
    size = next(f"{limit / (1 << s):g} {u}" for s, u in units if limit >= 1 << s)
    return IndexError_(
        f"{what} is larger than {size}, the most cudaenv reads for a wheel's metadata",
        hint="the index serves unusual files; use an index that offers PEP 658 metadata or "
        "honours HTTP Range requests (PyPI does both)",
    )
