"""METADATA: parsing, and the cache -> PEP 658 -> Range chain against the real IndexServer on
127.0.0.1 (the zip range reader itself: test_lazy_wheel.py)."""

from __future__ import annotations

import random
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

import cudaenv.index.metadata as metadata
from cudaenv.errors import IndexError_
from cudaenv.index import Index
from cudaenv.index.metadata import BadMetadata, CoreMetadata

TF_LIKE = b"""Metadata-Version: 2.1
Name: TensorFlow
Version: 2.15.1
Requires-Python: >=3.9
Provides-Extra: and-cuda
Requires-Dist: absl-py >=1.0.0
Requires-Dist: nvidia-cudnn-cu12 ==8.9.4.25 ; extra == 'and-cuda'

Long description that mentions Requires-Dist: nothing
"""


def test_core_metadata_from_bytes():
    meta = CoreMetadata.from_bytes(TF_LIKE)
    assert meta.name == "tensorflow" and meta.version == Version("2.15.1")
    assert meta.requires_python == SpecifierSet(">=3.9")
    assert meta.provides_extra == ("and-cuda",)
    assert meta.requires_dist == (
        Requirement("absl-py>=1.0.0"),
        Requirement("nvidia-cudnn-cu12==8.9.4.25; extra == 'and-cuda'"),
    )


@pytest.mark.parametrize(
    "body",
    [
        b"Name: x\n\n",
        b"Name: x\nVersion: not a version\n\n",
        b"Name: x\nVersion: 1\nRequires-Dist: [\n",
    ],
)
def test_core_metadata_rejects_garbage(body):
    with pytest.raises(BadMetadata):
        CoreMetadata.from_bytes(body)


@pytest.fixture
def index(local_index, tmp_path):
    made = []

    def make(**kwargs):
        kwargs.setdefault("cache_dir", tmp_path / "cache")
        made.append(Index(local_index.url, backoff=0, **kwargs))
        return made[-1]

    yield make
    for i in made:
        i.close()


def _link(index, name):
    (link,) = index.project(name)
    return link


def test_pep658_metadata_is_one_request(make_wheel, local_index, index):
    make_wheel("alpha", "1.0", requires_dist=["beta>=2"], requires_python=">=3.9")
    client = index()
    link = _link(client, "alpha")
    local_index.clear_log()
    meta = client.metadata(link)
    assert meta.requires_dist == (Requirement("beta>=2"),)
    assert [r.path for r in local_index.requests] == [f"/files/{link.filename}.metadata"]


def test_without_pep658_a_range_read(make_wheel, local_index, index):
    local_index.pep658 = False
    make_wheel("alpha", "1.0", requires_dist=["beta"])
    client = index()
    link = _link(client, "alpha")
    assert not link.core_metadata
    local_index.clear_log()
    assert client.metadata(link).requires_dist == (Requirement("beta"),)
    assert [(r.path, r.range, r.status) for r in local_index.requests] == [
        (f"/files/{link.filename}", "bytes=-65536", 206)
    ]


def test_big_wheel_reads_few_ranges_not_the_whole_file(make_wheel, local_index, index):
    local_index.pep658 = False
    files = {f"big/m{i}.py": f"# {i}\n".encode() * 50 for i in range(3000)}
    files["big/blob.bin"] = random.Random(0).randbytes(1 << 20)  # 1 MiB not to download
    path = make_wheel("big", "1.0", requires_dist=["dep"], files=files)
    client = index()
    link = _link(client, "big")
    before = client.bytes_received
    assert client.metadata(link).requires_dist == (Requirement("dep"),)
    ranges = [r.range for r in local_index.requests if r.path.startswith("/files/")]
    assert len(ranges) <= 3 and all(ranges)
    assert client.bytes_received - before < path.stat().st_size // 4


def test_server_ignoring_range_falls_back_to_whole_download(make_wheel, local_index, index):
    local_index.pep658 = False
    local_index.honour_range = False
    make_wheel("alpha", "1.0", requires_dist=["beta"])
    client = index()
    link = _link(client, "alpha")
    local_index.clear_log()
    assert client.metadata(link).name == "alpha"
    assert [r.status for r in local_index.requests] == [200]


