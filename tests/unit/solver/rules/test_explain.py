"""explain(): causes + machine + knowledge -> the sentence and the way out. No network."""

from __future__ import annotations

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version
from resolvelib.structs import RequirementInformation

from cudaenv.driver import DriverVersion
from cudaenv.errors import Explanation, Remedy, ResolutionError
from cudaenv.knowledge import load, spec_text
from cudaenv.machine import Machine
from cudaenv.request import FrameworkRequest, Request
from cudaenv.solver.candidates import VirtualCandidate
from cudaenv.solver.requirements import CUDA, PYTHON, SpecifierRequirement, VirtualRequirement
from cudaenv.solver.rules.explain import explain, other_lines, unknown_release


def request(python: str = "3.11", tf: str | None = "2.15", spacy: str | None = None) -> Request:
    return Request.from_args(tf=tf, spacy=spacy, python=python, platform="manylinux_2_28_x86_64")


def machine(driver: str | None, max_cuda: str | None) -> Machine:
    cuda = Version(max_cuda) if max_cuda else None
    version = DriverVersion.parse(driver) if driver else None
    return Machine(driver_version=version, max_cuda=cuda, source="override")


def cuda_cause(floor: str, who: str = "TensorFlow 2.15") -> RequirementInformation:
    return RequirementInformation(VirtualRequirement.at_least(CUDA, Version(floor), who=who), None)


def test_driver_first_with_the_driver_floor_and_a_line_that_fits() -> None:
    why = explain([cuda_cause("12.0")], machine("470.82.01", "11.4"), load(), request("3.10"))
    assert why.sentence() == (
        "driver 470.82.01 supports CUDA ≤ 11.4; TensorFlow 2.15 needs CUDA ≥ 12.0 "
        "→ upgrade the driver to ≥ 525.60.13 (--driver 525.60.13 resolves for it), "
        "or use --tf 2.14"
    )
    assert [h.options for h in why.hints] == [
        (("--driver", "525.60.13"),),
        (("--tf", "2.14"),),
    ]


def test_line_hint_skips_lines_with_no_final_release_on_the_index() -> None:
    releases = {"tensorflow": [Version(v) for v in ("2.13.1", "2.14.0rc1", "2.15.1")]}
    why = explain(
        [cuda_cause("12.0")],
        machine("470.82.01", "11.4"),
        load(),
        request("3.11"),
        releases=releases,
    )
    assert [h.options for h in why.hints][1:] == [(("--tf", "2.13"),)]


def test_a_line_hint_fits_the_spacy_asked_for_too() -> None:
    """spaCy 3.5 has only a CUDA 11 extra: the TensorFlow line offered beside it is CUDA 11."""
    hints = other_lines(machine("550.54.15", "12.4"), load(), request("3.11", "2.21", "3.5"), {})
    assert [h.options for h in hints] == [(("--tf", "2.14"),), (("--spacy", "3.8"),)]


def test_a_driver_older_than_the_table_is_too_old_not_absent() -> None:
    old = Machine(driver_version=DriverVersion.parse("418.39"), max_cuda=None, source="override")
    assert old.too_old
    why = explain([cuda_cause("12.0")], old, load(), request())
    assert why.headline == (
        "driver 418.39 is older than every driver in cudaenv's table (CUDA 11.0 needs "
        "≥ 450.51.05), so it runs no CUDA stack cudaenv knows; TensorFlow 2.15 needs driver "
        "≥ 525.60.13"
    )
    assert [h.options for h in why.hints] == [(("--driver", "525.60.13"),), (("--cpu", None),)]


def test_a_cuda_override_is_answered_with_cuda() -> None:
    why = explain([cuda_cause("12.0")], machine(None, "11.8"), load(), request("3.11"))
    assert why.hints[0] == Remedy.use(("--cuda", "12.0"))


def test_driver_beats_python_and_packages() -> None:
    py = RequirementInformation(
        VirtualRequirement(name=PYTHON, specifier=SpecifierSet("<3.12")), None
    )
    why = explain([py, cuda_cause("12.0")], machine(None, "11.8"), load(), request("3.12"))
    assert why.headline == "the driver supports CUDA ≤ 11.8; TensorFlow 2.15 needs CUDA ≥ 12.0"


