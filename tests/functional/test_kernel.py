"""``cudaenv kernel``: the kernel spec's content and place for each option, ipykernel missing
(the hint followed), ``--install-ipykernel`` from the index with the addition recorded.

The environment is a spaCy GPU environment made by ``cudaenv create`` from the local index
(its NVIDIA wheels carry real ELF libraries). The ipykernel on that index is a test wheel, so
it proves the install and the record, not that a kernel runs: that the spec's ``argv`` and
``env`` start the environment's Python with CUDA on the library path is checked by launching
the spec the way jupyter_client's local provisioner does (the server's environment updated with
the spec's ``env``, ``${VAR}`` filled in by ``string.Template.safe_substitute``), with a tiny
script in place of ``-m ipykernel_launcher``. The real ipykernel and jupyter_client, from the
real index, are in tests/network/test_kernel_pypi.py.
"""

from __future__ import annotations

import json
import os
import shlex
import string
import subprocess
import sys
from pathlib import Path

import pytest

from cudaenv import lock
from cudaenv.verify import added_pins
from tests.functional.fleet_index import add_gpu_wheels, build_cpu_index, create_gpu_env
from tests.tools.index_server import IndexServer
from tests.tools.make_wheel import make_wheel

LAUNCHER = """
import ctypes, json, os, sys
lib = ctypes.CDLL("libcudart.so.12")
lib.cudaenv_fake_soname.restype = ctypes.c_char_p
json.dump({"python": sys.executable, "prefix": sys.prefix, "cudart": lib.cudaenv_fake_soname()
           .decode(), "connection_file": sys.argv[-1], "PATH": os.environ["PATH"]}, sys.stdout)
"""


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory):
    wheels = add_gpu_wheels(build_cpu_index(tmp_path_factory.mktemp("kernel-wheels")))
    # Like the real one: it needs a package the environment's lock already holds (packaging
    # there, numpy here) and ships its own kernel spec as a data file, PREFIX/share/jupyter/...
    make_wheel(
        wheels,
        "ipykernel",
        "6.29.5",
        requires_dist=["tornado>=6.1", "numpy>=1.19", "appnope; platform_system == 'Darwin'"],
        files={
            "ipykernel/__init__.py": "",
            "ipykernel_launcher.py": "raise SystemExit(3)\n",
            "ipykernel-6.29.5.data/data/share/jupyter/kernels/python3/kernel.json": "{}\n",
        },
    )
    make_wheel(wheels, "tornado", "6.4.1")
    with IndexServer(wheels, shared=True) as server:
        yield server


@pytest.fixture
def env(tmp_path: Path, index: IndexServer) -> Path:
    return create_gpu_env(tmp_path, index.url)


def kernel(*args: str, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cudaenv", "kernel", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
        check=False,
    )


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """This process's environment with HOME in tmp_path and no Jupyter or XDG variables."""
    drop = {"JUPYTER_DATA_DIR", "XDG_DATA_HOME", "JUPYTER_PATH", "LD_LIBRARY_PATH", "VIRTUAL_ENV"}
    environ = {k: v for k, v in os.environ.items() if k not in drop}
    return environ | {"HOME": str(tmp_path / "home")}