def test_metadata_hash_mismatch_falls_back_to_the_wheel(make_wheel, local_index, index, tmp_path):
    make_wheel("alpha", "1.0", requires_dist=["beta"])
    client = index()
    link = _link(client, "alpha")
    from dataclasses import replace

    wrong = replace(link, core_metadata={"sha256": "0" * 64})
    local_index.clear_log()
    assert client.metadata(wrong).requires_dist == (Requirement("beta"),)
    assert [r.path.endswith(".metadata") for r in local_index.requests] == [True, False]


def test_metadata_is_cached_on_disk_and_offline_makes_no_request(make_wheel, local_index, index):
    local_index.pep658 = False
    make_wheel("alpha", "1.0", requires_dist=["beta"])
    make_wheel("gamma", "1.0")
    warm = index()
    warm.metadata(_link(warm, "alpha"))
    warm.project("gamma")
    local_index.clear_log()
    offline = index(offline=True)
    assert offline.metadata(_link(offline, "alpha")).requires_dist == (Requirement("beta"),)
    with pytest.raises(IndexError_, match=r"metadata of gamma-1\.0-py3-none-any\.whl is not in"):
        offline.metadata(_link(offline, "gamma"))
    assert offline.requests == 0 and local_index.requests == []
    online = index()
    online.metadata(_link(online, "alpha"))
    assert local_index.count("/files/") == 0  # cached forever by (filename, sha256)


def test_prefetch_metadata(make_wheel, local_index, index):
    local_index.pep658 = False
    for i in range(5):
        make_wheel(f"p{i}", "1.0", requires_dist=[f"q{i}"])
    client = index()
    client.prefetch([f"p{i}" for i in range(5)])
    links = [_link(client, f"p{i}") for i in range(5)]
    client.prefetch_metadata(links)
    count = client.requests
    assert [str(client.metadata(x).requires_dist[0]) for x in links] == [f"q{i}" for i in range(5)]
    assert client.requests == count == 10


def test_sdist_and_mismatched_metadata_are_clear_errors(make_wheel, local_index, index, wheel_dir):
    client = index()
    from cudaenv.index.links import FileLink

    sdist = FileLink(filename="alpha-1.0.tar.gz", url=local_index.file_url("alpha-1.0.tar.gz"))
    with pytest.raises(IndexError_, match="not a wheel"):
        client.metadata(sdist)
    path = make_wheel("alpha", "1.0")
    path.rename(wheel_dir / "other-1.0-py3-none-any.whl")
    with pytest.raises(IndexError_, match="names another project"):
        client.metadata(_link(client, "other"))


def test_missing_wheel_is_a_clear_error(make_wheel, local_index, index):
    local_index.pep658 = False
    path = make_wheel("alpha", "1.0")
    client = index()
    link = _link(client, "alpha")
    path.unlink()
    with pytest.raises(IndexError_, match="answered HTTP 404"):
        client.metadata(link)


@pytest.mark.parametrize(
    "corrupt",
    [b"\x00\x01 not metadata\xff", b"Metadata-Version: 2.1\nName: other\nVersion: 1.0\n\n"],
    ids=["garbage", "another-project"],
)
def test_a_corrupt_cache_entry_is_fetched_again_and_replaced(
    make_wheel, local_index, index, tmp_path, corrupt
):
    local_index.pep658 = False
    make_wheel("alpha", "1.0", requires_dist=["beta"])
    warm = index()
    warm.metadata(_link(warm, "alpha"))
    (entry,) = (tmp_path / "cache" / "metadata").glob("alpha-1.0-*.METADATA")
    good = entry.read_bytes()
    entry.write_bytes(corrupt)

    offline = index(offline=True)
    with pytest.raises(IndexError_, match=r"cached metadata of alpha-1\.0-.*\.whl is corrupt") as e:
        offline.metadata(_link(offline, "alpha"))
    assert "once without --offline" in e.value.hint
    assert entry.read_bytes() == corrupt  # offline: nothing fetched, nothing written

    local_index.clear_log()
    online = index()
    assert online.metadata(_link(online, "alpha")).requires_dist == (Requirement("beta"),)
    assert local_index.count("/files/") == 1  # fetched again (one Range read) ...
    assert entry.read_bytes() == good  # ... and the entry replaced
    again = index(offline=True)
    assert again.metadata(_link(again, "alpha")).requires_dist == (Requirement("beta"),)


# --- bounded reads: METADATA a few MiB at most, a whole wheel streamed to a temporary file ------


