"""Activation never leaks into another environment: real shells, real venvs (a stock one made by
``python3 -m venv``), cudaenv venvs and cudaenv conda prefixes, activated over each other in
every order. After each step the variables activation owns must be exactly those of the
environment on top (the starting state when that one is not cudaenv's): unset, set or exported,
and the value, byte for byte. At the end nothing of cudaenv's is left in the shell.
"""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from packaging.version import Version

from cudaenv import activation
from cudaenv.envs.base import Env
from cudaenv.envs.venv import VenvBackend
from tests.functional.activation_shells import (
    FAKE_CONDA_FISH,
    FAKE_CONDA_SH,
    HAS_CONDA,
    Shell,
    Value,
    real_conda,
    run,
    set_base,
    shell,
)
from tests.functional.test_activation import LINE

if TYPE_CHECKING:
    from pathlib import Path

PY = Version(f"{sys.version_info[0]}.{sys.version_info[1]}")
OWNED = ("LD_LIBRARY_PATH", "XLA_FLAGS")
BASES: dict[str, dict[str, Value]] = {
    # an exported path list with empty elements, an unexported flag
    "mixed": {"LD_LIBRARY_PATH": ("exported", "::/opt/x::"), "XLA_FLAGS": ("set", "--mine")},
    "unset": {"LD_LIBRARY_PATH": None, "XLA_FLAGS": None},
    # an unexported empty path list, an exported empty flag
    "empty": {"LD_LIBRARY_PATH": ("set", ""), "XLA_FLAGS": ("exported", "")},
}


def _nvidia(env: Env, package: str, lib: str) -> None:
    folder = env.site_packages / "nvidia" / package / "lib"
    folder.mkdir(parents=True)
    (folder / lib).write_bytes(b"")
    (env.site_packages / "nvidia" / "cuda_nvcc" / "bin").mkdir(parents=True, exist_ok=True)


def _conda_prefix(root: Path) -> Env:
    site = root / "lib" / f"python{PY}" / "site-packages"
    site.mkdir(parents=True)
    (root / "conda-meta").mkdir()
    (root / "conda-meta" / "history").write_text("")
    (root / "bin").mkdir()
    return Env(prefix=root, python=root / "bin" / "python", site_packages=site, backend="conda")


def _make(root: Path, names: dict[str, str]) -> dict[str, Env | Path]:
    a = VenvBackend(with_pip=False).create(root / names["A"], PY)
    _nvidia(a, "cuda_runtime", "libcudart.so.12")
    activation.write(a, [LINE])
    a2 = VenvBackend(with_pip=False).create(root / names["A2"], PY)
    _nvidia(a2, "cublas", "libcublas.so.12")
    activation.write(a2, [LINE])
    stock = root / names["B"]
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", stock], check=True)
    x = _conda_prefix(root / names["X"])
    _nvidia(x, "cudnn", "libcudnn.so.9")
    activation.write_conda(x, [LINE])
    y = _conda_prefix(root / names["Y"]).prefix
    return {"A": a, "A2": a2, "B": stock, "X": x, "Y": y}


@pytest.fixture(scope="module")
def envs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Env | Path]:
    names = {
        "A": "env A it's $(touch pwned)",
        "A2": "env A2 `touch pwned2`",
        "B": "stock B",
        "X": "conda X ${HOME}",
        "Y": "conda Y",
    }
    return _make(tmp_path_factory.mktemp("layers"), names)


@pytest.fixture(scope="module")
def tame_envs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Env | Path]:
    """conda's own shell output quotes PATH and PS1 in single quotes without escaping them, so
    the real conda gets prefixes without quotes or spaces."""
    names = {"A": "envA", "A2": "envA2", "B": "stockB", "X": "condaX", "Y": "condaY"}
    return _make(tmp_path_factory.mktemp("tame"), names)


def expected(envs: dict[str, Env | Path], top: str | None, base: dict[str, Value]) -> dict:
    """What activation's variables hold with ``top`` on top (None or a non-cudaenv one: base)."""
    env = envs.get(top) if top else None
    if not isinstance(env, Env):
        return dict(base)
    before = {k: v[1] for k, v in base.items() if v is not None}
    return {k: ("exported", v) for k, v in activation.variables(env, [LINE], before).items()}


def steps_for(sh: Shell, plan: list[tuple[str, str | None]]) -> list[tuple[str, str]]:
    source, ext = ("source", ".fish") if sh.fish else (".", "")
    words = {
        "A": f'{source} "$P_A/bin/activate{ext}"',
        "A2": f'{source} "$P_A2/bin/activate{ext}"',
        "B": f'{source} "$P_B/bin/activate{ext}"',
        "deactivate": "deactivate",
        "hash": "hash -r",
        "conda X": 'conda activate "$P_X"',
        "conda Y": 'conda activate "$P_Y"',
        "conda deactivate": "conda deactivate",
    }
    return [(f"{i}", words[step]) for i, (step, _) in enumerate(plan)]


