"""Activation under real shells (dash, bash, zsh, fish) in real venvs with hostile prefixes.

Each case sources the script, activates twice, deactivates, and dumps the exported environment
with ``env -0`` after every step: what programs see is what is compared. The prefixes contain
spaces, both quotes, ``$(touch pwned)``, backticks and ``!``; the canary files must never
appear. csh and tcsh get a script that changes nothing and says what to run instead, and that
command is run. Environments over each other: test_activation_layers.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest
from packaging.version import Version

from cudaenv import activation
from cudaenv.envs.venv import VenvBackend

if TYPE_CHECKING:
    from pathlib import Path

    from cudaenv.envs import Env

PY = Version(f"{sys.version_info[0]}.{sys.version_info[1]}")
PREFIXES = {
    "plain": "env",
    "spaces": "my env with spaces",
    "quotes": 'it\'s a "quoted" env',
    "subst": "a$(touch pwned)b",
    "backticks": "c`touch pwned2`d ${HOME} \\n",
    "bang": "bang!x !! 'q'",
}
KEYS = ("LD_LIBRARY_PATH", "XLA_FLAGS", "PATH", "VIRTUAL_ENV", "PYTHONHOME")
BASES = {
    "unset": {},
    "empty": {"LD_LIBRARY_PATH": "", "XLA_FLAGS": ""},
    "value": {"LD_LIBRARY_PATH": "::/opt/x::/opt/y:", "XLA_FLAGS": "--mine", "PYTHONHOME": "/ph"},
}

POSIX_DRIVER = """
/usr/bin/env -0 > "$OUT/0"
. "$P/bin/activate"
/usr/bin/env -0 > "$OUT/1"
. "$P/bin/activate"
/usr/bin/env -0 > "$OUT/2"
deactivate
/usr/bin/env -0 > "$OUT/3"
case "$(type deactivate 2>/dev/null)" in *function*) echo still-defined ;; esac
"""
FISH_DRIVER = """
/usr/bin/env -0 > "$OUT/0"
source "$P/bin/activate.fish"
/usr/bin/env -0 > "$OUT/1"
source "$P/bin/activate.fish"
/usr/bin/env -0 > "$OUT/2"
deactivate
/usr/bin/env -0 > "$OUT/3"
functions -q deactivate; and echo still-defined
true
"""
SHELLS = {
    "dash": ["dash"],
    "bash": ["bash", "--norc", "--noprofile"],
    "zsh": ["zsh", "-f"],
    "fish": ["fish", "--no-config"],
}


@dataclass
class Line:
    env: dict[str, str] = field(default_factory=dict)
    path: tuple[str, ...] = ()


LINE = Line(
    env={"XLA_FLAGS": "--xla_gpu_cuda_data_dir={site}/nvidia/cuda_nvcc"},
    path=("{site}/nvidia/cuda_nvcc/bin",),
)


def shell(name: str) -> list[str]:
    if shutil.which(SHELLS[name][0]) is None:
        pytest.skip(f"{name} is not installed")
    return SHELLS[name]


@pytest.fixture(scope="module")
def envs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Env]:
    root = tmp_path_factory.mktemp("prefixes")
    out = {}
    for key, name in PREFIXES.items():
        env = VenvBackend(with_pip=False).create(root / name, PY)
        for package, lib in (("cuda_runtime", "libcudart.so.12"), ("cudnn", "libcudnn.so.9")):
            (env.site_packages / "nvidia" / package / "lib").mkdir(parents=True)
            (env.site_packages / "nvidia" / package / "lib" / lib).write_bytes(b"")
        (env.site_packages / "nvidia" / "cuda_nvcc" / "bin").mkdir(parents=True)
        activation.write(env, [LINE])
        out[key] = env
    return out


def dumps(out: Path) -> list[dict[str, str]]:
    result = []
    for step in range(4):
        pairs = (item.split("=", 1) for item in (out / str(step)).read_text().split("\0") if item)
        result.append(dict(pairs))
    return result


def execute(argv: list[str], cwd: Path, environ: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv, check=False, cwd=cwd, env=environ, capture_output=True, text=True, timeout=60
    )


def run(argv: list[str], driver: str, env: Env, base: dict[str, str], work: Path) -> list[dict]:
    out = work / "out"
    out.mkdir()
    environ = {k: v for k, v in os.environ.items() if k not in KEYS[:2] and k != "PYTHONHOME"}
    environ.update(base, P=str(env.prefix), OUT=str(out), PATH="/usr/local/bin:/usr/bin:/bin")
    done = execute([*argv, "-c", driver], work, environ)
    assert done.returncode == 0, done.stderr
    assert "still-defined" not in done.stdout
    return dumps(out)


@pytest.mark.parametrize("base", sorted(BASES))
@pytest.mark.parametrize("prefix", sorted(PREFIXES))
@pytest.mark.parametrize("shell_name", sorted(SHELLS))
def test_activate_twice_then_deactivate(envs, tmp_path, shell_name, prefix, base):
    env = envs[prefix]
    driver = FISH_DRIVER if shell_name == "fish" else POSIX_DRIVER
    before, once, twice, after = run(shell(shell_name), driver, env, BASES[base], tmp_path)

    expected = activation.variables(env, [LINE], before)
    assert once["LD_LIBRARY_PATH"] == expected["LD_LIBRARY_PATH"]
    assert once["XLA_FLAGS"] == expected["XLA_FLAGS"]
    assert "" not in once["LD_LIBRARY_PATH"].split(":"), "an empty element means the cwd"
    assert once["PATH"].split(":")[:2] == [
        str(env.site_packages / "nvidia/cuda_nvcc/bin"),
        str(env.bin_dir),
    ]
    assert once["VIRTUAL_ENV"] == str(env.prefix)
    assert "PYTHONHOME" not in once
    if before.get("LD_LIBRARY_PATH"):
        assert once["LD_LIBRARY_PATH"].endswith(":/opt/x:/opt/y"), "the old value is kept"
    assert once == twice, "activating twice must equal activating once"
    for key in KEYS:
        assert after.get(key) == before.get(key), key  # unset stays unset, values verbatim
    for step in (once, twice, after):
        assert not [k for k in step if k.startswith(("_CUDAENV", "_OLD_VIRTUAL"))]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "a canary file appeared"


@pytest.mark.parametrize("shell_name", sorted(SHELLS))
def test_conda_hooks_restore_exactly(envs, tmp_path, shell_name):
    env = envs["subst"]
    paths = activation.write_conda(env.prefix, [LINE])
    ext = "fish" if shell_name == "fish" else "sh"
    on, off = (env.prefix / f"etc/conda/{d}.d/cudaenv.{ext}" for d in ("activate", "deactivate"))
    assert on in paths and off in paths
    source = "source" if ext == "fish" else "."
    driver = (
        f'/usr/bin/env -0 > "$OUT/0"\n{source} "$ON"\n/usr/bin/env -0 > "$OUT/1"\n'
        f'{source} "$ON"\n/usr/bin/env -0 > "$OUT/2"\n{source} "$OFF"\n/usr/bin/env -0 > "$OUT/3"\n'
    )
    base = {**BASES["value"], "ON": str(on), "OFF": str(off)}
    before, once, twice, after = run(shell(shell_name), driver, env, base, tmp_path)
    expected = activation.variables(env, [LINE], before)
    for key, value in expected.items():
        assert once[key] == value
    assert once == twice
    for key in KEYS:
        assert after.get(key) == before.get(key), key
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "a canary file appeared"


DLOPEN = "import ctypes; print(ctypes.CDLL('libcudart.so.12').cudaenv_fake_version())"


@pytest.mark.parametrize("shell_name", ["dash", "fish"])
def test_dlopen_by_soname_only_after_activation(
    tmp_path, make_nvidia_wheel, local_index, shell_name
):
    """Real wheels with real ELF libraries, installed from the local index, loaded by soname."""
    from cudaenv.pipeline.install import install
    from tests.functional.test_install import pin_for, resolution_of

    wheels = [
        make_nvidia_wheel("nvidia-cuda-runtime-cu12", "12.2.140", libs=["libcudart.so.12"]),
        make_nvidia_wheel("nvidia-cublas-cu12", "12.2.5.6", libs=["libcublas.so.12"]),
    ]
    env = VenvBackend(with_pip=False).create(tmp_path / "dl env $(touch pwned)", PY)
    install(resolution_of(*(pin_for(w, local_index) for w in wheels)), env)
    activation.write(env)

    script = "bin/activate.fish" if shell_name == "fish" else "bin/activate"
    source = "source" if shell_name == "fish" else "."
    environ = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    environ.update(P=str(env.prefix), PATH="/usr/local/bin:/usr/bin:/bin")
    driver = f'{source} "$P/{script}"; python -c "{DLOPEN}"'
    activated = execute([*shell(shell_name), "-c", driver], tmp_path, environ)
    assert activated.returncode == 0, activated.stderr
    assert activated.stdout.strip() == "12"
    bare = execute([str(env.python), "-c", DLOPEN], tmp_path, environ)
    assert bare.returncode != 0
    assert "libcudart.so.12" in bare.stderr
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("shell_name", ["bash", "zsh"])
def test_prompt_holds_nothing_a_shell_would_expand(envs, tmp_path, shell_name):
    """bash and zsh re-expand PS1 at every prompt, so the env name in it must be inert."""
    env = envs["subst"]
    show = 'printf "%s\\n" "$PS1"'
    driver = f'PS1="> "; . "$P/bin/activate"; {show}; deactivate; {show}'
    environ = {**os.environ, "P": str(env.prefix)}
    done = execute([*shell(shell_name), "-c", driver], tmp_path, environ)
    assert done.returncode == 0, done.stderr
    active, restored = done.stdout.splitlines()
    assert active == "(a__touch_pwned_b) > "
    assert restored == "> "


def _tcsh() -> str:
    found = shutil.which("tcsh")
    if found is None:
        pytest.skip("tcsh is not installed (./scripts/test installs it as root)")
    return found


def _keep_environ(**extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k not in (*KEYS, "PYTHONHOME")}
    environ.update(LD_LIBRARY_PATH="/keep", PATH="/usr/local/bin:/usr/bin:/bin", **extra)
    return environ


@pytest.mark.parametrize("prefix", ["plain", "quotes", "subst", "backticks", "bang"])
def test_csh_changes_nothing_and_its_hint_activates_in_bash(envs, tmp_path, prefix):
    env = envs[prefix]
    environ = _keep_environ(P=str(env.prefix))
    show = "printenv LD_LIBRARY_PATH; printenv VIRTUAL_ENV || echo no-venv"
    done = execute(
        [_tcsh(), "-f", "-c", f'source "$P/bin/activate.csh"; {show}'], tmp_path, environ
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["/keep", "no-venv"], "csh must change nothing"
    (line,) = done.stderr.splitlines()
    assert line.startswith("cudaenv: csh and tcsh cannot activate this environment")
    hint = line.split("start bash with it active instead: ", 1)[1]
    assert hint.startswith("bash --init-file ")

    # the hint is typed into csh; the bash it starts reads these lines
    steps = 'printf "%s\\n" "$LD_LIBRARY_PATH"\ndeactivate\nprintf "%s\\n" "$LD_LIBRARY_PATH"\n'
    followed = subprocess.run(
        [_tcsh(), "-f", "-c", hint],
        input=steps,
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert followed.returncode == 0, followed.stderr
    active = activation.variables(env, [LINE], {"LD_LIBRARY_PATH": "/keep"})["LD_LIBRARY_PATH"]
    assert followed.stdout.splitlines() == [active, "/keep"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "a canary file appeared"


def test_conda_csh_hook_changes_nothing_and_its_hint_works_in_bash(envs, tmp_path):
    from tests.functional.activation_shells import FAKE_CONDA_SH

    env = envs["subst"]
    activation.write_conda(env.prefix, [LINE])
    script = env.prefix / "etc/conda/activate.d/cudaenv.csh"
    environ = _keep_environ(S=str(script))
    done = execute(
        [_tcsh(), "-f", "-c", 'source "$S"; printenv LD_LIBRARY_PATH'], tmp_path, environ
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["/keep"]
    (line,) = done.stderr.splitlines()
    assert line.startswith("cudaenv: csh and tcsh cannot apply this environment's CUDA settings")
    hint = line.split("run this there: ", 1)[1]
    assert hint.startswith("conda activate ")

    # conda is not on PyPI: its shell function's stand-in (see activation_shells.py)
    followed = execute(
        [*shell("bash"), "-c", f'{FAKE_CONDA_SH}\n{hint}\nprintf "%s\\n" "$LD_LIBRARY_PATH"'],
        tmp_path,
        environ,
    )
    assert followed.returncode == 0, followed.stderr
    active = activation.variables(env, [LINE], {"LD_LIBRARY_PATH": "/keep"})["LD_LIBRARY_PATH"]
    assert followed.stdout.splitlines() == [active]
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "a canary file appeared"
