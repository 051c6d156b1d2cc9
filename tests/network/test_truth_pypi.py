"""Issue 22, items 3-7, against the real PyPI: the cases a differential against uv found, and
cases of the same classes. Every way out printed is followed and must solve (exit 0).

3. the stack major is the newest every framework reaches, spaCy's CuPy extras included;
4. a conflict names two requirements no release meets both of (checked on the index);
5. ``--pre`` solves a line that has only pre-releases, from its metadata, saying so;
6. a driver one release below each floor of ``constraints/`` is refused with the floor named;
7. a relaxed pin raised above every pin takes the lowest release that meets every requirement.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from cudaenv import knowledge
from cudaenv._toml import tomllib
from cudaenv.index import Index

if TYPE_CHECKING:
    from pathlib import Path

    from cudaenv.driver import DriverVersion

pytestmark = pytest.mark.network

PYPI = "https://pypi.org/simple"
PLATFORM = "manylinux_2_28_x86_64"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pypi-cache")


def _argv(cache: Path, *request: str) -> list[str]:
    python = [] if "--python" in request else ["--python", "3.11"]
    driver = [] if "--driver" in request else ["--driver", "535.104.05"]
    return ["solve", *request, *python, *driver, "--platform", PLATFORM, "--cache-dir", str(cache)]


def _apply(argv: list[str], options: list[list[Any]]) -> list[str]:
    out = list(argv)
    for flag, value in options:
        if flag in out and value is not None:
            out[out.index(flag) + 1] = value
        elif flag not in out:
            out += [flag] if value is None else [flag, value]
    return out


def _refused(cli, argv: list[str]) -> dict[str, Any]:
    """The error of a refused solve; every way out it prints, followed, solves."""
    r = cli(*argv, "--json")
    assert r.code == 2, r.out
    error: dict[str, Any] = json.loads(r.out)["error"]
    for remedy in error["remedies"]:
        for command in remedy["commands"]:  # `cudaenv matrix`: run as printed
            assert command[0] == "cudaenv"
            assert cli(*command[1:]).code == 0, remedy["text"]
        if remedy["options"]:
            followed = cli(*_apply(argv, remedy["options"]), "--json")
            assert followed.code == 0, (remedy["text"], followed.out, followed.err)
    return error


def _solved(cli, argv: list[str]) -> dict[str, Any]:
    r = cli(*argv, "--json")
    assert r.code == 0, r.out
    doc: dict[str, Any] = json.loads(r.out)
    return doc


def _pins(doc: dict[str, Any]) -> dict[str, Version]:
    return {p["name"]: Version(p["version"]) for p in doc["packages"]}


def _listed(cache: Path, name: str) -> list[Version]:
    """Every final, unyanked release of ``name`` with an x86_64 Linux wheel or a pure one."""
    with Index(PYPI, cache_dir=cache, platform=PLATFORM) as index:
        links = index.project(name)
    return sorted(
        {
            lk.version
            for lk in links
            if lk.version is not None
            and lk.is_wheel
            and not lk.version.is_prerelease
            and not lk.yanked
            and ("x86_64" in lk.filename or lk.filename.endswith("-any.whl"))
        }
    )


# -- 3. the stack major -------------------------------------------------------------------------
def test_torch214_beside_spacy38_on_a_cuda13_driver_offers_a_line_that_keeps_the_gpu(
    cache: Path, cli
) -> None:
    """The named case: PyTorch 2.14 is built for CUDA 13 only, spaCy 3.8 reaches 11 and 12:
    the first way out is the newest PyTorch line on CUDA 12, and it solves."""
    know = knowledge.load()
    newest12 = max(t.line for t in know.torch if t.cuda_major == 12)
    argv = _argv(cache, "--torch", "2.14", "--spacy", "3.8", "--driver", "580.65.06")
    error = _refused(cli, argv)
    assert error["remedies"][0]["options"] == [["--torch", str(newest12)]]


def test_jax08_beside_spacy38_on_a_cuda13_driver_runs_on_cuda12(cache: Path, cli) -> None:
    """JAX 0.8 reaches CUDA 12 and 13, spaCy 3.8 only 12: CUDA 12, which the 580 driver runs
    (on Python 3.13 spaCy's CuPy is 13.x, which runs beside JAX's NumPy 2)."""
    argv = _argv(cache, "--jax", "0.8", "--spacy", "3.8", "--driver", "580.65.06")
    doc = _solved(cli, _apply(argv, [["--python", "3.13"]]))
    pins = _pins(doc)
    assert "jax-cuda12-plugin" in pins and "jax-cuda13-plugin" not in pins
    assert pins["cupy-cuda12x"] >= Version("13") and "cupy-cuda13x" not in pins
    assert doc["driver_floor"] == "525.60.13"


def test_a_torch_range_beside_spacy38_on_a_cuda13_driver_takes_a_cuda12_line(
    cache: Path, cli
) -> None:
    doc = _solved(cli, _argv(cache, "--torch", ">=2.9", "--spacy", "3.8", "--driver", "580.65.06"))
    know = knowledge.load()
    line = know.torch_line(_pins(doc)["torch"])
    assert line is not None and line.cuda_major == 12
    assert "nvidia-cudnn-cu12" in _pins(doc)


def test_spacys_newest_release_declares_the_gpu_extras_the_recipes_know(cache: Path) -> None:
    """Whether spaCy declares a CUDA 13 extra yet (it did not, up to 3.8.18 and 4.0.0.dev3):
    the day the newest release's ``cudaNNx`` extras differ from its recipe line, this fails
    and the recipe must follow (a cuda13x extra then lets spaCy onto CUDA 13 stacks)."""
    with Index(PYPI, cache_dir=cache, platform=PLATFORM) as index:
        links = [lk for lk in index.project("spacy") if lk.is_wheel and lk.version is not None]
        newest = max(lk.version for lk in links if lk.version and not lk.version.is_prerelease)
        link = next(lk for lk in links if lk.version == newest and "x86_64" in lk.filename)
        meta = index.metadata(link)
    declared = {
        int(m.group(1)): str(e)
        for e in meta.provides_extra
        if (m := re.fullmatch(r"cuda(\d+)x", str(e)))
    }
    line = knowledge.load().spacy_line(newest)
    assert line is not None, f"spaCy {newest} has no recipe line"
    assert dict(line.gpu_extras) == declared


# -- 4. the conflict named ----------------------------------------------------------------------
def _pair(message: str) -> tuple[Requirement, Requirement]:
    """``these requirements conflict: X needs R1, but Y needs R2`` (or: but the recipe limits
    P to S) -> R1, R2."""
    first, second = message.split("conflict: ", 1)[1].split(", but ", 1)
    left = Requirement(first.rsplit(" needs ", 1)[1])
    if " limits " in second:
        name, spec = second.rsplit(" limits ", 1)[1].split(" to ", 1)
        return left, Requirement(f"{name}{spec}")
    return left, Requirement(second.rsplit(" needs ", 1)[1])


@pytest.mark.parametrize(
    "request_",
    [
        ("--tf", "2.20", "--torch", "2.9", "--jax", "0.8", "--spacy", "3.8", "--python", "3.12"),
        ("--jax", "0.8", "--spacy", "3.8", "--driver", "580.65.06", "--python", "3.12"),
        ("--jax", "0.8", "--spacy", "3.7"),
        ("--tf", "2.15", "--jax", "0.8"),
    ],
    ids=["tf220-torch29-jax08-spacy38", "jax08-spacy38-driver580", "jax08-spacy37", "tf215-jax08"],
)
def test_the_named_pair_is_unsatisfiable_on_pypi(request_, cache: Path, cli) -> None:
    """Each of the two requirements named is met by some release on PyPI; none meets both."""
    error = _refused(cli, _argv(cache, *request_))
    a, b = _pair(error["message"])
    assert canonicalize_name(a.name) == canonicalize_name(b.name), error["message"]
    listed = _listed(cache, a.name)
    assert any(a.specifier.contains(v) for v in listed)
    assert any(b.specifier.contains(v) for v in listed)
    assert not any(a.specifier.contains(v) and b.specifier.contains(v) for v in listed)


def test_the_named_case_blames_spacys_cupy_not_tensorflow(cache: Path, cli) -> None:
    argv = _argv(cache, "--tf", "2.20", "--torch", "2.9", "--jax", "0.8", "--spacy", "3.8")
    message = _refused(cli, _apply(argv, [["--python", "3.12"]]))["message"]
    assert "(spaCy's CuPy) needs numpy<1.29" in message and "tensorflow" not in message


# -- 5. --pre -----------------------------------------------------------------------------------
def _spacy4_final(cache: Path) -> bool:
    return any(v.release[:2] == (4, 0) for v in _listed(cache, "spacy"))


def test_spacy40_with_pre_is_solved_from_its_metadata(cache: Path, cli) -> None:
    """The named case: without --pre the way out is --pre (and it solves); with it, the newest
    4.0 pre-release, uncurated, said in a note."""
    if _spacy4_final(cache):
        pytest.skip("spaCy 4.0 has a final release now")
    error = _refused(cli, _argv(cache, "--spacy", "4.0"))
    assert error["remedies"][0]["options"] == [["--pre", None]]
    doc = _solved(cli, _argv(cache, "--spacy", "4.0", "--pre"))
    spacy = _pins(doc)["spacy"]
    assert spacy.release[:2] == (4, 0) and spacy.is_prerelease
    human = cli(*_argv(cache, "--spacy", "4.0", "--pre")).out
    assert f"metadata of spacy {spacy}, a pre-release taken for --pre" in human


@pytest.mark.parametrize(
    "request_",
    [("--spacy", "4.0", "--pre", "--cpu"), ("--spacy", "4.0.0.dev2", "--pre", "--tf", "2.21")],
    ids=["cpu", "exact-pre-beside-tf221"],
)
def test_other_pre_release_only_requests_solve(request_, cache: Path, cli) -> None:
    if _spacy4_final(cache):
        pytest.skip("spaCy 4.0 has a final release now")
    spacy = _pins(_solved(cli, _argv(cache, *request_)))["spacy"]
    assert spacy.release[:2] == (4, 0) and spacy.is_prerelease


# -- 6. the driver floor ------------------------------------------------------------------------
def _one_below(driver: DriverVersion) -> str:
    """450.80.02 -> 450.80.01: the driver one release below, as NVIDIA writes it."""
    *head, last = str(driver).split(".")
    return ".".join([*head, f"{int(last) - 1:0{len(last)}d}"])


def _request_on(major: int) -> tuple[str, ...]:
    """A framework line whose stack is CUDA ``major``: TensorFlow's newest, else PyTorch's."""
    know = knowledge.load()
    tf = [t.line for t in know.tensorflow if t.cuda_major == major and not t.pre_release_only]
    if tf:
        return ("--tf", str(max(tf)))
    return ("--torch", str(max(t.line for t in know.torch if t.cuda_major == major)))


FLOORS = [(f.cuda_major, f.driver) for f in knowledge.load().floors]


@pytest.mark.parametrize(("major", "floor"), FLOORS, ids=[f"cuda{m}" for m, _ in FLOORS])
def test_a_driver_one_below_each_floor_is_refused_naming_it(major, floor, cache, cli) -> None:
    """Every floor of constraints/cuda_driver.toml: one release below it is refused (exit 2),
    the floor named, every way out solves; at the floor the solve prints that floor."""
    argv = _argv(cache, *_request_on(major), "--driver", _one_below(floor))
    error = _refused(cli, argv)
    assert f"≥ {floor}" in f"{error['message']} {error['hint']}", error
    assert ["--driver", str(floor)] in [o for r in error["remedies"] for o in r["options"]]
    doc = _solved(cli, _apply(argv, [["--driver", str(floor)]]))
    assert doc["driver_floor"] == str(floor)


def test_the_cuda11_gap_is_closed(cache: Path, cli) -> None:
    """450.51.05 (the CUDA 11.0 GA driver) reports CUDA 11.0 but is below 450.80.02, from
    which minor-version compatibility runs the CUDA 11.8 wheels: refused, spaCy 3.5 too."""
    for request_ in (("--tf", "2.12"), ("--spacy", "3.5")):
        error = _refused(cli, _argv(cache, *request_, "--driver", "450.51.05"))
        assert "needs driver ≥ 450.80.02" in error["message"]


# -- 7. relaxed pins ----------------------------------------------------------------------------
def _check_lowest(doc: dict[str, Any], cache: Path) -> list[dict[str, Any]]:
    """Each relaxed pin raised above every pin is the lowest release on PyPI within the pins'
    major that meets every requirement ``why`` names; returns those."""
    raised = [x for x in doc["relaxed"] if x["why"].startswith("the lowest release")]
    for x in raised:
        pins = [Version(y["pinned"]) for y in doc["relaxed"] if y["package"] == x["package"]]
        needs = [Requirement(m) for m in re.findall(r"needs (\S+?)(?:;|\)$)", x["why"])]
        assert needs, x
        top = max(pins)
        fits = [
            v
            for v in _listed(cache, x["package"])
            if v >= top
            and v.release[0] == top.release[0]
            and all(r.specifier.contains(v) for r in needs)
        ]
        assert Version(x["chosen"]) == min(fits), (x, fits[:5])
    return raised


def test_tf215_with_jax04_takes_the_lowest_release_and_the_lock_says_so(
    cache: Path, cli, tmp_path: Path
) -> None:
    """The named case: TF 2.15 pins NCCL 2.16.5, JAX 0.4's CUDA extra asks for more: the
    lowest release that meets both, not the newest NCCL 2.x."""
    argv = _argv(cache, "--tf", "2.15", "--jax", "0.4")
    raised = _check_lowest(_solved(cli, argv), cache)
    assert "nvidia-nccl-cu12" in {x["package"] for x in raised}
    out = tmp_path / "pylock.toml"
    made = cli("lock", *argv[1:], "-o", str(out))
    assert made.code == 0, made.err
    table = tomllib.loads(out.read_text())["tool"]["cudaenv"]["relaxed"]
    nccl = next(x for x in table if x["package"] == "nvidia-nccl-cu12")
    assert nccl["why"].startswith("the lowest release that meets every requirement (jax")


@pytest.mark.parametrize(
    "request_", [("--tf", "2.18", "--jax", "0.7"), ("--torch", "2.7", "--jax", "0.7")]
)
def test_a_range_above_the_pins_takes_the_lowest_release(request_, cache: Path, cli) -> None:
    raised = _check_lowest(_solved(cli, _argv(cache, *request_)), cache)
    assert "nvidia-cudnn-cu12" in {x["package"] for x in raised}
