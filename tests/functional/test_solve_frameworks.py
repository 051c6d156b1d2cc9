"""PyTorch and JAX beside TensorFlow: one CUDA stack per environment, solved on a real index.

The index on 127.0.0.1 serves the solver's test wheels plus ``tests/cases/frameworks/index.json``:
torch, jax, its CUDA plugins and tensorflow 2.18 carrying their real NVIDIA requirements (PyPI
metadata), and every NVIDIA wheel they pin. The rules under test: exact pins relaxed to the
newest of the frameworks' pins within a major where NVIDIA's rules allow (and recorded), a
conflict across a cuDNN or CUDA major refused with hints that each work, the driver floor over
every framework.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from cudaenv import knowledge, lock
from cudaenv._toml import tomllib
from cudaenv.errors import ResolutionError
from cudaenv.index import Index
from cudaenv.machine import Machine, Overrides, detect
from cudaenv.request import Request
from cudaenv.solver import solve
from tests.functional.solve_index import (  # noqa: F401 (frameworks_server: a fixture)
    FRAMEWORKS,
    _case,
    frameworks_server,
)

if TYPE_CHECKING:
    from pathlib import Path

    from cudaenv.resolution import Resolution
    from tests.tools.index_server import IndexServer

PLATFORM = "manylinux_2_28_x86_64"
CASES = sorted(p for p in FRAMEWORKS.parent.glob("*.json") if p.name != FRAMEWORKS.name)


def machine_for(driver: str | None) -> Machine:
    if driver is None:  # what detect() answers on a machine without a driver
        return Machine(driver_version=None, max_cuda=None, source="none")
    return detect(Overrides(driver=driver), driver_to_cuda=knowledge.load().max_cuda_for_driver)


def run_solve(
    url: str,
    cache: Path,
    *,
    python: str = "3.11",
    driver: str | None = "535.104.05",
    know: knowledge.Knowledge | None = None,
    events: list[object] | None = None,
    **frameworks: str,
) -> Resolution:
    request = Request.from_args(
        tf=frameworks.get("tf"),
        torch=frameworks.get("torch"),
        jax=frameworks.get("jax"),
        spacy=frameworks.get("spacy"),
        python=python,
        platform=PLATFORM,
    )
    on_event = events.append if events is not None else None
    with Index(url, cache_dir=cache, platform=PLATFORM) as index:
        return solve(
            request, machine_for(driver), know or knowledge.load(), index, on_event=on_event
        )


def versions(resolution: Resolution) -> dict[str, str]:
    return {p.name: str(p.version) for p in resolution.pins}


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_case_file(case: Path, frameworks_server: IndexServer, tmp_path: Path) -> None:  # noqa: F811
    """tests/cases/frameworks/*.json: requested + machine + python -> resolved, facts and
    relaxed pins (package: pinned, chosen, by, rule), or the explanation with its hints."""
    doc = json.loads(case.read_text())
    args = {"python": doc["python"], "driver": doc["machine"].get("driver")}
    if "explanation" in doc:
        with pytest.raises(ResolutionError) as info:
            run_solve(frameworks_server.url, tmp_path, **doc["requested"], **args)
        assert info.value.explanation.sentence() == doc["explanation"]
        return
    res = run_solve(frameworks_server.url, tmp_path, **doc["requested"], **args)
    got = versions(res)
    assert {name: got.get(name) for name in doc["resolved"]} == doc["resolved"]
    held = res.stack.to_table()  # the stack's facts as the lock writes them
    facts = {k: held.get(k.replace("_", "-")) for k in doc["facts"]}
    assert facts == doc["facts"]
    relaxed = {x.package: [str(x.pinned), str(x.chosen), x.by, x.rule] for x in res.relaxed}
    assert relaxed == doc["relaxed"]
    for x in res.relaxed:  # never below the pin, never into another major
        assert x.chosen > x.pinned and x.chosen.release[0] == x.pinned.release[0]
        assert x.source.startswith("https://")


def test_without_nvidias_rules_the_pair_is_unsatisfiable(
    frameworks_server: IndexServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    """What plain resolvers answer for TF 2.18 + torch 2.7: the rules are what make one set."""
    bare = dataclasses.replace(knowledge.load(), compat_rules=(), digest="")
    with pytest.raises(ResolutionError) as info:
        run_solve(frameworks_server.url, tmp_path, tf="2.18", torch="2.7", know=bare)
    assert "nvidia-" in info.value.message
    res = run_solve(frameworks_server.url, tmp_path / "rules", tf="2.18", torch="2.7")
    assert len(res.relaxed) == 11


def test_a_remembered_solve_keeps_its_relaxed_pins(
    frameworks_server: IndexServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    searched: list[object] = []
    first = run_solve(frameworks_server.url, tmp_path, tf="2.18", torch="2.7", events=searched)
    remembered: list[object] = []
    again = run_solve(frameworks_server.url, tmp_path, tf="2.18", torch="2.7", events=remembered)
    assert searched and not remembered  # the second answer came from memory
    assert again == first and len(again.relaxed) == 11


def test_relaxed_pins_are_said_and_locked(
    frameworks_server: IndexServer,  # noqa: F811
    tmp_path: Path,
    cli,
) -> None:
    args = ("--tf", "2.18", "--torch", "2.7", "--driver", "535.104.05", "--python", "3.11")
    index = ("--platform", PLATFORM, "--index-url", frameworks_server.url)
    index += ("--cache-dir", str(tmp_path / "cache"))
    human = cli("solve", *args, *index)
    assert human.code == 0, human.err
    assert "relaxed 11 exact pins of 11 NVIDIA wheels to one common set" in human.out
    assert (
        "relaxed: nvidia-cudnn-cu12 ==9.3.0.75 (tensorflow[and-cuda]==2.18.1) -> 9.5.1.17 "
        "under cudnn-minor-backward"
    ) in human.out
    assert "cuSPARSE's documentation promises source compatibility" in human.out  # a caveat
    doc = json.loads(cli("solve", *args, *index, "--json").out)
    cudnn = next(x for x in doc["relaxed"] if x["package"] == "nvidia-cudnn-cu12")
    assert (cudnn["pinned"], cudnn["chosen"], cudnn["rule"]) == (
        "9.3.0.75",
        "9.5.1.17",
        "cudnn-minor-backward",
    )
    out = tmp_path / "pylock.toml"
    made = cli("lock", *args, *index, "-o", str(out))
    assert made.code == 0, made.err
    assert "relaxed: nvidia-nccl-cu12 ==2.21.5 (tensorflow[and-cuda]==2.18.1) -> 2.26.2" in (
        made.out
    )
    lock = tomllib.loads(out.read_text())
    table = lock["tool"]["cudaenv"]["relaxed"]
    assert {x["package"]: x["rule"] for x in table}["nvidia-nvjitlink-cu12"] == "nvjitlink-minor"
    pinned = {p["name"]: p["version"] for p in lock["packages"]}
    assert all(pinned[x["package"]] == x["chosen"] for x in table)
    assert [f["name"] for f in lock["tool"]["cudaenv"]["frameworks"]] == ["tensorflow", "torch"]


def _remedies(cli, argv: list[str]) -> list[dict[str, Any]]:
    r = cli(*argv, "--json")
    assert r.code == 2, r.out
    error = json.loads(r.out)["error"]
    assert "Traceback" not in r.err
    return list(error["remedies"])


def _apply(argv: list[str], options: list[list[Any]]) -> list[str]:
    out = list(argv)
    for flag, value in options:
        if flag in out:
            out[out.index(flag) + 1] = value
        else:
            out += [flag, value]
    return out


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        (["--tf", "2.15", "--torch", "2.7"], [[["--tf", "2.18"]], [["--torch", "2.3"]]]),
        (["--tf", "2.18", "--torch", "2.11"], [[["--torch", "2.7"]]]),
        (
            ["--torch", "2.11", "--jax", "0.7"],
            [[["--driver", "580.65.06"]], [["--torch", "2.7"]]],
        ),
    ],
    ids=["cudnn-majors", "cuda-majors", "driver-floor"],
)
def test_each_hint_of_a_refused_pair_works(
    asked: list[str],
    expected: list[list[list[str]]],
    frameworks_server: IndexServer,  # noqa: F811
    tmp_path: Path,
    cli,
) -> None:
    """Exit 2 with the ways out as data; each, applied to the command line, solves (exit 0)
    to one cuDNN and one CUDA major."""
    base = ["solve", *asked, "--python", "3.11", "--platform", PLATFORM]
    base += ["--index-url", frameworks_server.url, "--cache-dir", str(tmp_path)]
    driver = [] if "--driver" in asked else ["--driver", "535.104.05"]
    remedies = _remedies(cli, [*base, *driver])
    assert [r["options"] for r in remedies] == expected
    for remedy in remedies:
        followed = cli(*_apply([*base, *driver], remedy["options"]), "--json")
        assert followed.code == 0, (remedy["text"], followed.err)
        names = [p["name"] for p in json.loads(followed.out)["packages"]]
        assert len([n for n in names if n.startswith("nvidia-cudnn-")]) == 1
        assert not ({"nvidia-cuda-runtime", "nvidia-cuda-runtime-cu12"} <= set(names))


def test_create_installs_the_relaxed_set_and_its_lock_says_why(
    frameworks_server: IndexServer,  # noqa: F811
    tmp_path: Path,
    cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """create --tf 2.18 --torch 2.7 into ./tf218-torch27: the common set installed, each relaxed
    pin in its summary and in the environment's lock."""
    monkeypatch.chdir(tmp_path)
    result = cli(
        "create", "--tf", "2.18", "--torch", "2.7", "--driver", "535.104.05",
        "--python", "3.11", "--platform", PLATFORM, "--index-url", frameworks_server.url,
        "--cache-dir", str(tmp_path / "cache"), "--no-smoke",
    )  # fmt: skip
    assert result.code == 0, result.err
    prefix = tmp_path / "tf218-torch27"
    assert (
        "  relaxed: nvidia-cudnn-cu12 ==9.3.0.75 (tensorflow[and-cuda]==2.18.1) -> 9.5.1.17 "
        "under cudnn-minor-backward"
    ) in result.out
    locked = tomllib.loads((prefix / "pylock.toml").read_text())
    assert len(locked["tool"]["cudaenv"]["relaxed"]) == 11
    site = next(prefix.glob("lib/python3.*/site-packages"))
    assert (site / "nvidia_cudnn_cu12-9.5.1.17.dist-info").is_dir()
    assert not list(site.glob("nvidia_cudnn_cu12-9.3*"))  # one cuDNN in the environment


