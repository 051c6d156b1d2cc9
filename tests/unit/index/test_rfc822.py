"""METADATA header blocks read as packaging reads them: ``packaging.metadata.parse_email`` is the
reference, and every case (well-formed, folded, damaged, not UTF-8) must give what it gives."""

from __future__ import annotations

import itertools

import pytest
from packaging.metadata import parse_email

from cudaenv.index.metadata import CoreMetadata
from cudaenv.index.rfc822 import headers

WANTED = frozenset({"name", "version", "requires-dist", "requires-python", "provides-extra"})
RAW = {
    "name": "name",
    "version": "version",
    "requires_dist": "requires-dist",
    "requires_python": "requires-python",
    "provides_extra": "provides-extra",
}

BASE = (
    b"Metadata-Version: 2.1\n"
    b"Name: Demo_Pkg\n"
    b"Version: 1.0\n"
    b"Requires-Python: >=3.9\n"
    b"Requires-Dist: numpy>=1.23\n"
    b"Requires-Dist: cupy-cuda12x; extra == 'cuda'\n"
    b"Provides-Extra: cuda\n"
    b"\n"
    b"Name: not-a-header (the body)\n"
)

CASES = [
    BASE,
    BASE.replace(b"\n", b"\r\n"),
    BASE.replace(b"\n", b"\r"),
    b"From someone\n" + BASE,  # an envelope line first
    BASE.replace(b"Provides-Extra", b"From x\nProvides-Extra"),  # a misplaced envelope
    BASE.replace(b"\n\n", b"\nFrom body\n\n"),  # an envelope-like last header line
    BASE.replace(b"numpy>=1.23", b"numpy\n  >=1.23\n\t,<3"),  # folded
    b" continued first\n" + BASE,  # a continuation with nothing to continue
    BASE.replace(b"Requires-Python", b":no name\nRequires-Python"),
    BASE.replace(b"Name: Demo_Pkg\n", b"Name: Demo_Pkg\nname: Other\n"),  # a single field twice
    BASE.replace(b"Requires-Python: >=3.9\n", b"Requires-Python: >=3.9\nREQUIRES-PYTHON: <4\n"),
    BASE.replace(b"numpy", "num\u00e9py".encode()),  # UTF-8, not ASCII
    BASE.replace(b"numpy", "num\u00e9py".encode("latin-1")),  # not UTF-8: the field is dropped
    BASE.replace(b"Name: Demo_Pkg", "Name: D\u00e9mo".encode("latin-1")),
    BASE.replace(b"Requires-Dist: numpy>=1.23\n", b"Requires-Dist:numpy  \n"),  # no blank, tail
    BASE.replace(b"\n\n", b"\nnot a header line\nRequires-Dist: late\n"),  # no separator line
    BASE.replace(b"Version: 1.0\n", b"Version: =?utf-8?q?1.0?=\n"),  # an encoded word, kept
    "Name: demo\nVersion: 1\nN\u00e4me: x\nRequires-Dist: after\n".encode(),  # not a name
    b"Name: demo\nVersion: 1\nRequires-Dist: a\nX-Other: \xff\nRequires-Dist: b\n",
    b"",
    b"\n\nName: demo\n",
    b"Name: demo",  # no line break at the end
]


def reference(data: bytes) -> dict[str, list[str]]:
    raw, _ = parse_email(data)
    out = {}
    for key, field in RAW.items():
        if key in raw:
            value = raw[key]  # type: ignore[literal-required]
            out[field] = list(value) if isinstance(value, list) else [value]
    return out


@pytest.mark.parametrize("data", CASES, ids=range(len(CASES)))
def test_the_fields_are_those_packaging_reads(data: bytes) -> None:
    assert headers(data, WANTED) == reference(data)


def test_every_mix_of_line_breaks_folds_and_repeats_reads_the_same() -> None:
    lines = [b"Name: a", b"Version: 1", b"Requires-Dist: x", b" ; extra == 'y'", b"Name: b"]
    breaks = [b"\n", b"\r\n", b"\r"]
    for size in range(1, 5):
        for chosen in itertools.permutations(lines, size):
            for eol in breaks:
                data = eol.join(chosen) + eol + b"\nbody"
                assert headers(data, WANTED) == reference(data), data


def test_core_metadata_from_bytes_reads_the_fields() -> None:
    meta = CoreMetadata.from_bytes(BASE)
    assert (meta.name, str(meta.version), str(meta.requires_python)) == ("demo-pkg", "1.0", ">=3.9")
    assert [str(r) for r in meta.requires_dist] == ["numpy>=1.23", 'cupy-cuda12x; extra == "cuda"']
    assert meta.provides_extra == ("cuda",)
