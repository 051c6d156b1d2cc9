"""relax.py: a framework's exact NVIDIA pin within its major where NVIDIA's rules allow. Pure."""

from __future__ import annotations

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version
from tests.tools.fake_catalog import link_for

from cudaenv.knowledge import load
from cudaenv.resolution import Relaxation
from cudaenv.solver.releases import Release
from cudaenv.solver.requirements import SpecifierRequirement
from cudaenv.solver.rules import relax

CUDNN = canonicalize_name("nvidia-cudnn-cu12")


def pin(spec: str, name: str = CUDNN) -> SpecifierRequirement:
    return SpecifierRequirement(name=canonicalize_name(name), specifier=SpecifierSet(spec))


def test_a_frameworks_exact_pin_becomes_its_major_and_remembers_the_pin() -> None:
    made = relax.relax(pin("==9.3.0.75"), "tensorflow", load())
    assert made.specifier == SpecifierSet(">=9.3.0.75,<10") and made.relaxed == Version("9.3.0.75")
    assert made.format_for_error() == "nvidia-cudnn-cu12==9.3.0.75 (or a newer 9.x)"
    assert relax.relax(pin("==9.3.0.75"), "spacy", load()).relaxed is None  # not a framework's
    assert relax.relax(pin("==12.6.*"), "torch", load()).relaxed is None  # not one release
    assert relax.relax(pin("==1.2.3", "numpy"), "torch", load()).relaxed is None  # no rule
    assert relax.from_framework("jax-cuda12-plugin") and not relax.from_framework(None)


def test_the_pinned_releases_first_then_the_rest_of_the_major_oldest_first() -> None:
    found = [
        Release(version=Version(v), yanked=False, link=link_for(CUDNN, v))
        for v in ("9.10.2.21", "9.5.1.17", "9.3.0.75", "9.1.0.70")
    ]
    order = relax.pinned_first(found, {Version("9.5.1.17"), Version("9.3.0.75")})
    assert [str(r.version) for r in order] == ["9.5.1.17", "9.3.0.75", "9.1.0.70", "9.10.2.21"]


def test_a_relaxed_pin_is_noted_once_with_nvidias_limits() -> None:
    done = Relaxation(
        package=CUDNN,
        pinned=Version("9.3.0.75"),
        chosen=Version("9.5.1.17"),
        by="tensorflow[and-cuda]==2.18.1",
        rule="cudnn-minor-backward",
    )
    notes = relax.notes((done,), load())
    assert notes[0].startswith("relaxed 1 exact pin of 1 NVIDIA wheel to one common set")
    assert any(n.startswith("nvidia-cudnn-cu12: ") for n in notes[1:])  # cudnn-needs-cublas
    assert relax.notes((), load()) == ()