def launch_like_jupyter(spec: dict, script: Path, base: dict[str, str]) -> dict[str, str]:
    """Start the spec as jupyter_client does, with ``script`` for ``-m ipykernel_launcher``."""
    argv = [a.replace("{connection_file}", "kernel-1.json") for a in spec["argv"]]
    assert argv[1:3] == ["-m", "ipykernel_launcher"]
    filled = {k: string.Template(v).safe_substitute(base) for k, v in spec["env"].items()}
    done = subprocess.run(
        [argv[0], str(script), *argv[3:]],
        capture_output=True,
        text=True,
        env={**base, **filled},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_missing_ipykernel_names_the_fix_and_the_hint_works(env, home, tmp_path) -> None:
    before = (env / "pylock.toml").read_text()
    refused = kernel("-p", str(env), "--name", "spacy-gpu", environ=home)
    assert refused.returncode == 2
    assert f"ipykernel is not installed in {env}" in refused.stderr
    hint = next(ln for ln in refused.stderr.splitlines() if ln.startswith("hint:"))
    command = shlex.split(hint.split("`")[1])
    assert command[:2] == ["cudaenv", "kernel"] and command[-1] == "--install-ipykernel"
    assert not (tmp_path / "home").exists(), "nothing was written"

    followed = kernel(*command[2:], environ=home)  # the index is the one the lock names
    assert followed.returncode == 0, followed.stderr
    assert "ipykernel 6.29.5" in followed.stdout and "tornado 6.4.1" in followed.stdout
    spec_file = tmp_path / "home/.local/share/jupyter/kernels/spacy-gpu/kernel.json"
    assert spec_file.is_file()

    assert (env / "pylock.toml").read_text() == before, "the lock itself is unchanged"
    added = added_pins(env, lock.read(env / "pylock.toml").pins)  # ipykernel needs numpy there
    assert [(p.name, str(p.version)) for p in added] == [
        ("ipykernel", "6.29.5"),
        ("tornado", "6.4.1"),
    ]
    assert all(len(p.wheel.sha256) == 64 for p in added)
    verified = subprocess.run(
        [sys.executable, "-m", "cudaenv", "verify", "-p", str(env), "--json"],
        capture_output=True,
        text=True,
        env=home | {"CONDA_OVERRIDE_CUDA": "12.4"},
        check=False,
    )
    data = json.loads(verified.stdout)
    assert verified.returncode == 0 and data["matches"], data
    assert data["added"] == ["ipykernel 6.29.5", "tornado 6.4.1"]


@pytest.fixture
def with_ipykernel(env: Path, home: dict[str, str]) -> Path:
    done = kernel("-p", str(env), "--install-ipykernel", "--name", "first", environ=home)
    assert done.returncode == 0, done.stderr
    return env


def test_an_env_with_ipykernel_added_verifies_and_force_replaces_it(
    with_ipykernel, home, index, tmp_path
) -> None:
    env = with_ipykernel
    assert (env / "share/jupyter/kernels/python3/kernel.json").is_file()  # ipykernel's own
    verified = subprocess.run(
        [sys.executable, "-m", "cudaenv", "verify", "-p", str(env)],
        capture_output=True,
        text=True,
        env=home | {"CONDA_OVERRIDE_CUDA": "12.4"},
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "not complete" not in verified.stdout + verified.stderr
    # the added packages' files (share/) and cudaenv's record of them are cudaenv's doing
    assert create_gpu_env(tmp_path, index.url, "--force") == env
    assert not (env / "pylock.added.toml").exists() and not (env / "share").exists()


def test_the_spec_runs_the_env_python_with_the_activation(with_ipykernel, home, tmp_path):
    env = with_ipykernel
    done = kernel("-p", str(env), "--display-name", "spaCy GPU", "--json", environ=home)
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    assert facts["name"] == "spacy-env" and facts["display_name"] == "spaCy GPU"
    spec = json.loads(Path(facts["kernel"]).read_text())
    assert spec["argv"] == [
        str(env / "bin/python"),
        "-m",
        "ipykernel_launcher",
        "-f",
        "{connection_file}",
    ]
    assert spec["display_name"] == "spaCy GPU" and spec["language"] == "python"
    activated = subprocess.run(
        [sys.executable, "-m", "cudaenv", "run", "-p", str(env), "--", "printenv"],
        capture_output=True,
        text=True,
        env=home,
        check=True,
    ).stdout.splitlines()
    assert f"LD_LIBRARY_PATH={spec['env']['LD_LIBRARY_PATH']}" in activated
    assert spec["env"]["VIRTUAL_ENV"] == str(env)
    assert spec["env"]["PATH"] == f"{env}/bin:${{PATH}}"

    script = tmp_path / "launcher.py"
    script.write_text(LAUNCHER)
    seen = launch_like_jupyter(spec, script, home)
    assert seen["cudart"] == "libcudart.so.12" and seen["prefix"] == str(env)
    assert seen["connection_file"] == "kernel-1.json"
    assert seen["PATH"] == f"{env}/bin:{home['PATH']}"


@pytest.mark.parametrize("where", ["default", "user", "jupyter-data-dir", "xdg", "prefix"])
def test_the_spec_goes_where_jupyter_looks(with_ipykernel, home, tmp_path, where) -> None:
    environ, args = dict(home), ["--name", "k1"]
    expected = tmp_path / "home/.local/share/jupyter/kernels/k1"
    if where == "user":
        args.append("--user")
    elif where == "jupyter-data-dir":
        environ["JUPYTER_DATA_DIR"] = str(tmp_path / "jdd")
        args.append("--user")
        expected = tmp_path / "jdd/kernels/k1"
    elif where == "xdg":
        environ["XDG_DATA_HOME"] = str(tmp_path / "xdg")
        expected = tmp_path / "xdg/jupyter/kernels/k1"
    elif where == "prefix":
        args += ["--prefix", str(tmp_path / "jupyter env")]
        expected = tmp_path / "jupyter env/share/jupyter/kernels/k1"
    done = kernel("-p", str(with_ipykernel), *args, environ=environ)
    assert done.returncode == 0, done.stderr
    assert str(expected / "kernel.json") in done.stdout
    assert json.loads((expected / "kernel.json").read_text())["argv"][0].startswith(
        str(with_ipykernel)
    )


def test_a_kernel_cudaenv_did_not_write_is_kept_unless_forced(with_ipykernel, home, tmp_path):
    theirs = tmp_path / "home/.local/share/jupyter/kernels/python3"
    theirs.mkdir(parents=True)
    (theirs / "kernel.json").write_text('{"argv": ["python3"], "display_name": "Python 3"}')
    refused = kernel("-p", str(with_ipykernel), "--name", "python3", environ=home)
    assert refused.returncode == 2 and "--name python3-cudaenv" in refused.stderr
    assert json.loads((theirs / "kernel.json").read_text())["argv"] == ["python3"]
    forced = kernel("-p", str(with_ipykernel), "--name", "python3", "--force", environ=home)
    assert forced.returncode == 0, forced.stderr
    again = kernel("-p", str(with_ipykernel), "--name", "python3", environ=home)
    assert again.returncode == 0, "a spec cudaenv wrote is replaced without --force"
    bad = kernel("-p", str(with_ipykernel), "--name", "My Env!", environ=home)
    assert bad.returncode == 2 and "--name my-env" in bad.stderr


@pytest.mark.parametrize(
    ("name", "said"),
    [("with space", "'with space' is not a Jupyter kernel name"), ("", "--name: an empty value")],
)
def test_a_bad_name_is_refused_before_anything_is_installed(env, home, name, said) -> None:
    site = next(env.glob("lib/python3*/site-packages"))
    before = sorted(p.name for p in site.iterdir())
    done = kernel("-p", str(env), "--name", name, "--install-ipykernel", environ=home)
    assert done.returncode == 2, done.stderr
    assert said in done.stderr
    assert "adding" not in done.stdout + done.stderr
    assert sorted(p.name for p in site.iterdir()) == before
    assert not (env / "pylock.added.toml").exists()
    assert not (Path(home["HOME"]) / ".local").exists()


def test_a_kernel_cudaenv_did_not_write_is_refused_before_anything_is_installed(env, home):
    theirs = Path(home["HOME"]) / ".local/share/jupyter/kernels/python3"
    theirs.mkdir(parents=True)
    (theirs / "kernel.json").write_text('{"argv": ["python3"], "display_name": "Python 3"}')
    done = kernel("-p", str(env), "--name", "python3", "--install-ipykernel", environ=home)
    assert done.returncode == 2 and "--name python3-cudaenv" in done.stderr
    assert not (env / "pylock.added.toml").exists()


def test_a_kernel_spec_cudaenv_wrote_into_the_env_is_cudaenvs_for_force(
    with_ipykernel, home, index, tmp_path
) -> None:
    env = with_ipykernel
    done = kernel("-p", str(env), "--name", "inside", "--prefix", str(env), environ=home)
    assert done.returncode == 0, done.stderr
    assert (env / "share/jupyter/kernels/inside/kernel.json").is_file()
    assert create_gpu_env(tmp_path, index.url, "--force") == env