def test_a_met_cuda_requirement_is_not_the_reason() -> None:
    why = explain([cuda_cause("12.0")], machine("550.54.15", "12.4"), load(), request())
    assert not why.headline.startswith("driver")


def test_python_names_the_range_and_the_newest_python_in_it() -> None:
    req = VirtualRequirement(
        name=PYTHON, specifier=SpecifierSet(">=3.9,<3.12"), who="TensorFlow 2.15"
    )
    why = explain(
        [RequirementInformation(req, None)], machine("535.104.05", "12.2"), load(), request("3.12")
    )
    assert why.headline == (
        "TensorFlow 2.15 has no wheels for Python 3.12: it supports >=3.9,<3.12"
    )
    # proposals, newest Python first; the solver offers the first of each kind that resolves
    assert [h.text for h in why.hints] == [
        "use --python 3.11",
        "use --python 3.10",
        "use --python 3.9",
        "use --tf 2.21",
    ]


def test_python_names_one_every_framework_asked_for_supports() -> None:
    """spaCy 3.8 runs up to 3.15 but TensorFlow 2.13 only to 3.11 (issue: not --python 3.15)."""
    req = VirtualRequirement(name=PYTHON, specifier=SpecifierSet(">=3.9,<3.16"), who="spaCy 3.8")
    why = explain(
        [RequirementInformation(req, None)],
        machine("535.104.05", "12.2"),
        load(),
        request("3.8", tf="2.13", spacy="3.8"),
    )
    options = [h.options for h in why.hints]
    assert options[0] == (("--python", "3.11"),) and options[-1] == (("--spacy", "3.7"),)


def test_package_against_package_names_both_sides() -> None:
    tf = VirtualCandidate(name="x", version=None)  # any parent with a str() will do
    a = SpecifierRequirement(
        name=canonicalize_name("typing-extensions"), specifier=SpecifierSet("<4.6.0")
    )
    b = SpecifierRequirement(
        name=canonicalize_name("typing-extensions"),
        specifier=SpecifierSet(">=4.12.2"),
        origin="--spacy 3.8",
    )
    why = explain(
        [RequirementInformation(a, tf), RequirementInformation(b, None)],
        machine("535.104.05", "12.2"),
        load(),
        request(),
    )
    assert why.headline == (
        "these requirements conflict: x (unknown) needs typing-extensions<4.6.0, "
        "but --spacy 3.8 needs typing-extensions>=4.12.2"
    )


def test_unknown_release_lists_lines_and_suggests_the_newest_final() -> None:
    fw = FrameworkRequest.from_string("tf", "9.9")
    why = unknown_release(fw, load().tensorflow, "TensorFlow", newest_line=Version("2.21"))
    assert why.headline == "TensorFlow 9.9 is not a release cudaenv knows"
    assert why.reasons[0].startswith("known TensorFlow lines: 2.12, 2.13, 2.14, 2.15,")
    assert "(pre-release only)" in why.reasons[0]
    assert why.hints == (Remedy.use(("--tf", "2.21")),)


def test_a_line_with_only_pre_releases_says_add_pre() -> None:
    fw = FrameworkRequest.from_string("tf", "2.22")
    listed = [Version("2.22.0rc0"), Version("2.21.0")]
    why = unknown_release(
        fw, load().tensorflow, "TensorFlow", versions=listed, newest_line=Version("2.21")
    )
    assert why.sentence() == (
        "TensorFlow 2.22 has only pre-releases so far (2.22.0rc0) → add --pre, or use --tf 2.21"
    )
    assert [h.options for h in why.hints] == [(("--pre", None),), (("--tf", "2.21"),)]


def test_the_error_declares_the_explanation_it_was_made_from() -> None:
    why = Explanation(headline="h", reasons=("r1", "r2"), hints=(Remedy.use(("--pre", None)),))
    err = ResolutionError.explained(why)
    assert (err.message, err.context, err.hint, err.explanation) == (
        "h",
        "r1\nr2",
        "use --pre",
        why,
    )
    assert err.remedies == why.hints
    assert err.to_dict()["remedies"] == [
        {"text": "use --pre", "options": [["--pre", None]], "commands": []}
    ]
    assert ResolutionError("gave up").explanation is None  # an error without one says so


def test_spec_text_puts_lower_bounds_first() -> None:
    assert spec_text(SpecifierSet("<3.12,>=3.9")) == ">=3.9,<3.12"
