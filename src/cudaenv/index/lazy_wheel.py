"""Read one member of a remote zip with a few byte-range reads instead of a whole download.

A wheel's ``*.dist-info/METADATA`` is all the solver needs, and wheels such as TensorFlow's are
hundreds of megabytes. The zip layout lets us fetch: the tail (end-of-central-directory record,
often the whole central directory and the METADATA entry too), then the central directory if the
tail did not hold it, then the member's local entry. Two or three requests per wheel; ZIP64 is
handled. This module knows nothing of HTTP: it calls the two functions it is given.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["BadWheel", "read_member"]

_EOCD = struct.Struct("<4sHHHHIIH")
_ZIP64_LOCATOR = struct.Struct("<4sIQI")
_ZIP64_EOCD = struct.Struct("<4sQHHIIQQQQ")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_CENTRAL_LENGTHS = struct.Struct("<HHH")  # name, extra and comment lengths, at offset 28
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_MAX32 = 0xFFFFFFFF
_LOCAL_SLACK = 1024  # local extra fields may be longer than the central directory says
_MAX_MEMBER = 64 * 1024 * 1024  # METADATA is kilobytes; more is a broken or hostile wheel


class BadWheel(ValueError):
    """The remote file is not a zip we can read, or lacks the member."""


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    method: int
    crc: int
    csize: int
    usize: int
    offset: int


class _Remote:
    """The byte spans of the remote file fetched so far, and fetching of the missing ones."""

    def __init__(self, total: int, fetch: Callable[[int, int], bytes]):
        self.total = total
        self._fetch = fetch
        self._spans: list[tuple[int, bytes]] = []

    def add(self, start: int, data: bytes) -> None:
        self._spans.append((start, data))

    def read(self, start: int, end: int) -> bytes:
        start, end = max(0, start), min(end, self.total)
        for s, data in self._spans:
            if s <= start and end <= s + len(data):
                return data[start - s : end - s]
        for s, data in self._spans:  # the span ends inside a known one: fetch only the head
            if start < s <= end <= s + len(data):
                return self._get(start, s) + data[: end - s]
        return self._get(start, end)

    def _get(self, start: int, end: int) -> bytes:
        data = self._fetch(start, end)
        if len(data) != end - start:
            raise BadWheel(f"asked for {end - start} bytes at {start}, got {len(data)}")
        self.add(start, data)
        return data


def _find_eocd(tail: bytes) -> int:
    pos = len(tail)
    while (pos := tail.rfind(b"PK\x05\x06", 0, pos)) >= 0:
        if pos + _EOCD.size <= len(tail):
            comment = _EOCD.unpack_from(tail, pos)[7]
            if pos + _EOCD.size + comment <= len(tail):
                return pos
    raise BadWheel("no end-of-central-directory record: not a zip file")


def _central_directory(remote: _Remote, tail: bytes, tail_start: int) -> tuple[int, int]:
    """(offset, size) of the central directory, from the EOCD or the ZIP64 EOCD record."""
    pos = _find_eocd(tail)
    _sig, _d, _cd, _nd, count, size, offset, _c = _EOCD.unpack_from(tail, pos)
    locator_at = tail_start + pos - _ZIP64_LOCATOR.size
    if count != 0xFFFF and size != _MAX32 and offset != _MAX32:
        return offset, size
    if locator_at < 0:
        raise BadWheel("ZIP64 end record without its locator")
    locator = remote.read(locator_at, locator_at + _ZIP64_LOCATOR.size)
    sig, _disk, eocd64_at, _disks = _ZIP64_LOCATOR.unpack(locator)
    if sig != b"PK\x06\x07":
        raise BadWheel("ZIP64 end record without its locator")
    record = remote.read(eocd64_at, eocd64_at + _ZIP64_EOCD.size)
    fields = _ZIP64_EOCD.unpack(record)
    if fields[0] != b"PK\x06\x06":
        raise BadWheel("bad ZIP64 end-of-central-directory record")
    return fields[9], fields[8]


def _zip64_extra(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == 0x0001:
            values = list(struct.unpack_from(f"<{length // 8}Q", extra, pos + 4))
            wanted = [v == _MAX32 for v in (usize, csize, offset)]
            if sum(wanted) > len(values):
                raise BadWheel("a ZIP64 extra field lacks the sizes it stands for")
            usize = values.pop(0) if wanted[0] else usize
            csize = values.pop(0) if wanted[1] else csize
            offset = values.pop(0) if wanted[2] else offset
            break
        pos += 4 + length
    return usize, csize, offset


def _entries(cd: bytes, suffix: bytes) -> list[_Entry]:
    """The entries of a central directory whose name ends with *suffix*; the others are
    stepped over unread (a TensorFlow wheel lists 15,347 files, one of them METADATA)."""
    out, pos, end = [], 0, len(cd)
    lengths = _CENTRAL_LENGTHS.unpack_from
    while pos + _CENTRAL.size <= end and cd.startswith(b"PK\x01\x02", pos):
        nlen, elen, clen = lengths(cd, pos + 28)
        if cd.endswith(suffix, pos + 46, pos + 46 + nlen):
            out.append(_entry(cd, pos))
        pos += 46 + nlen + elen + clen
    return out


def _entry(cd: bytes, pos: int) -> _Entry:
    f = _CENTRAL.unpack_from(cd, pos)
    method, crc, csize, usize = f[4], f[7], f[8], f[9]
    nlen, elen, offset = f[10], f[11], f[16]
    name = cd[pos + 46 : pos + 46 + nlen].decode("utf-8", "replace")
    extra = cd[pos + 46 + nlen : pos + 46 + nlen + elen]
    usize, csize, offset = _zip64_extra(extra, usize, csize, offset)
    return _Entry(name, method, crc, csize, usize, offset)


def _choose(entries: list[_Entry], pattern: str, prefer: str | None) -> _Entry:
    found = [e for e in entries if re.fullmatch(pattern, e.name)]
    if prefer is not None:
        preferred = [e for e in found if e.name.lower().startswith(prefer.lower())]
        found = preferred or found
    if len(found) != 1:
        what = "no" if not found else "more than one"
        raise BadWheel(f"{what} member matching {pattern!r} in the central directory")
    return found[0]


def _decompress(entry: _Entry, data: bytes) -> bytes:
    if entry.method not in (0, 8, 12, 14):
        raise BadWheel(f"{entry.name}: unknown compression method {entry.method}")
    try:
        out = _inflate(entry.method, data, entry.usize + 1)
    except (zlib.error, OSError, EOFError, ValueError) as e:  # what damaged streams raise
        raise BadWheel(f"{entry.name}: damaged compressed data ({e})") from e
    if len(out) != entry.usize or zlib.crc32(out) != entry.crc:
        raise BadWheel(f"{entry.name}: size or CRC does not match the central directory")
    return out


def _inflate(method: int, data: bytes, limit: int) -> bytes:
    """At most *limit* bytes of the member (a bomb stops there); damaged data raises
    zlib.error, OSError, EOFError or ValueError."""
    if method == 0:
        return data
    if method == 8:
        return zlib.decompressobj(-15).decompress(data, limit)
    if method == 12:
        import bz2

        return bz2.BZ2Decompressor().decompress(data, limit)
    import lzma  # zip's LZMA framing: 4-byte header, then raw LZMA1 properties and data

    try:
        props_len = struct.unpack_from("<H", data, 2)[0]
        # CPython's own decoder of raw filter properties (private, present since 3.3)
        filt = lzma._decode_filter_properties(  # type: ignore[attr-defined]
            lzma.FILTER_LZMA1, data[4 : 4 + props_len]
        )
        raw = data[4 + props_len :]
        return lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[filt]).decompress(raw, limit)
    except (lzma.LZMAError, struct.error) as e:
        raise ValueError(str(e)) from e


def _member(remote: _Remote, entry: _Entry, name_len: int) -> bytes:
    if max(entry.csize, entry.usize) > _MAX_MEMBER:
        raise BadWheel(f"{entry.name} says it is {entry.usize} bytes: too large to be METADATA")
    guess = _LOCAL.size + name_len + entry.csize + _LOCAL_SLACK
    chunk = remote.read(entry.offset, entry.offset + guess)
    f = _LOCAL.unpack_from(chunk, 0) if len(chunk) >= _LOCAL.size else (b"",)
    if f[0] != b"PK\x03\x04":
        raise BadWheel(f"{entry.name}: bad local file header")
    start = _LOCAL.size + f[9] + f[10]
    if start + entry.csize > len(chunk):
        chunk = remote.read(entry.offset, entry.offset + start + entry.csize)
    return _decompress(entry, chunk[start : start + entry.csize])


def read_member(
    fetch_tail: Callable[[int], tuple[int, bytes]],
    fetch_range: Callable[[int, int], bytes],
    pattern: str = r"[^/]+\.dist-info/METADATA",
    *,
    suffix: str = "/METADATA",
    prefer: str | None = None,
    tail_size: int = 64 * 1024,
) -> bytes:
    """The bytes of the one member whose name fully matches *pattern*.

    ``fetch_tail(n)`` returns ``(total_size, last_bytes)`` (the whole file is fine: a server
    that ignores ``Range`` sends that); ``fetch_range(start, end)`` returns bytes
    ``[start, end)``. *prefer* is a name prefix that wins when several members match (the
    expected ``name-version.dist-info/``). *suffix* is an ASCII text that every name *pattern*
    matches ends with: only those entries of the central directory are read.
    """
    total, tail = fetch_tail(tail_size)
    remote = _Remote(total, fetch_range)
    tail_start = total - len(tail)
    remote.add(tail_start, tail)
    try:
        offset, size = _central_directory(remote, tail, tail_start)
        entries = _entries(remote.read(offset, offset + size), suffix.encode("ascii"))
        entry = _choose(entries, pattern, prefer)
        return _member(remote, entry, len(entry.name.encode()))
    except struct.error as e:  # a record cut short: sizes or offsets point past the data
        raise BadWheel(f"a zip record is cut short ({e})") from e
