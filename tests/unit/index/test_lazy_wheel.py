"""Reading one member of a remote zip with a few range reads: ZIP64, damage, bombs."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile

import pytest

from cudaenv.index.lazy_wheel import BadWheel, read_member


def _zip(members, *, compression=zipfile.ZIP_DEFLATED, pad=0):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for i in range(pad):
            zf.writestr(f"pkg/m{i}.py", f"x = {i}\n" * 20)
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


class Remote:
    def __init__(self, data):
        self.data, self.calls = data, []

    def tail(self, n):
        self.calls.append(("tail", n))
        return len(self.data), self.data[-n:]

    def range(self, a, b):
        self.calls.append((a, b))
        return self.data[a:b]


@pytest.mark.parametrize(
    "compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
)
def test_small_wheel_needs_one_read(compression):
    remote = Remote(_zip({"a-1.dist-info/METADATA": "Name: a\n"}, compression=compression))
    assert read_member(remote.tail, remote.range) == b"Name: a\n"
    assert remote.calls == [("tail", 65536)]


def test_large_central_directory_needs_three_reads():
    data = _zip({"a-1.dist-info/METADATA": "Name: a\n", "a-1.dist-info/RECORD": "r" * 10}, pad=3000)
    remote = Remote(data)
    assert read_member(remote.tail, remote.range) == b"Name: a\n"
    assert len(remote.calls) == 3


def test_zip64():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a-1.dist-info/METADATA", "Name: a\n")
        for i in range(0x10000):  # more entries than the 16-bit count holds
            zf.writestr(f"f{i}", b"")
    remote = Remote(buf.getvalue())
    assert read_member(remote.tail, remote.range) == b"Name: a\n"


def test_a_member_too_large_for_metadata_is_refused_before_it_is_fetched():
    data = bytearray(_zip({"a-1.dist-info/METADATA": "Name: a\n"}))
    struct.pack_into("<I", data, data.rfind(b"PK\x01\x02") + 24, 2**31)  # uncompressed size
    remote = Remote(bytes(data))
    with pytest.raises(BadWheel, match="too large to be METADATA"):
        read_member(remote.tail, remote.range)
    assert remote.calls == [("tail", 65536)]


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2])
def test_a_decompression_bomb_stops_at_the_declared_size(compression):
    bomb = b"\0" * (32 * 1024 * 1024)  # compresses to a few kilobytes
    data = bytearray(_zip({"a-1.dist-info/METADATA": bomb}, compression=compression))
    struct.pack_into("<I", data, data.rfind(b"PK\x01\x02") + 24, 100)  # declares 100 bytes
    del bomb
    remote = Remote(bytes(data))
    tracemalloc.start()
    try:
        with pytest.raises(BadWheel, match="size or CRC"):
            read_member(remote.tail, remote.range)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024  # never the 32 MiB the member inflates to


class _Unseekable(io.RawIOBase):
    def __init__(self):
        self.data = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.data += b
        return len(b)


def test_data_descriptor_member_is_read_from_the_central_directory_sizes():
    out = _Unseekable()  # zipfile streams to it, so sizes and CRC follow the data (bit 3)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("pkg/x.py", "x = 1\n" * 100)
        with zf.open("a-1.dist-info/METADATA", "w") as f:
            f.write(b"Name: a\n" * 10)
    data = bytes(out.data)
    local = data.find(b"PK\x03\x04", 1)
    assert struct.unpack_from("<H", data, local + 6)[0] & 0x08  # a data descriptor follows
    assert struct.unpack_from("<III", data, local + 14) == (0, 0, 0)  # local header: unknown
    remote = Remote(data)
    assert read_member(remote.tail, remote.range) == b"Name: a\n" * 10


def test_prefer_picks_among_several_dist_infos_and_errors():
    data = _zip({"b-1.dist-info/METADATA": "Name: b\n", "A-1.dist-info/METADATA": "Name: a\n"})
    remote = Remote(data)
    assert read_member(remote.tail, remote.range, prefer="a-") == b"Name: a\n"
    with pytest.raises(BadWheel, match="more than one"):
        read_member(remote.tail, remote.range)
    with pytest.raises(BadWheel, match="not a zip"):
        read_member(Remote(b"x" * 100).tail, Remote(b"").range)


def _damaged(compression, damage):
    data = bytearray(_zip({"a-1.dist-info/METADATA": "Name: a\n" * 50}, compression=compression))
    damage(data, 30 + len("a-1.dist-info/METADATA"), data.rfind(b"PK\x01\x02"))
    return bytes(data)


def _flip(at):
    def damage(data, member, _cd):
        data[member + at] ^= 0xFF
        data[member + at + 1] ^= 0xFF

    return damage


def _local_header_past_the_end(data, _member, cd):
    struct.pack_into("<I", data, cd + 42, len(data) - 10)


@pytest.mark.parametrize(
    ("compression", "damage"),
    [
        (zipfile.ZIP_DEFLATED, _flip(0)),
        (zipfile.ZIP_BZIP2, _flip(5)),
        (zipfile.ZIP_LZMA, _flip(12)),
        (zipfile.ZIP_STORED, _local_header_past_the_end),
    ],
    ids=["deflate", "bzip2", "lzma", "local-header-past-the-end"],
)
def test_damaged_zip_is_bad_wheel_not_a_crash(compression, damage):
    remote = Remote(_damaged(compression, damage))
    with pytest.raises(BadWheel):
        read_member(remote.tail, remote.range)


def test_zip64_extra_without_its_values_is_bad_wheel():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("a-1.dist-info/METADATA")
        info.extra = struct.pack("<HH", 0x0001, 0)
        zf.writestr(info, "Name: a\n")
    data = bytearray(buf.getvalue())
    cd = data.rfind(b"PK\x01\x02")
    assert struct.unpack_from("<H", data, cd + 30) == (4,)  # the empty ZIP64 extra is there
    # The central directory now says "compressed size: see the ZIP64 extra", which holds none.
    struct.pack_into("<I", data, cd + 20, 0xFFFFFFFF)
    remote = Remote(bytes(data))
    with pytest.raises(BadWheel, match="ZIP64 extra"):
        read_member(remote.tail, remote.range)


def test_only_the_entries_named_like_the_member_are_read():
    """A TensorFlow wheel lists 15,347 files: the others are stepped over, not parsed."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("pkg/broken.py")
        info.extra = struct.pack("<HH", 0x0001, 0)
        zf.writestr(info, "x = 1\n")
        zf.writestr("pkg/data/METADATA", "not the one: a folder, not a .dist-info")
        zf.writestr("a-1.dist-info/METADATA", "Name: a\n")
    data = bytearray(buf.getvalue())
    first = data.find(b"PK\x01\x02")  # pkg/broken.py: its sizes now point into a ZIP64 extra
    struct.pack_into("<I", data, first + 20, 0xFFFFFFFF)  # that holds none (read: an error)
    remote = Remote(bytes(data))
    assert read_member(remote.tail, remote.range) == b"Name: a\n"
