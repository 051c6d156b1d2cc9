"""The provider: thin, virtual identifiers first, and "driver too old" as ordinary causes."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

import pytest
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version
from resolvelib import BaseReporter, ResolutionImpossible, Resolver
from resolvelib.structs import RequirementInformation
from tests.functional.solve_index import solve_server

from cudaenv.driver import DriverVersion
from cudaenv.index import Index
from cudaenv.knowledge import load
from cudaenv.machine import Machine
from cudaenv.request import Request
from cudaenv.solver.candidates import VirtualCandidate
from cudaenv.solver.factory import Factory
from cudaenv.solver.provider import Provider
from cudaenv.solver.requirements import CUDA, SpecifierRequirement, VirtualRequirement

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.tools.index_server import IndexServer

__all__ = ["solve_server"]  # the fixture, imported for pytest


@pytest.fixture
def factory(solve_server: IndexServer, tmp_path: Path) -> Iterator[Factory]:
    """A real factory over the solver's test index (nothing is fetched until asked)."""
    request = Request.from_args(tf="2.15", spacy=None, python="3.11", platform=None)
    machine = Machine(driver_version=None, max_cuda=None, source="none")
    with Index(solve_server.url, cache_dir=tmp_path) as index:
        made = Factory(request, machine, load(), index)
        yield made
        made.close()


def provider(factory: Factory) -> Provider:
    return Provider(factory, order={"tensorflow": 0})


def info(name: str, text: str) -> RequirementInformation:
    req = SpecifierRequirement(name=canonicalize_name(name), specifier=SpecifierSet(text))
    return RequirementInformation(req, None)


def preference(p: Provider, identifier: str, infos: dict[str, list], causes=()) -> tuple:
    return p.get_preference(identifier, {}, {}, {k: iter(v) for k, v in infos.items()}, causes)


def test_virtual_identifiers_are_chosen_first(factory: Factory) -> None:
    p = provider(factory)
    assert p.narrow_requirement_selection(
        ["numpy", "__cuda", "tensorflow", "__python"], {}, {}, {}, []
    ) == ["__cuda", "__python"]
    assert p.narrow_requirement_selection(["numpy", "spacy"], {}, {}, {}, []) == ["numpy", "spacy"]


def test_preference_pinned_then_backtrack_cause_then_depth(factory: Factory) -> None:
    p = provider(factory)
    infos = {"a": [info("a", "==1.0")], "b": [info("b", ">=1")], "c": [info("c", "")]}
    keys = {k: preference(p, k, infos) for k in infos}
    assert keys["a"] < keys["b"] < keys["c"]  # pinned, then constrained, then free
    cause = [info("c", "")]
    assert preference(p, "c", infos, cause) < preference(p, "b", infos)


def test_user_order_breaks_ties(factory: Factory) -> None:
    p = provider(factory)
    infos = {"tensorflow": [info("tensorflow", ">=2")], "numpy": [info("numpy", ">=1")]}
    assert preference(p, "tensorflow", infos) < preference(p, "numpy", infos)


def test_relaxable_nvidia_wheels_are_pinned_after_the_rest(factory: Factory) -> None:
    """A wheel whose framework pins NVIDIA's rules relax waits until every framework's pin on
    it is known; a wheel no rule relaxes (cuSPARSELt) does not."""
    p = provider(factory)
    infos = {
        "nvidia-cudnn-cu12": [info("nvidia-cudnn-cu12", ">=9.3.0.75,<10")],
        "nvidia-cusparselt-cu12": [info("nvidia-cusparselt-cu12", ">=0.6")],
        "numpy": [info("numpy", ">=1")],
    }
    keys = {k: preference(p, k, infos) for k in infos}
    assert keys["numpy"] < keys["nvidia-cudnn-cu12"]
    assert keys["nvidia-cusparselt-cu12"] < keys["nvidia-cudnn-cu12"]


def test_identify_and_satisfy_delegate(factory: Factory) -> None:
    p = provider(factory)
    req = SpecifierRequirement(
        name=canonicalize_name("spacy"),
        specifier=SpecifierSet(">=3.7"),
        extras=frozenset({canonicalize_name("cuda12x")}),
    )
    assert p.identify(req) == "spacy[cuda12x]"
    floor = VirtualRequirement.at_least(CUDA, Version("12.0"))
    assert p.is_satisfied_by(floor, VirtualCandidate(name=CUDA, version=Version("12.2")))
    assert not p.is_satisfied_by(floor, VirtualCandidate(name=CUDA, version=Version("11.4")))


def test_provider_methods_stay_thin() -> None:
    """The provider stays thin: every method but get_preference is 10 lines or fewer."""
    for name, fn in inspect.getmembers(Provider, inspect.isfunction):
        if name in ("get_preference", "__init__") or name not in Provider.__dict__:
            continue
        body = inspect.getsource(fn).split('"""')[-1]  # the code after any docstring
        assert len([ln for ln in body.splitlines() if ln.strip()]) <= 10, name


def test_old_driver_is_a_cuda_cause(solve_server: IndexServer, tmp_path: Path) -> None:
    """The driver is a package: TF 2.15 with max CUDA 11.4 fails on a ``__cuda`` requirement."""
    request = Request.from_args(tf="2.15", spacy=None, python="3.11", platform=None)
    driver = DriverVersion.parse("470.82.01")
    machine = Machine(driver_version=driver, max_cuda=Version("11.4"), source="override")
    with Index(solve_server.url, cache_dir=tmp_path) as index:
        factory = Factory(request, machine, load(), index)
        plan = factory.plan()
        with pytest.raises(ResolutionImpossible) as err:
            Resolver(Provider(factory, {}), BaseReporter()).resolve(plan.roots)
        factory.close()
    causes = err.value.causes
    assert [c.requirement.identifier for c in causes] == ["__cuda"]
    assert causes[0].requirement.specifier == SpecifierSet(">=12.0")
