"""The factory: files per release for the target, admission rules, recipes, dependencies.

Runs against the real local index (``tests/cases/solve/index.json`` served on 127.0.0.1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version
from tests.functional.solve_index import solve_server
from tests.tools.fake_catalog import FakeCatalog, metadata_text

from cudaenv.index import FileLink, Index
from cudaenv.knowledge import load
from cudaenv.machine import Machine
from cudaenv.request import Request
from cudaenv.solver.candidates import ExtrasCandidate, VirtualCandidate, WheelCandidate
from cudaenv.solver.factory import Factory
from cudaenv.solver.requirements import (
    CUDA,
    PYTHON,
    ExplicitRequirement,
    SpecifierRequirement,
    VirtualRequirement,
)
from cudaenv.solver.rules import recipes

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.tools.index_server import IndexServer

__all__ = ["solve_server"]  # the fixture, imported for pytest

TF = canonicalize_name("tensorflow")


@pytest.fixture
def make_factory(solve_server: IndexServer, tmp_path: Path) -> Iterator:
    made: list[Factory] = []

    def make(
        python: str = "3.11",
        *,
        pre: bool = False,
        max_cuda: str | None = "12.2",
        spacy: str | None = None,
    ) -> Factory:
        request = Request.from_args(
            tf="2.15", spacy=spacy, python=python, platform="manylinux_2_28_x86_64", pre=pre
        )
        machine = Machine(
            driver_version=None, max_cuda=Version(max_cuda) if max_cuda else None, source="override"
        )
        index = Index(solve_server.url, cache_dir=tmp_path / python)
        made.append(Factory(request, machine, load(), index))
        return made[-1]

    yield make
    for f in made:
        f.close()
        f.index.close()


def spec(name: str, text: str = "", extras: frozenset[str] = frozenset()) -> SpecifierRequirement:
    return SpecifierRequirement(
        name=canonicalize_name(name), specifier=SpecifierSet(text), extras=extras
    )


def found(factory: Factory, *reqs, bad=()) -> list[str]:
    return [str(c.version) for c in factory.find_candidates(reqs[0].identifier, reqs, bad)()]


def test_best_file_is_the_target_python_wheel(make_factory) -> None:
    f311, f310 = make_factory("3.11"), make_factory("3.10")
    assert f311.releases(TF)[0].link.filename == (
        "tensorflow-2.15.2rc0-cp311-cp311-manylinux_2_17_x86_64.whl"
    )
    assert "cp310-cp310" in f310.releases(TF)[0].link.filename
    assert make_factory("3.12").releases(TF) == ()  # TF 2.15 has no cp312 wheels


def test_requires_python_of_the_file_counts(make_factory) -> None:
    assert make_factory("3.7").releases(canonicalize_name("typing-extensions")) == ()


def test_newest_first_without_prereleases_or_refused(make_factory) -> None:
    f = make_factory()
    # 2.15.2rc0: a pre-release. 2.15.0 is a candidate: its extra's TensorRT pins are optional
    assert found(f, spec("tensorflow", "==2.15.*")) == ["2.15.1", "2.15.0.post1", "2.15.0"]
    assert f.refused(TF, Version("2.15.0")) is None
    assert f.refused(canonicalize_name("spacy"), Version("3.7.3")).startswith("yanked on PyPI")


def test_prereleases_with_pre_or_an_exact_pin(make_factory) -> None:
    assert found(make_factory(pre=True), spec("tensorflow", "==2.15.*"))[0] == "2.15.2rc0"
    assert found(make_factory(), spec("tensorflow", "==2.15.2rc0")) == ["2.15.2rc0"]
    assert found(make_factory(), spec("tensorflow", ">=2.15.1rc0"))[0] == "2.15.2rc0"


def test_yanked_only_when_pinned_exactly(make_factory, solve_server: IndexServer) -> None:
    names = [d.filename for d in solve_server.dists() if d.filename.startswith("numpy-1.26.4-")]
    for name in names:
        solve_server.yank(name, "bad build")
    try:
        assert found(make_factory(), spec("numpy", "<2")) == ["1.26.3"]
        assert found(make_factory(), spec("numpy", "==1.26.4")) == ["1.26.4"]
    finally:
        for name in names:
            solve_server.yanked.pop(name)


def test_constraints_narrow_but_do_not_add(make_factory) -> None:
    f = make_factory()
    f.restrict({canonicalize_name("numpy"): SpecifierSet("<2")})
    f.restrict({canonicalize_name("numpy"): SpecifierSet("!=1.26.4")})
    assert found(f, spec("numpy")) == ["1.26.3"]


def test_incompatible_candidates_are_left_out(make_factory) -> None:
    f = make_factory()
    first = next(f.find_candidates("numpy", [spec("numpy")], ())())
    assert found(f, spec("numpy"), bad=[first]) == ["1.26.4", "1.26.3"]


def test_dependencies_add_python_and_the_recipe_cuda_floor(make_factory) -> None:
    f = make_factory()
    tf = next(f.find_candidates("tensorflow", [spec("tensorflow", "==2.15.1")], ())())
    deps = {r.format_for_error(): r for r in tf.iter_dependencies()}
    assert set(deps) == {
        "numpy<2.0.0,>=1.23.5",
        "typing-extensions>=3.6.6",
        "__python>=3.9",
        "__cuda>=12.0",
    }
    assert deps["__cuda>=12.0"].who == "TensorFlow 2.15"
    assert deps["numpy<2.0.0,>=1.23.5"].origin == "tensorflow==2.15.1"


def test_extras_candidate_depends_on_its_exact_base(make_factory) -> None:
    f = make_factory()
    req = spec("tensorflow", "==2.15.1", frozenset({canonicalize_name("and-cuda")}))
    cand = next(f.find_candidates(req.identifier, [req], ())())
    assert isinstance(cand, ExtrasCandidate) and cand.identifier == "tensorflow[and-cuda]"
    deps = list(cand.iter_dependencies())
    assert deps[0] == ExplicitRequirement(
        name=TF, version=Version("2.15.1"), filename=cand.filename
    )
    assert deps[0].is_satisfied_by(cand.base)
    names = {d.name for d in deps[1:]}
    assert "nvidia-cudnn-cu12" in names and "numpy" not in names  # only what the extra adds


def test_virtual_names_never_pass_through_packaging() -> None:
    with pytest.raises(InvalidRequirement):
        Requirement("__cuda>=12.0")
    assert canonicalize_name("__cuda") == "-cuda"
    req = VirtualRequirement.at_least(CUDA, Version("12.0"))
    assert (req.identifier, req.floor, req.project) == ("__cuda", Version("12.0"), None)


def test_unknown_max_cuda_satisfies_any_floor(make_factory) -> None:
    unknown, old = make_factory(max_cuda=None), make_factory(max_cuda="11.4")
    floor = VirtualRequirement.at_least(CUDA, Version("12.0"))
    assert found(unknown, floor) == ["None"]
    assert found(old, floor) == []
    assert unknown.virtual(PYTHON) == VirtualCandidate(name=PYTHON, version=Version("3.11"))


def test_lines_without_the_extra_add_their_cu11_pins() -> None:
    request = Request.from_args(tf="2.13", spacy=None, python="3.11", platform=None)
    link = FileLink(filename="tensorflow-2.13.1-cp311-cp311-manylinux_2_17_x86_64.whl", url="x")
    cand = WheelCandidate(
        name=TF, version=Version("2.13.1"), filename=link.filename, link=link, factory=None
    )
    added = recipes.release_requirements(load(), request, cand)
    texts = [r.format_for_error() for r in added]
    assert texts[0] == "__cuda>=11.0"
    assert "nvidia-cudnn-cu11==8.6.0.163" in texts
    assert all(r.origin == "recipe: TensorFlow 2.13" for r in added[1:])


def test_plan_returns_the_constraints_and_leaves_the_factory_unchanged(make_factory) -> None:
    """spaCy 3.7's recipe caps numpy below 2: the plan says so; the solve hands it over."""
    factory = make_factory(spacy="3.7")
    plan = factory.plan()
    assert plan.constraints == {canonicalize_name("numpy"): SpecifierSet("<2")}
    assert factory.constraints == {}


