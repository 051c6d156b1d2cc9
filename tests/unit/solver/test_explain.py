"""explain(): causes + machine + knowledge -> the sentence and the way out. No network."""

from __future__ import annotations

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version
from resolvelib.structs import RequirementInformation

from cudaenv.driver import DriverVersion
from cudaenv.knowledge import load, spec_text
from cudaenv.machine import Machine
from cudaenv.request import FrameworkRequest, Request
from cudaenv.solver.candidates import VirtualCandidate
from cudaenv.solver.explain import Explanation, Hint, as_error, explain, unknown_release
from cudaenv.solver.requirements import CUDA, PYTHON, SpecifierRequirement, VirtualRequirement


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
        "→ upgrade the driver to ≥ 525.60.13, or use --tf 2.14"
    )
    assert why.hints == (
        Hint(kind="upgrade-driver", value="525.60.13"),
        Hint(kind="option", value="--tf 2.14"),
    )


def test_line_hint_skips_lines_whose_releases_are_all_bad_on_the_target() -> None:
    """TF 2.14.0/2.14.1 and-cuda pin tensorrt 8.5.3.1: no wheel for Python 3.11
    (docs/facts.md, "TensorRT in and-cuda")."""
    releases = [Version(v) for v in ("2.13.1", "2.14.0", "2.14.1", "2.15.1")]
    why = explain(
        [cuda_cause("12.0")],
        machine("470.82.01", "11.4"),
        load(),
        request("3.11"),
        tf_releases=releases,
    )
    assert why.hint_text() == "upgrade the driver to ≥ 525.60.13, or use --tf 2.13"


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
    assert why.sentence() == (
        "TensorFlow 2.15 has no wheels for Python 3.12: it supports >=3.9,<3.12 "
        "→ use --python 3.11, or use --tf 2.21"
    )


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
    why = unknown_release(fw, load().tensorflow, "TensorFlow")
    assert why.headline == "TensorFlow 9.9 is not a release cudaenv knows"
    assert why.reasons[0].startswith("known TensorFlow lines: 2.12, 2.13, 2.14, 2.15,")
    assert "(pre-release only)" in why.reasons[0]
    newest_final = max(t.line for t in load().tensorflow if not t.pre_release_only)
    assert why.hints == (Hint(kind="option", value=f"--tf {newest_final}"),)


def test_as_error_keeps_the_value() -> None:
    why = Explanation(headline="h", reasons=("r1", "r2"), hints=(Hint(kind="text", value="x"),))
    err = as_error(why)
    assert (err.message, err.context, err.hint, err.explanation) == ("h", "r1\nr2", "x", why)


def test_spec_text_puts_lower_bounds_first() -> None:
    assert spec_text(SpecifierSet("<3.12,>=3.9")) == ">=3.9,<3.12"
