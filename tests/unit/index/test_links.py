"""Project pages into FileLink values: PEP 691 JSON, PEP 503 HTML, the platform filter."""

from __future__ import annotations

import json

import pytest
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.version import Version

from cudaenv.index.links import FileLink, parse_html_page, parse_json_page, runs_on

PYPI_JSON = {
    "meta": {"api-version": "1.1", "_last-serial": 1},
    "name": "demo",
    "files": [
        {
            "filename": "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "hashes": {"sha256": "ab" * 32},
            "requires-python": ">=3.9",
            "size": 2121,
            "upload-time": "2024-03-08T23:56:06.384753Z",
            "url": "https://files.example/packages/81/demo-1.0-cp311-cp311-manylinux_2_17_x86_64"
            ".manylinux2014_x86_64.whl",
            "yanked": False,
        },
        {
            "filename": "demo-0.9.tar.gz",
            "hashes": {},
            "requires-python": ">=3.6.*",  # invalid, as on some old uploads
            "url": "../../files/demo-0.9.tar.gz",
            "yanked": "broken build",
            "core-metadata": {"sha256": "cd" * 32},
        },
        {"filename": "demo-bad.whl", "hashes": {}, "url": "x", "yanked": True},
    ],
}


def test_parse_json_page():
    wheel, sdist = parse_json_page(json.dumps(PYPI_JSON), "https://idx.example/simple/demo/")
    assert wheel.name == "demo" and wheel.version == Version("1.0") and wheel.is_wheel
    assert Tag("cp311", "cp311", "manylinux2014_x86_64") in wheel.tags
    assert wheel.requires_python == SpecifierSet(">=3.9") and wheel.yanked is None
    assert wheel.size == 2121 and wheel.upload_time.year == 2024
    assert wheel.core_metadata is False and wheel.sha256 == "ab" * 32
    assert sdist.url == "https://idx.example/files/demo-0.9.tar.gz"
    assert not sdist.is_wheel and sdist.version == Version("0.9") and sdist.tags == frozenset()
    assert sdist.requires_python is None and sdist.yanked == "broken build"
    assert sdist.metadata_sha256 == "cd" * 32 and sdist.sha256 is None


def test_parse_html_page():
    body = f"""<!DOCTYPE html><html><body>
    <a href="../../files/demo-1.0-py3-none-any.whl#sha256={"AB" * 32}"
       data-requires-python="&gt;=3.8,&lt;4" data-core-metadata="sha256={"cd" * 32}">x</a>
    <a href="https://other/demo-0.5-py3-none-any.whl" data-yanked
       data-dist-info-metadata="true">y</a>
    <a href="/files/README.txt">readme</a>
    </body></html>"""
    a, b, c = parse_html_page(body, "http://h/simple/demo/")
    assert a.url == "http://h/files/demo-1.0-py3-none-any.whl" and a.sha256 == "ab" * 32
    assert a.requires_python == SpecifierSet(">=3.8,<4") and a.yanked is None
    assert a.core_metadata == {"sha256": "cd" * 32}
    assert b.yanked == "" and b.core_metadata is True and b.sha256 is None
    assert c.name is None and not c.is_wheel


def test_filelink_is_hashable_value():
    a = FileLink(filename="x-1-py3-none-any.whl", url="u", core_metadata={"sha256": "0"})
    b = FileLink(filename="x-1-py3-none-any.whl", url="u", core_metadata={"sha256": "0"})
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1


def test_json_hashes_of_the_wrong_shape_are_no_hash():
    page = {"files": [{"filename": "a-1.tar.gz", "url": "a-1.tar.gz", "hashes": ["sha256"]}]}
    (link,) = parse_json_page(json.dumps(page), "https://idx.example/simple/a/")
    assert link.sha256 is None and link.version == Version("1")


def test_html_filename_is_unquoted_as_pip_does():
    href = f"/whl/torch-2.0.0%2Bcu118-cp311-cp311-linux_x86_64.whl?x=1#sha256={'ab' * 32}"
    (link,) = parse_html_page(f'<a href="{href}">t</a>', "https://idx.example/simple/torch/")
    assert link.filename == "torch-2.0.0+cu118-cp311-cp311-linux_x86_64.whl"
    assert link.version == Version("2.0.0+cu118") and link.sha256 == "ab" * 32
    assert (
        link.url == "https://idx.example/whl/torch-2.0.0%2Bcu118-cp311-cp311-linux_x86_64.whl?x=1"
    )


@pytest.mark.parametrize(
    ("filename", "kept"),
    [
        ("a-1-py3-none-any.whl", True),
        ("a-1.tar.gz", True),
        ("a-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", True),
        ("a-1-cp311-cp311-linux_x86_64.whl", True),
        ("a-1-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", False),
        ("a-1-cp311-cp311-musllinux_1_1_x86_64.whl", False),
        ("a-1-cp311-cp311-win_amd64.whl", False),
        ("a-1-cp311-cp311-macosx_10_9_universal2.whl", False),
        ("a-1-cp311-cp311-manylinux1_i686.whl", False),
    ],
)
def test_runs_on_filter(filename, kept):
    assert runs_on("manylinux_2_28_x86_64")(filename) is kept
    assert runs_on("manylinux2014_x86_64")(filename) is kept
