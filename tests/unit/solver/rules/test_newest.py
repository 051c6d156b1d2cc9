"""newest.py: a line asked for gets its newest release that resolves, or a note says why not."""

from __future__ import annotations

from dataclasses import replace

from packaging.version import Version
from tests.tools.fake_catalog import FakeCatalog

from cudaenv.errors import ResolutionError
from cudaenv.request import Request
from cudaenv.resolution import Pin, Resolution, WheelFile
from cudaenv.solver.rules.newest import prefer_newest, usable_newer


def pin(name: str, version: str) -> Pin:
    wheel = WheelFile(filename=f"{name}-{version}.whl", url="https://x/", sha256="0" * 64)
    return Pin(name=name, version=Version(version), wheel=wheel)  # type: ignore[arg-type]


def resolution(request: Request, tf: str, spacy: str) -> Resolution:
    return Resolution(
        pins=(pin("tensorflow", tf), pin("spacy", spacy)),
        target=request.target,
        frameworks=request.frameworks,
    )


REQUEST = Request.from_args(tf="2.12", spacy="3.8", python="3.11", platform="manylinux_2_28_x86_64")
CATALOG = FakeCatalog({"tensorflow": ["2.12.0", "2.12.1", "2.13.0"], "spacy": ["3.8.11", "3.8.18"]})


def newer(fw, picked):  # what the factory answers: the index's releases for the target
    return usable_newer(CATALOG, fw, picked, pre=False)


def test_newer_releases_are_those_the_line_admits() -> None:
    tf = REQUEST.framework("tensorflow")
    assert newer(tf, Version("2.12.0")) == [Version("2.12.1")]  # not 2.13.0
    yanked = FakeCatalog({"tensorflow": ["2.12.0", ("2.12.1", True), "2.12.2rc0"]})
    assert usable_newer(yanked, tf, Version("2.12.0"), pre=False) == []
    assert usable_newer(yanked, tf, Version("2.12.0"), pre=True) == [Version("2.12.2rc0")]
    bad = FakeCatalog(
        {"tensorflow": ["2.12.0", "2.12.2rc0"]}, refused={("tensorflow", "2.12.2rc0"): "bad"}
    )
    assert usable_newer(bad, tf, Version("2.12.0"), pre=True) == []


def test_a_newer_release_that_resolves_wins_and_earlier_frameworks_are_held() -> None:
    asked: list[Request] = []

    def attempt(req: Request) -> Resolution:
        asked.append(req)
        specs = {f.name: str(f.specifier) for f in req.frameworks}
        if specs["spacy"] == "==3.8.18":
            raise ResolutionError("thinc 8.3.14 needs numpy>=2, but tensorflow==2.12.1 needs <1.24")
        return resolution(req, "2.12.1", "3.8.11")

    got = prefer_newest(resolution(REQUEST, "2.12.0", "3.8.18"), REQUEST, attempt, newer)
    assert [f"{p.name} {p.version}" for p in got.pins] == ["tensorflow 2.12.1", "spacy 3.8.11"]
    assert got.frameworks == REQUEST.frameworks  # the user's request, not the pinned retry
    # spaCy's retry held TensorFlow at 2.12.1 and asked for 3.8.18, which did not resolve
    assert [str(f.specifier) for f in asked[1].frameworks] == ["==2.12.1", "==3.8.18"]
    assert got.notes == (
        "spaCy 3.8.18 is newer but was not picked: thinc 8.3.14 needs numpy>=2, but "
        "tensorflow==2.12.1 needs <1.24",
    )


def test_nothing_is_retried_when_the_newest_was_picked_or_pinned() -> None:
    def attempt(req: Request) -> Resolution:
        raise AssertionError("no retry expected")

    res = resolution(REQUEST, "2.12.1", "3.8.18")
    assert prefer_newest(res, REQUEST, attempt, newer) is res
    exact = Request.from_args(
        tf="2.12.0", spacy="3.8.18", python="3.11", platform="manylinux_2_28_x86_64"
    )
    res = resolution(exact, "2.12.0", "3.8.18")
    assert prefer_newest(res, exact, attempt, newer) == replace(res)
