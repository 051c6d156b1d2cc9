"""Activation never leaks into another environment in scripts and in sh, where no prompt comes.

Stock activate scripts (CPython's venv, uv's, virtualenv's) and conda's shell functions run
``hash -r`` (conda in zsh: ``rehash``) right after they change PATH; while a cudaenv layer is
remembered those are cudaenv's functions, which run the shell's own and then the check the prompt
hook runs. Each case is one non-interactive script in a real shell, and the foreign venv is made
inside it, as a user would: ``python3 -m venv B`` (envA's python3), ``uv venv``, ``virtualenv``.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cudaenv.envs.base import Env
from tests.functional.activation_shells import (
    FAKE_CONDA_SH,
    HAS_CONDA,
    Shell,
    Value,
    real_conda,
    run,
    set_base,
    shell,
)
from tests.functional.test_activation_layers import HOOKED, OWNED, _make, check, expected

SCRIPT_SHELLS = ["dash", "bash", "bash-posix", "zsh"]
POSIX_BASH = Shell("bash-posix", ("bash", "--posix", "--norc", "--noprofile", "-s"))
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
HAS_VIRTUALENV = importlib.util.find_spec("virtualenv") is not None
MAKERS = {
    "venv": "python3 -m venv B",  # envA's python3, as in the issue
    "uv": '"$T_UV" venv -q --offline --no-python-downloads --python "$(command -v python3)" B',
    "virtualenv": '"$T_PY" -m virtualenv -q --no-seed --no-periodic-update B',
}
START: dict[str, dict[str, Value]] = {
    "exported": {"LD_LIBRARY_PATH": ("exported", "/orig"), "XLA_FLAGS": None},
    "unset": {"LD_LIBRARY_PATH": None, "XLA_FLAGS": None},
    "unexported": {"LD_LIBRARY_PATH": ("set", "/orig"), "XLA_FLAGS": None},
}
PROBE = "import json, os, sys; print(json.dumps([sys.prefix, os.environ.get('LD_LIBRARY_PATH')]))"
NAMES = {"A": "envA $(touch pwned)", "A2": "envA2", "B": "stock B", "X": "conda X", "Y": "conda Y"}
Envs = dict[str, Env | Path]
TAME = {"A": "envA", "A2": "envA2", "B": "stockB", "X": "condaX", "Y": "condaY"}


def script_shell(name: str) -> Shell:
    if name == "bash-posix":
        return POSIX_BASH
    found = shell(name)
    assert not found.interactive
    return found


def runs_hash_in(activate: Path, sh: Shell) -> bool:
    """CPython's activate before 3.11.7 and 3.12.1 runs ``hash -r`` only in bash and zsh."""
    return sh.argv[0] != "dash" or "${BASH:-}" not in activate.read_text()


@pytest.fixture(scope="module")
def envs(tmp_path_factory: pytest.TempPathFactory) -> Envs:
    return _make(tmp_path_factory.mktemp("scripts"), NAMES)


@pytest.fixture(scope="module")
def tame_envs(tmp_path_factory: pytest.TempPathFactory) -> Envs:
    return _make(tmp_path_factory.mktemp("tame"), TAME)


def _maker(name: str) -> str:
    if name == "uv" and UV is None:
        pytest.skip("uv is not installed next to the test interpreter")
    if name == "virtualenv" and not HAS_VIRTUALENV:
        pytest.skip("virtualenv is not installed in the test interpreter (pip install virtualenv)")
    return MAKERS[name] + " </dev/null"