def _conflict_pair(headline: str) -> tuple[Requirement, Requirement]:
    """The two requirements of "these requirements conflict: X needs R1, but Y needs R2"."""
    first, second = headline.split("conflict: ", 1)[1].split(", but ", 1)
    return (Requirement(first.rsplit(" needs ", 1)[1]), Requirement(second.rsplit(" needs ", 1)[1]))


@pytest.mark.parametrize(
    "case", ["jax07-spacy38-numpy-conflict", "tf218-jax07-spacy38-numpy-conflict"]
)
def test_the_named_pair_is_unsatisfiable_on_the_index(
    case: str,
    frameworks_server: IndexServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Issue 22: the explanation names two requirements no release on the index meets both of,
    each of which some release meets alone (not the first two causes resolvelib lists)."""
    doc = json.loads((FRAMEWORKS.parent / f"{case}.json").read_text())
    args = {"python": doc["python"], "driver": doc["machine"].get("driver")}
    with pytest.raises(ResolutionError) as info:
        run_solve(frameworks_server.url, tmp_path, **doc["requested"], **args)
    a, b = _conflict_pair(info.value.message)
    assert a.name == b.name
    served = [Version(r["version"]) for r in _case([FRAMEWORKS])["projects"][a.name]]
    assert any(a.specifier.contains(v) for v in served)
    assert any(b.specifier.contains(v) for v in served)
    assert not any(a.specifier.contains(v) and b.specifier.contains(v) for v in served)


@pytest.mark.parametrize(
    ("asked", "driver", "expected"),
    [
        (["--torch", "2.11", "--spacy", "3.8"], "580.65.06", [["--torch", "2.7"]]),
        (["--jax", "0.7", "--spacy", "3.8"], "580.65.06", [["--python", "3.13"]]),
        (["--torch", "2.11"], "580.65.05", [["--driver", "580.65.06"]]),
    ],
    ids=["spacy-keeps-the-gpu", "numpy-pair", "one-below-cuda13-floor"],
)
def test_issue22_ways_out_work(
    asked: list[str],
    driver: str,
    expected: list[list[str]],
    frameworks_server: IndexServer,  # noqa: F811
    tmp_path: Path,
    cli,
) -> None:
    """The first way out keeps the GPU; every way out printed, followed, solves (exit 0)."""
    base = ["solve", *asked, "--python", "3.11", "--platform", PLATFORM, "--driver", driver]
    base += ["--index-url", frameworks_server.url, "--cache-dir", str(tmp_path)]
    remedies = _remedies(cli, base)
    assert remedies[0]["options"] == expected
    for remedy in remedies:
        argv = list(base)
        for flag, value in remedy["options"]:
            if flag in argv:
                argv[argv.index(flag) + 1] = value
            else:
                argv += [flag] if value is None else [flag, value]
        followed = cli(*argv, "--json")
        assert followed.code == 0, (remedy["text"], followed.err)
        assert "error" not in json.loads(followed.out)


def test_a_pin_raised_above_every_pin_takes_the_lowest_release_and_says_so(
    frameworks_server: IndexServer,  # noqa: F811
    tmp_path: Path,
    cli,
) -> None:
    """TF 2.18 pins cuDNN 9.3.0.75, JAX 0.7's plugin asks >=9.8: the lowest release that meets
    both (9.8.0.87, the index also has 9.10.2.21) is chosen; the lock and --json say why, and
    a pin met by another framework's pin says that instead."""
    index = ("--platform", PLATFORM, "--index-url", frameworks_server.url)
    index += ("--cache-dir", str(tmp_path / "cache"), "--driver", "535.104.05")
    out = tmp_path / "pylock.toml"
    made = cli("lock", "--tf", "2.18", "--jax", "0.7", "--python", "3.11", *index, "-o", str(out))
    assert made.code == 0, made.err
    why = (
        "the lowest release that meets every requirement (jax-cuda12-plugin[with-cuda]==0.7.2 "
        "needs nvidia-cudnn-cu12<10.0,>=9.8)"
    )
    assert f"-> 9.8.0.87 under cudnn-minor-backward: {why}" in made.out
    table = tomllib.loads(out.read_text())["tool"]["cudaenv"]["relaxed"]
    cudnn = next(x for x in table if x["package"] == "nvidia-cudnn-cu12")
    assert (cudnn["chosen"], cudnn["why"]) == ("9.8.0.87", why)
    read = {x.package: x.why for x in lock.load(out).resolution.relaxed}  # read back
    assert read[canonicalize_name("nvidia-cudnn-cu12")] == why
    doc = json.loads(cli("solve", "--tf", "2.18", "--torch", "2.7", *index, "--json").out)
    cudnn = next(x for x in doc["relaxed"] if x["package"] == "nvidia-cudnn-cu12")
    assert cudnn["why"] == "the newest of the frameworks' pins (torch==2.7.1 pins 9.5.1.17)"


def test_each_reason_of_a_conflict_is_printed_on_its_own_indented_line(
    frameworks_server: IndexServer,  # noqa: F811
    tmp_path: Path,
    cli,
) -> None:
    r = cli(
        "solve", "--tf", "2.18", "--jax", "0.7", "--spacy", "3.8", "--python", "3.11",
        "--driver", "535.104.05", "--platform", PLATFORM, "--index-url", frameworks_server.url,
        "--cache-dir", str(tmp_path),
    )  # fmt: skip
    assert r.code == 2, r.err
    lines = r.err.splitlines()
    reasons = lines[lines.index(next(ln for ln in lines if ln.startswith("error:"))) + 1 : -1]
    assert len(reasons) >= 3 and lines[-1].startswith("hint:")
    assert all(ln.startswith("  ") and " needs numpy" in ln for ln in reasons), r.err
