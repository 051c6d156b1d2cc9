"""Every hint works when followed: refused ``solve``/``lock``/``create`` requests, each way out
applied and run.

Each request below is refused (exit 2). Its ``--json`` error carries the ways out as data
(``remedies``: options to set on the same command, or whole commands); the test applies each one
to the refused command line, runs it, and requires exit 0. The index is the solver's test index
on 127.0.0.1 with the releases of ``tests/cases/hints/index.json``, the knowledge base the real
one, the driver given with ``--driver``/``--cuda`` (no GPU here).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.functional.solve_index import hints_server  # noqa: F401 (a fixture)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.tools.index_server import IndexServer

PLATFORM = "manylinux_2_28_x86_64"
SOLVING = ("solve", "lock", "create")

# (id, the refused command line, what its first remedy sets): {tmp} is a fresh folder, {lock}
# a lock for TF 2.15 + spaCy 3.7 made for a CUDA 12.2 driver.
REFUSED: list[tuple[str, list[str], tuple[tuple[str, str | None], ...] | None]] = [
    ("driver-older-than-the-table", ["solve", "--tf", "2.15", "--driver", "418.39"],
     (("--driver", "525.60.13"),)),
    ("lock-driver-older-than-the-table",
     ["lock", "--tf", "2.15", "--spacy", "3.7", "--driver", "440.33.01", "-o", "{tmp}/pylock.toml"],
     (("--driver", "525.60.13"),)),
    ("driver-too-old", ["solve", "--tf", "2.15", "--driver", "470.82.01"],
     (("--driver", "525.60.13"),)),
    ("cuda-override-too-old", ["solve", "--tf", "2.15", "--spacy", "3.7", "--cuda", "11.8"],
     (("--cuda", "12.0"),)),
    ("spacy-without-wheels-for-the-python",
     ["solve", "--tf", "2.13", "--spacy", "3.8", "--python", "3.8"], (("--python", "3.11"),)),
    ("lock-spacy-without-wheels-for-the-python",
     ["lock", "--tf", "2.13", "--spacy", "3.8", "--python", "3.8", "-o", "{tmp}/pylock.toml"],
     (("--python", "3.11"),)),
    ("spacy-alone-without-wheels-for-the-python", ["solve", "--spacy", "3.8", "--python", "3.8"],
     (("--python", "3.13"),)),
    ("spacy-without-a-cuda-12-extra", ["solve", "--tf", "2.21", "--spacy", "3.5"],
     (("--spacy", "3.8"),)),
    ("spacy-without-a-cuda-12-extra-tf215", ["solve", "--tf", "2.15", "--spacy", "3.5"],
     (("--spacy", "3.8"),)),
    ("tf-without-wheels-for-the-python", ["solve", "--tf", "2.15", "--python", "3.12"],
     (("--python", "3.11"),)),
    ("only-pre-releases", ["solve", "--tf", "2.22"], (("--pre", None),)),
    ("unknown-line", ["solve", "--tf", "9.9"], (("--tf", "2.21"),)),
    ("yanked-exact-release", ["solve", "--spacy", "3.7.3"], (("--spacy", "3.7"),)),
    ("not-a-driver-version", ["solve", "--tf", "2.15", "--driver", "abc"],
     (("--driver", "535.104.05"),)),
    ("nothing-asked", ["lock", "-o", "{tmp}/pylock.toml"], (("--tf", "2.21"),)),
    ("create-driver-too-old",
     ["create", "--tf", "2.15", "--driver", "470.82.01", "-p", "{tmp}/env", "--no-smoke"],
     (("--driver", "525.60.13"),)),
    ("create-from-a-lock-for-a-newer-driver",
     ["create", "--from", "{lock}", "-p", "{tmp}/env", "--no-smoke", "--driver", "470.82.01"],
     (("--driver", "525.60.13"),)),
]  # fmt: skip


def _with_defaults(argv: list[str], url: str, cache: Path) -> list[str]:
    """The test's machine, target and index, unless the command line names its own."""
    if argv[0] not in SOLVING:
        return argv
    out = list(argv)
    if "--python" not in out and "--from" not in out:
        out += ["--python", "3.11"]
    if "--platform" not in out and "--from" not in out:
        out += ["--platform", PLATFORM]
    if not {"--driver", "--cuda"} & set(out):
        out += ["--driver", "535.104.05"]
    if "--index-url" not in out and "--from" not in out:
        out += ["--index-url", url]
    return [*out, "--cache-dir", str(cache)]