@pytest.mark.parametrize("pep658", [True, False], ids=["pep658", "range"])
def test_metadata_larger_than_the_limit_is_refused(
    make_wheel, local_index, index, monkeypatch, pep658
):
    monkeypatch.setattr(metadata, "MAX_METADATA", 16 * 1024)
    local_index.pep658 = pep658
    make_wheel("alpha", "1.0", requires_dist=[f"dependency-{i}>=1.0" for i in range(2000)])
    client = index()
    link = _link(client, "alpha")
    before = client.bytes_received
    with pytest.raises(IndexError_, match=r"METADATA of alpha-1\.0-py3-none-any\.whl is larger "):
        client.metadata(link)
    if pep658:  # refused from its Content-Length, before the body is read
        assert client.bytes_received == before
    assert list((local_index.root.parent / "cache" / "metadata").glob("alpha-*")) == []


def test_a_whole_wheel_larger_than_the_limit_is_refused(
    make_wheel, local_index, index, monkeypatch
):
    monkeypatch.setattr(metadata, "MAX_WHEEL", 256 * 1024)
    local_index.pep658 = False
    local_index.honour_range = False
    make_wheel("alpha", "1.0", files={"alpha/blob.bin": random.Random(0).randbytes(1 << 20)})
    client = index()
    link = _link(client, "alpha")
    before = client.bytes_received
    with pytest.raises(
        IndexError_, match=r"alpha-1\.0-py3-none-any\.whl is larger than 256 KiB"
    ) as e:
        client.metadata(link)
    assert "Range" in e.value.hint
    assert client.bytes_received - before <= 256 * 1024


_SERVE = """
import sys
from pathlib import Path
from tests.tools.index_server import IndexServer
server = IndexServer(Path(sys.argv[1]), pep658=False)
server.honour_range = False
print(server.start().url, flush=True)
sys.stdin.read()
"""


@pytest.fixture
def no_range_index(wheel_dir):
    """An index that ignores Range, in another process: tracemalloc here sees only the client."""
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVE, str(wheel_dir)],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def test_the_whole_wheel_fallback_streams_to_disk_not_memory(make_wheel, no_range_index, tmp_path):
    blob = random.Random(1).randbytes(16 << 20)  # incompressible: the wheel is 16 MiB too
    make_wheel("alpha", "1.0", requires_dist=["beta"], files={"alpha/blob.bin": blob})
    del blob
    with Index(no_range_index, cache_dir=tmp_path / "cache", backoff=0) as client:
        link = _link(client, "alpha")
        tracemalloc.start()
        try:
            meta = client.metadata(link)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert meta.requires_dist == (Requirement("beta"),)
        assert client.bytes_received > 16 << 20  # it did download the whole wheel ...
    assert peak < 4 << 20, peak  # ... but never held it in memory


@pytest.mark.parametrize("pep658", [True, False], ids=["pep658", "range"])
def test_streamed_reads_are_retried_and_counted_like_http_get(
    make_wheel, local_index, index, tmp_path, pep658
):
    local_index.pep658 = pep658
    make_wheel("alpha", "1.0", requires_dist=["beta"])
    client = index()
    link = _link(client, "alpha")
    local_index.fail(1, status=503, path="/files/")
    local_index.fail(1, drop=True, path="/files/")
    before = client.requests
    assert client.metadata(link).requires_dist == (Requirement("beta"),)
    assert client.requests - before == 3
    local_index.fail(3, status=500, path="/files/")
    with pytest.raises(IndexError_, match=r"could not reach .* HTTP 500 .* \(after 3 tries\)"):
        index(cache_dir=tmp_path / "cold").metadata(link)


def test_ignored_ranges_download_the_wheel_once_and_read_the_rest_from_it(
    make_wheel, local_index, index
):
    local_index.pep658 = False
    local_index.honour_range = False
    files = {f"big/m{i}.py": f"# {i}\n".encode() * 50 for i in range(3000)}  # a large zip index
    make_wheel("big", "1.0", requires_dist=["dep"], files=files)
    client = index()
    link = _link(client, "big")
    local_index.clear_log()
    assert client.metadata(link).requires_dist == (Requirement("dep"),)
    assert [(r.path, r.status) for r in local_index.requests] == [(f"/files/{link.filename}", 200)]