# (step, what is on top afterwards); B and Y are not cudaenv's, so on top of them: the start;
# "?": not checked
SCENARIOS: dict[str, list[tuple[str, str | None]]] = {
    "cudaenv-over-stock": [("B", None), ("A", "A"), ("deactivate", None)],
    "two-cudaenv-venvs": [("A", "A"), ("A2", "A2"), ("A", "A"), ("deactivate", None)],
    "reactivate": [("A", "A"), ("A", "A"), ("deactivate", None)],
    "conda-over-venv": [
        ("A", "A"),
        ("conda X", "X"),
        ("conda deactivate", "A"),
        ("deactivate", None),
    ],
    "conda-over-venv-left-first": [
        ("A", "A"),
        ("conda X", "X"),
        ("deactivate", "X"),
        ("conda deactivate", None),
    ],
    "venv-over-conda": [
        ("conda X", "X"),
        ("A", "A"),
        ("deactivate", "X"),
        ("conda deactivate", None),
    ],
    "venv-over-conda-left-first": [
        ("conda X", "X"),
        ("A", "A"),
        ("conda deactivate", "A"),
        ("deactivate", None),
    ],
    "conda-switch-over-venv": [
        ("A", "A"),
        ("conda X", "X"),
        ("conda Y", None),
        ("conda deactivate", "X"),
        ("conda deactivate", "A"),
        ("conda X", "X"),
        ("conda X", "X"),
        ("conda deactivate", "A"),
        ("deactivate", None),
    ],
}
# a foreign environment on top: noticed at the prompt in bash and zsh, at once in fish (in scripts
# and sh, when it runs hash -r: test_activation_scripts.py)
HOOKED: dict[str, list[tuple[str, str | None]]] = {
    "stock-over-cudaenv": [("A", "A"), ("B", None), ("deactivate", None)],
    "stock-over-cudaenv-then-cudaenv": [
        ("A", "A"),
        ("B", None),
        ("A2", "A2"),
        ("deactivate", None),
    ],
    "plain-conda-over-venv": [
        ("A", "A"),
        ("conda Y", None),
        ("conda deactivate", "A"),
        ("deactivate", None),
    ],
    "stock-over-conda": [
        ("conda X", "X"),
        ("B", None),
        ("deactivate", "X"),
        ("conda deactivate", None),
    ],
}


def check(envs, sh: Shell, plan, base_name: str, tmp_path: Path, conda: str) -> None:
    base = BASES[base_name]
    setup = conda + "\n" + set_base(sh, base)
    paths = {f"P_{k}": (v.prefix if isinstance(v, Env) else v) for k, v in envs.items()}
    result = run(sh, setup, steps_for(sh, plan), tmp_path, **paths)
    start = result.dumps["start"]
    for name in OWNED:
        assert start[name] == base[name], "the driver's starting state"
    for i, (step, top) in enumerate(plan):
        if top == "?":
            continue
        got = {name: result.dumps[str(i)][name] for name in OWNED}
        assert got == {n: v for n, v in expected(envs, top, base).items() if n in OWNED}, (
            f"after step {i} ({step}) {top or 'nothing of cudaenv'} should be on top"
        )
        if top is not None and ":" in (got["LD_LIBRARY_PATH"] or ("", ""))[1]:
            assert "" not in got["LD_LIBRARY_PATH"][1].split(":"), "an empty element is the cwd"
    end = result.dumps[str(len(plan) - 1)]
    assert end["PATH"] == start["PATH"]
    assert end["VIRTUAL_ENV"] is None
    assert end["PROMPT_COMMAND"] == start["PROMPT_COMMAND"]
    assert result.residue == "", "cudaenv left state or functions behind"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "a canary file appeared"


def conda_setup(sh: Shell) -> str:
    return FAKE_CONDA_FISH if sh.fish else FAKE_CONDA_SH


@pytest.mark.parametrize("base", sorted(BASES))
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("shell_name", ["dash", "bash", "zsh", "fish"])
def test_environments_over_each_other(envs, tmp_path, shell_name, scenario, base):
    sh = shell(shell_name)
    check(envs, sh, SCENARIOS[scenario], base, tmp_path, conda_setup(sh))


@pytest.mark.parametrize("base", ["mixed", "unset"])
@pytest.mark.parametrize("scenario", sorted(HOOKED))
@pytest.mark.parametrize("shell_name", ["bash-i", "zsh-i", "fish"])
def test_a_foreign_environment_on_top_never_runs_with_cudaenvs_variables(
    envs, tmp_path, shell_name, scenario, base
):
    sh = shell(shell_name)
    check(envs, sh, HOOKED[scenario], base, tmp_path, conda_setup(sh))


@pytest.mark.parametrize("scenario", ["stock-over-cudaenv-then-cudaenv", "venv-over-conda"])
@pytest.mark.parametrize("shell_name", ["dash", "bash", "zsh"])
def test_scripts_that_run_with_set_eu_keep_running(envs, tmp_path, shell_name, scenario):
    """Job scripts often start with ``set -eu``: no step may fail or read an unset variable."""
    sh = shell(shell_name)
    plan = [(step, "?") for step, _ in {**SCENARIOS, **HOOKED}[scenario]]
    plan[-1] = (plan[-1][0], None)
    check(envs, sh, plan, "unset", tmp_path, FAKE_CONDA_SH + "set -eu\n")


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason="conda is not importable in this interpreter")
@pytest.mark.parametrize(
    "scenario", ["conda-over-venv", "venv-over-conda", "conda-switch-over-venv"]
)
@pytest.mark.parametrize("shell_name", ["bash", "zsh", "fish"])
def test_the_same_through_the_real_conda(tame_envs, tmp_path, shell_name, scenario):
    sh = shell(shell_name)
    check(tame_envs, sh, SCENARIOS[scenario], "mixed", tmp_path, real_conda(sh))
