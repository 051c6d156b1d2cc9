"""A page's entries read with msgspec are the entries json.loads gives, for any page."""

from __future__ import annotations

import json

import pytest

from cudaenv.index import jsonpage
from cudaenv.index.links import parse_json_page

pytest.importorskip("msgspec", reason="msgspec is a dependency; without it json.loads reads")


def entry(name: str, **more: object) -> dict[str, object]:
    return {"filename": name, "url": f"https://f.example/{name}", **more}


KEEP = ("a-1-py3-none-any.whl", "a-1.tar.gz", "a-2-cp311-cp311-manylinux_2_17_x86_64.whl")
DROP = ("a-1-cp311-cp311-win_amd64.whl", "a-2-cp39-cp39-macosx_11_0_arm64.whl")
PAGES = [
    {"files": [entry(n, hashes={"sha256": "ab" * 32}, yanked=False) for n in KEEP + DROP]},
    {"meta": {"api-version": "1.1"}, "files": [], "name": "a"},
    {"files": [entry(n, **{"requires-python": ">=3.9", "yanked": "bad \u00e9"}) for n in KEEP]},
    {"files": [entry(KEEP[0]), "not an object", 3, None, [entry(KEEP[1])]]},
    {"files": [{"filename": KEEP[0]}, {"url": "u"}, {"filename": 1, "url": "u"}]},
    {"files": [{"filename": DROP[0], "url": 5}, entry(DROP[1], size=12.5)]},
    {"files": {"not": "a list"}},
    {"name": "no files"},
    ["a list"],
]
RAW = [
    b'{"files": [{"filename": "a-1.tar.gz", "url": "u", "size": NaN}]}',  # msgspec refuses NaN
    b'{"files": [{"filename": "a-1.tar.gz", "url": "u", "yanked": "\\ud800"}]}',  # a lone half
    b'{"files": [{"filename": "x", "url": "u", "filename": "a-1.tar.gz"}]}',  # the last wins
    b'\xef\xbb\xbf{"files": []}',  # a byte-order mark: json.loads takes it
]


def keep(filename: str) -> bool:
    return filename in KEEP


def reference(body: bytes | str) -> list[object]:
    data = json.loads(body)
    files = data.get("files", []) if isinstance(data, dict) else None
    if not isinstance(files, list):
        raise ValueError("not a PEP 691 project page (no list of files)")
    return [
        e
        for e in files
        if not (isinstance(e, dict) and isinstance(e.get("filename"), str))
        or not isinstance(e.get("url"), str)
        or keep(e["filename"])
    ]


def bodies() -> list[bytes | str]:
    found: list[bytes | str] = [json.dumps(p).encode() for p in PAGES]
    return [*found, json.dumps(PAGES[0]), *RAW]


@pytest.mark.parametrize("body", bodies(), ids=range(len(bodies())))
def test_the_entries_are_those_json_loads_gives(body: bytes | str) -> None:
    try:
        expected = reference(body)
    except ValueError as e:
        with pytest.raises(ValueError, match=str(e)[:20]):
            jsonpage.files(body, keep)
        return
    assert jsonpage.files(body, keep) == expected


@pytest.mark.parametrize("body", bodies()[:6], ids=range(6))
def test_links_are_the_same_with_and_without_msgspec(body, monkeypatch) -> None:
    def links() -> object:
        try:
            return parse_json_page(body, "https://i.example/simple/a/", keep)
        except ValueError as e:
            return str(e)

    fast = links()
    monkeypatch.setattr(jsonpage, "_decoders", lambda: None)
    assert links() == fast


def test_msgspec_reads_the_page_and_asks_about_each_filename_once(monkeypatch) -> None:
    def refuse(_body: object) -> None:
        raise AssertionError("json.loads read a page msgspec can read")

    monkeypatch.setattr(jsonpage.json, "loads", refuse)
    body = json.dumps(PAGES[0]).encode()
    seen: list[str] = []
    assert len(jsonpage.files(body, lambda n: seen.append(n) or n in KEEP)) == len(KEEP)
    assert seen == list(KEEP + DROP)  # in the page's order