def _apply(argv: list[str], options: list[list[Any]]) -> list[str]:
    """``argv`` with each option set: its value replaced, or the option added."""
    out = list(argv)
    for flag, value in options:
        if flag in out:
            i = out.index(flag)
            if value is None:
                continue
            out[i + 1] = value
        else:
            out += [flag] if value is None else [flag, value]
    return out


def _fresh(argv: list[str], tmp: Path, n: int) -> list[str]:
    """A new prefix and output for each attempt (a created environment stays)."""
    out = []
    for arg in argv:
        out.append(arg.replace("{tmp}", str(tmp / f"try{n}")))
    (tmp / f"try{n}").mkdir(exist_ok=True)
    return out


@pytest.fixture(scope="module")
def made_lock(
    hints_server: IndexServer,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    from cudaenv.cli import main

    path = tmp_path_factory.mktemp("lock") / "pylock.toml"
    argv = ["lock", "--tf", "2.15", "--spacy", "3.7", "-o", str(path)]
    cache = tmp_path_factory.mktemp("lock-cache")
    assert main(_with_defaults(argv, hints_server.url, cache)) == 0
    return path


def _run_json(cli: Callable[..., Any], argv: list[str]) -> tuple[int, dict[str, Any]]:
    result = cli(*argv, "--json")
    try:
        doc = json.loads(result.out) if result.out.strip() else {}
    except json.JSONDecodeError:
        doc = {}
    return result.code, doc


@pytest.mark.parametrize(
    ("argv", "first"), [(a, f) for _, a, f in REFUSED], ids=[i for i, _, _ in REFUSED]
)
def test_each_remedy_of_a_refused_request_works(
    argv: list[str],
    first: tuple[tuple[str, str | None], ...],
    hints_server: IndexServer,  # noqa: F811
    made_lock: Path,
    tmp_path: Path,
    cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # a remedy that writes pylock.toml writes it here
    cache = tmp_path / "cache"
    base = [a.replace("{lock}", str(made_lock)) for a in argv]
    refused = _with_defaults(_fresh(base, tmp_path, 0), hints_server.url, cache)
    code, doc = _run_json(cli, refused)
    assert code == 2, doc
    error = doc["error"]
    assert "Traceback" not in json.dumps(error)
    remedies = error["remedies"]
    assert remedies, error
    assert error["hint"] == ", or ".join(r["text"] for r in remedies)
    assert tuple(tuple(o) for o in remedies[0]["options"]) == first, remedies
    assert not (tmp_path / "try0" / "env").exists()  # nothing half-made
    assert not (tmp_path / "try0" / "pylock.toml").exists()  # a refused lock writes nothing
    for n, remedy in enumerate(remedies, start=1):
        if remedy["options"]:
            attempt = _apply(_with_defaults(_fresh(base, tmp_path, n), hints_server.url, cache),
                             remedy["options"])  # fmt: skip
            followed = cli(*attempt)
            assert followed.code == 0, (remedy["text"], attempt, followed.err)
        for command in remedy["commands"]:
            assert command[0] == "cudaenv", command
            followed = cli(*command[1:], "--cache-dir", str(cache))
            assert followed.code == 0, (remedy["text"], command, followed.err)


def test_the_refusals_are_enough_and_each_one_different() -> None:
    """Issue 14: at least 12 refused requests, across solve, lock and create."""
    assert len(REFUSED) >= 12
    assert {argv[0] for _, argv, _ in REFUSED} == set(SOLVING)
    assert len({tuple(argv) for _, argv, _ in REFUSED}) == len(REFUSED)