@pytest.mark.parametrize(
    ("maker", "start"),
    [("venv", "exported"), ("venv", "unset"), ("venv", "unexported")]
    + [(m, s) for m in ("uv", "virtualenv") for s in ("exported", "unset")],
)
@pytest.mark.parametrize("shell_name", SCRIPT_SHELLS)
def test_the_issues_sequence_as_one_script(
    envs: Envs, tmp_path: Path, shell_name: str, maker: str, start: str
) -> None:
    """``. envA/bin/activate; python3 -m venv B; . B/bin/activate``: B's python never sees envA's
    folders, and ``deactivate`` leaves LD_LIBRARY_PATH as it was and nothing of cudaenv's. With
    LD_LIBRARY_PATH unset the script runs under ``set -eu``, as job scripts often do."""
    sh = script_shell(shell_name)
    base = START[start]
    setup = set_base(sh, base) + ("\nset -eu" if start == "unset" else "")
    steps = [
        ("A", '. "$P_A/bin/activate"'),
        ("made", _maker(maker)),
        ("B", ". B/bin/activate"),
        ("python", f'python3 -c "{PROBE}" </dev/null > "$OUT/python"'),
        ("deactivate", "deactivate"),
    ]
    a = envs["A"]
    assert isinstance(a, Env)
    paths = {"P_A": a.prefix, "T_PY": Path(sys.executable), "T_UV": Path(UV or "uv")}
    result = run(sh, setup, steps, tmp_path, **paths)
    if not runs_hash_in(tmp_path / "B" / "bin" / "activate", sh):
        pytest.skip("this Python's venv activate runs hash -r in bash and zsh only (README)")
    dumps = result.dumps
    want = expected(envs, "A", base)
    assert {n: dumps["A"][n] for n in OWNED} == {n: want[n] for n in OWNED}
    prefix, seen = json.loads((tmp_path / "out" / "python").read_text())
    assert Path(prefix).resolve() == (tmp_path / "B").resolve(), "B's own python ran"
    assert seen == ("/orig" if start == "exported" else None), "B's python saw no folder of envA's"
    for label in ("B", "python", "deactivate"):
        assert {n: dumps[label][n] for n in OWNED} == base, f"after {label}"
        assert "_CUDAENV" not in (tmp_path / "out" / f"{label}.env").read_text()
    assert dumps["deactivate"]["PATH"] == dumps["start"]["PATH"]
    assert dumps["deactivate"]["VIRTUAL_ENV"] is None
    assert result.residue == "", "cudaenv left state or functions behind"
    assert not (tmp_path / "pwned").exists()


# what holds in a script: a foreign environment on top is noticed at once; a stock venv's
# deactivate runs hash -r before it unsets VIRTUAL_ENV, so the cudaenv environment below comes
# back at the next hash -r (or cudaenv script), not at that deactivate (README)
SCRIPTED: dict[str, list[tuple[str, str | None]]] = {
    **{k: v for k, v in HOOKED.items() if k != "stock-over-conda"},
    "stock-over-conda": [
        ("conda X", "X"),
        ("B", None),
        ("deactivate", None),
        ("hash", "X"),
        ("conda deactivate", None),
    ],
}


@pytest.mark.parametrize("base", ["mixed", "unset"])
@pytest.mark.parametrize("scenario", sorted(SCRIPTED))
@pytest.mark.parametrize("shell_name", SCRIPT_SHELLS)
def test_a_foreign_environment_on_top_in_a_script(
    envs: Envs, tmp_path: Path, shell_name: str, scenario: str, base: str
) -> None:
    sh = script_shell(shell_name)
    plan = SCRIPTED[scenario]
    stock = envs["B"]
    assert isinstance(stock, Path)
    uses_stock = any(step == "B" for step, _ in plan)
    if uses_stock and not runs_hash_in(stock / "bin" / "activate", sh):
        pytest.skip("this Python's venv activate runs hash -r in bash and zsh only (README)")
    check(envs, sh, plan, base, tmp_path, FAKE_CONDA_SH + "set -eu\n")


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason="conda is not importable in this interpreter")
@pytest.mark.parametrize("shell_name", ["dash", "bash", "zsh"])
def test_a_plain_conda_environment_on_top_through_the_real_conda(
    tame_envs: Envs, tmp_path: Path, shell_name: str
) -> None:
    sh = script_shell(shell_name)
    check(tame_envs, sh, HOOKED["plain-conda-over-venv"], "mixed", tmp_path, real_conda(sh))


SHOW = {"bash": "declare -pf hash", "zsh": "functions hash rehash", "dash": "type hash"}
USER_HASH = """hash () { printf 'user hash %s\\n' "$*" >> "$OUT/user.log" ; }"""
USER_REHASH = """rehash () { printf 'user rehash %s\\n' "$*" >> "$OUT/user.log" ; }"""


