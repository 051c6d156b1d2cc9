"""The test tools themselves: wheels install with pip and uv, libraries dlopen, the index speaks
PEP 691/503/658 and honours Range and conditional GETs."""

from __future__ import annotations

import ctypes
import hashlib
import json
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.tools.index_server import JSON_TYPE, parse_range

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".venv" / "bin" / "uv"


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_wheel_is_valid_and_record_matches(make_wheel):
    path = make_wheel(
        "Demo.Pkg",
        "1.2.3",
        requires_dist=["dep>=1", "extra-dep; extra == 'x'"],
        requires_python=">=3.9",
        provides_extra=["x"],
    )
    assert path.name == "demo_pkg-1.2.3-py3-none-any.whl"
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        record = zf.read("demo_pkg-1.2.3.dist-info/RECORD").decode().splitlines()
        for line in record:
            arc, digest, size = line.rsplit(",", 2)
            if arc.endswith("RECORD"):
                assert digest == "" and size == ""
                continue
            data = zf.read(arc)
            assert int(size) == len(data)
            import base64

            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert digest == "sha256=" + expected.decode()
        meta = zf.read("demo_pkg-1.2.3.dist-info/METADATA").decode()
    assert "demo_pkg/__init__.py" in names
    assert "Requires-Dist: extra-dep; extra == 'x'" in meta
    assert "Requires-Python: >=3.9" in meta


def test_same_inputs_give_same_bytes(tmp_path, make_wheel):
    from tests.tools.make_wheel import make_wheel as build

    a = make_wheel("same", "1.0").read_bytes()
    b = build(tmp_path / "other", "same", "1.0").read_bytes()
    assert a == b


def test_nvidia_wheel_layout_and_real_library(tmp_path, make_nvidia_wheel):
    path = make_nvidia_wheel("nvidia-cuda-runtime-cu12", "12.2.140", libs=["libcudart.so.12"])
    assert path.name == "nvidia_cuda_runtime_cu12-12.2.140-py3-none-manylinux1_x86_64.whl"
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        assert {
            "nvidia/__init__.py",
            "nvidia/cuda_runtime/__init__.py",
            "nvidia/cuda_runtime/lib/__init__.py",
            "nvidia/cuda_runtime/lib/libcudart.so.12",
        } <= names
        lib = tmp_path / "libcudart.so.12"
        lib.write_bytes(zf.read("nvidia/cuda_runtime/lib/libcudart.so.12"))
    handle = ctypes.CDLL(str(lib))
    handle.cudaenv_fake_soname.restype = ctypes.c_char_p
    assert handle.cudaenv_fake_soname() == b"libcudart.so.12"
    assert handle.cudaenv_fake_version() == 12
    readelf = subprocess.run(
        ["readelf", "-d", str(lib)], check=False, capture_output=True, text=True
    )
    if readelf.returncode == 0:
        assert "Library soname: [libcudart.so.12]" in readelf.stdout


def test_namespace_layout_has_no_init(make_nvidia_wheel):
    path = make_nvidia_wheel(
        "nvidia-cudnn-cu12", "9.1.0.70", libs=["libcudnn.so.9"], namespace=True
    )
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    assert "nvidia/cudnn/lib/libcudnn.so.9" in names
    assert not any(n.endswith("__init__.py") for n in names)


def test_json_and_html_pages(make_wheel, local_index):
    make_wheel("alpha", "1.0", requires_python=">=3.8")
    make_wheel("alpha", "2.0")
    local_index.yank("alpha-1.0-py3-none-any.whl", "broken")
    status, headers, body = _get(f"{local_index.url}/alpha/", {"Accept": JSON_TYPE})
    assert status == 200 and headers["Content-Type"] == JSON_TYPE
    page = json.loads(body)
    assert page["meta"]["api-version"] == "1.1"
    first = page["files"][0]
    assert first["filename"] == "alpha-1.0-py3-none-any.whl"
    assert first["requires-python"] == ">=3.8" and first["yanked"] == "broken"
    assert first["size"] > 0 and first["upload-time"].endswith("Z")
    assert "core-metadata" in first and page["files"][1]["yanked"] is False
    status, headers, body = _get(f"{local_index.url}/alpha/", {"Accept": "text/html"})
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'data-requires-python="&gt;=3.8"' in body and b'data-yanked="broken"' in body
    status, _, body = _get(f"{local_index.url}/", {"Accept": JSON_TYPE})
    assert json.loads(body)["projects"] == [{"name": "alpha"}]
    assert _get(f"{local_index.url}/nothing/")[0] == 404


def test_page_etag_gives_304(make_wheel, local_index):
    make_wheel("alpha", "1.0")
    url = f"{local_index.url}/alpha/"
    _, headers, _ = _get(url, {"Accept": JSON_TYPE})
    status, _, body = _get(url, {"Accept": JSON_TYPE, "If-None-Match": headers["ETag"]})
    assert status == 304 and body == b""
    make_wheel("alpha", "2.0")
    assert _get(url, {"Accept": JSON_TYPE, "If-None-Match": headers["ETag"]})[0] == 200