def test_plan_roots_virtual_first_then_the_frameworks(make_factory) -> None:
    plan = make_factory().plan()
    assert [r.format_for_error() for r in plan.roots] == [
        "__cuda>=12.0",
        "tensorflow[and-cuda]==2.15.*",
    ]


def test_the_factory_answers_a_rule_as_the_fake_catalog_does_over_the_same_index(
    make_factory,
) -> None:
    """The rules' unit tests ask a fake catalog (tests/tools/fake_catalog.py): over the
    releases, versions and METADATA the factory read from a real index, the fake gives the same
    plan and picks the same releases, so a rule tested against it is tested for the factory."""
    factory = make_factory(spacy="3.7")
    before = factory.context  # the plan replaces it with the context on the stack's major
    names = ["tensorflow", "spacy", "cupy-cuda12x"]
    releases = {n: [(str(r.version), r.yanked) for r in factory.releases(n)] for n in names}
    listed = {n: [str(v) for v in factory.versions(n)] for n in names}
    spacy = factory.newest(spec("spacy", "==3.7.*"), {})
    assert spacy is not None
    meta = factory.metadata(spacy)
    text = metadata_text(
        "spacy", str(meta.version), *map(str, meta.requires_dist), extras=meta.provides_extra
    )
    fake = FakeCatalog(
        releases, listed=listed, metadata={f"spacy=={meta.version}": text}, context=before
    )
    assert recipes.plan(recipes.choose(before, fake), fake) == factory.plan()
    for req in (spec("cupy-cuda12x"), spec("tensorflow", "==2.15.*"), spec("spacy", "<3.7")):
        mine, theirs = fake.newest(req, {}), factory.newest(req, {})
        assert (mine and mine.version) == (theirs and theirs.version)