@pytest.mark.parametrize(
    ("shell_name", "exported"), [("dash", False), ("bash", False), ("bash", True), ("zsh", False)]
)
def test_a_users_own_hash_function_runs_and_comes_back_exactly(
    envs: Envs, tmp_path: Path, shell_name: str, exported: bool
) -> None:
    """bash and zsh keep the user's function, call it in place of the builtin and put it back;
    sh cannot print a function, so there it is left alone (and cudaenv has no trigger there)."""
    sh = script_shell(shell_name)
    show = SHOW[sh.argv[0]]
    zsh = sh.argv[0] == "zsh"
    own = [USER_HASH, *([USER_REHASH] if zsh else []), *(["export -f hash"] if exported else [])]
    setup = "\n".join([*own, f'{show} > "$OUT/fn.before"'])
    steps = [
        ("A", f'. "$P_A/bin/activate"\n{show} > "$OUT/fn.active"'),
        ("B", '. "$P_B/bin/activate"'),
        ("deactivate", f'deactivate\n{show} > "$OUT/fn.after"'),
    ]
    if zsh:  # conda's shell functions run rehash there
        steps[1:1] = [("rehash", "rehash")]
    paths = {f"P_{k}": (v.prefix if isinstance(v, Env) else v) for k, v in envs.items()}
    result = run(sh, setup, steps, tmp_path, **paths)
    out = tmp_path / "out"
    before = (out / "fn.before").read_text()
    assert (out / "fn.after").read_text() == before, "the user's function, byte for byte"
    calls = (out / "user.log").read_text().splitlines()
    assert "user hash -r" in calls, "the stock activate's hash -r still reaches the user's"
    if sh.argv[0] == "dash":
        assert before == "hash is a shell function\n"
        assert (out / "fn.active").read_text() == before
        return
    assert "user hash" in before
    assert (out / "fn.active").read_text() != before, "cudaenv's hash is in place"
    assert {n: result.dumps["B"][n] for n in OWNED} == dict.fromkeys(OWNED)
    assert result.residue == "function hash\n" + ("function rehash\n" if zsh else "")
    if zsh:
        assert "user rehash " in calls


def _plain(text: str) -> str:
    """Error lines without where the shell says they came from (file, line, function)."""
    return re.sub(r"(?m)^.*?(?:line )?\d+: ", "", text)


PROBE_HASH = """t_probe () {
    t_path=$PATH ; PATH=/usr/bin:/bin
    hash -r ; echo "r=$?"
    ls / >/dev/null ; hash ; echo "list=$?"
    hash t_no_such_command_x || echo "miss=$?"
    hash -r ; echo "r=$?"
    PATH=$t_path
}"""


@pytest.mark.parametrize("shell_name", SCRIPT_SHELLS)
def test_cudaenvs_hash_answers_exactly_as_the_shells_own(
    envs: Envs, tmp_path: Path, shell_name: str
) -> None:
    """Same output, same status, same messages (but where they came from), under ``set -eu``."""
    sh = script_shell(shell_name)
    setup = PROBE_HASH + '\nset -eu\nt_probe > "$OUT/plain.out" 2> "$OUT/plain.err"'
    steps = [
        ("A", '. "$P_A/bin/activate"\ntype hash > "$OUT/type"'),
        ("probe", 't_probe > "$OUT/active.out" 2> "$OUT/active.err"'),
        ("deactivate", "deactivate"),
    ]
    a = envs["A"]
    assert isinstance(a, Env)
    result = run(sh, setup, steps, tmp_path, P_A=a.prefix)
    out = tmp_path / "out"
    assert "function" in (out / "type").read_text()
    assert (out / "active.out").read_text() == (out / "plain.out").read_text()
    assert "miss=1" in (out / "plain.out").read_text()
    plain_err = (out / "plain.err").read_text()
    assert "t_no_such_command_x" in plain_err
    assert _plain((out / "active.err").read_text()) == _plain(plain_err)
    assert result.residue == ""


def _no_hash_in_sh(work: Path) -> Path:
    """A stock venv whose activate runs hash -r in bash and zsh only, as CPython's did before
    3.11.7 and 3.12.1."""
    old = work / "old venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", old], check=True)
    activate = old / "bin" / "activate"
    guarded = r'if [ -n "${BASH:-}" -o -n "${ZSH_VERSION:-}" ] ; then \1 ; fi'
    text = re.sub(r"(?m)^(\s*hash -r.*)$", guarded, activate.read_text())
    assert text != activate.read_text()
    activate.write_text(text)
    return old


def test_without_hash_in_sh_the_next_hash_or_cudaenv_script_restores(
    envs: Envs, tmp_path: Path
) -> None:
    """dash and an old stock activate: nothing runs until the user's ``hash -r`` (README's hint),
    or the next cudaenv script."""
    sh = script_shell("dash")
    work = tmp_path / "work"
    work.mkdir()
    old = _no_hash_in_sh(tmp_path)
    plan = [("A", "A"), ("B", "A"), ("hash", None), ("deactivate", None)]
    check({**envs, "B": old}, sh, plan, "mixed", work, "")
    work2 = tmp_path / "work2"
    work2.mkdir()
    plan = [("A", "A"), ("B", "A"), ("deactivate", "A"), ("A2", "A2"), ("deactivate", None)]
    check({**envs, "B": old}, sh, plan, "mixed", work2, "")