def test_pep658_metadata_switch(make_wheel, local_index):
    path = make_wheel("alpha", "1.0", requires_dist=["beta"])
    url = local_index.file_url(path.name) + ".metadata"
    status, _, body = _get(url)
    assert status == 200 and b"Requires-Dist: beta" in body
    page = json.loads(_get(f"{local_index.url}/alpha/", {"Accept": JSON_TYPE})[2])
    assert page["files"][0]["core-metadata"] == {"sha256": hashlib.sha256(body).hexdigest()}
    local_index.pep658 = False
    assert _get(url)[0] == 404
    page = json.loads(_get(f"{local_index.url}/alpha/", {"Accept": JSON_TYPE})[2])
    assert "core-metadata" not in page["files"][0]


def test_range_requests(make_wheel, local_index):
    path = make_wheel("alpha", "1.0")
    data = path.read_bytes()
    url = local_index.file_url(path.name)
    status, headers, body = _get(url, {"Range": "bytes=-100"})
    assert status == 206 and body == data[-100:]
    assert headers["Content-Range"] == f"bytes {len(data) - 100}-{len(data) - 1}/{len(data)}"
    status, _, body = _get(url, {"Range": "bytes=10-19"})
    assert status == 206 and body == data[10:20]
    status, _, body = _get(url, {"Range": "bytes=5-"})
    assert status == 206 and body == data[5:]
    status, headers, _ = _get(url, {"Range": f"bytes={len(data)}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(data)}"
    local_index.honour_range = False
    status, _, body = _get(url, {"Range": "bytes=-100"})
    assert status == 200 and body == data
    assert [r.range for r in local_index.requests][:2] == ["bytes=-100", "bytes=10-19"]
    assert local_index.count("/files/") == 5


def test_parse_range_edges():
    assert parse_range("bytes=0-0", 10) == (0, 0)
    assert parse_range("bytes=-20", 10) == (0, 9)
    assert parse_range("bytes=3-100", 10) == (3, 9)
    assert parse_range("bytes=-0", 10) is None
    assert parse_range("bytes=5-2", 10) is False
    assert parse_range("bytes=0-1,3-4", 10) is False
    assert parse_range("items=0-1", 10) is False


def test_file_conditional_get(make_wheel, local_index):
    path = make_wheel("alpha", "1.0")
    url = local_index.file_url(path.name)
    _, headers, _ = _get(url)
    assert _get(url, {"If-None-Match": headers["ETag"]})[0] == 304
    assert _get(url, {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert _get(url, {"If-None-Match": '"other"'})[0] == 200


def test_injected_failures(make_wheel, local_index):
    make_wheel("alpha", "1.0")
    local_index.fail(2, status=503)
    assert _get(f"{local_index.url}/alpha/")[0] == 503
    assert _get(f"{local_index.url}/alpha/")[0] == 503
    assert _get(f"{local_index.url}/alpha/")[0] == 200
    local_index.fail(1, drop=True)
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        _get(f"{local_index.url}/alpha/")
    assert _get(f"{local_index.url}/alpha/")[0] == 200


def test_pip_installs_from_the_index(tmp_path, make_wheel, make_nvidia_wheel, local_index):
    make_wheel("alpha", "1.0", requires_dist=["nvidia-cuda-runtime-cu12"])
    make_nvidia_wheel("nvidia-cuda-runtime-cu12", "12.2.140", libs=["libcudart.so.12"])
    target = tmp_path / "site"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-cache-dir",
        "--isolated",
        "-q",
        "--index-url",
        local_index.url,
        "--target",
        str(target),
        "alpha",
    ]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (target / "alpha" / "__init__.py").is_file()
    assert (target / "nvidia" / "cuda_runtime" / "lib" / "libcudart.so.12").is_file()
    assert local_index.count("/files/alpha-1.0") >= 1


@pytest.mark.skipif(not UV.exists(), reason="uv is not installed in .venv")
def test_uv_installs_with_hashes(tmp_path, make_wheel, local_index):
    path = make_wheel("alpha", "1.0", requires_python=">=3.8")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    req = tmp_path / "req.txt"
    req.write_text(f"alpha==1.0 --hash=sha256:{digest}\n")
    target = tmp_path / "site"
    cmd = [
        str(UV),
        "pip",
        "install",
        "--no-cache",
        "--require-hashes",
        "--index-url",
        local_index.url,
        "--target",
        str(target),
        "--python",
        sys.executable,
        "-r",
        str(req),
    ]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (target / "alpha" / "__init__.py").read_text() == '__version__ = "1.0"\n'
