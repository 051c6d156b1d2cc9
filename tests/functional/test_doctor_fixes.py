"""``cudaenv doctor``'s fixes, followed: each command a finding names is run, and doctor run
again, until it finds nothing wrong.

Real venvs, real NVIDIA-style wheels with real shared libraries on a real index on 127.0.0.1.
What this machine cannot have is faked behind the interfaces the real things offer: the NVIDIA
driver (a compiled ``libcuda.so.1``, tests/tools/fake_driver) and TensorFlow itself, a package
that answers what the probe asks (``tf.sysconfig.get_build_info``, no GPUs) as TensorFlow
2.15.1 does; the real one is several GB (the ``bigenv`` tests install it).

Fix kinds: commands (``run``: an install with the installer that exists, an ``export`` or
``source`` of the library path, a ``cudaenv create`` of a new environment) are run as printed;
the driver's ("install the NVIDIA driver") is followed by putting the fake driver where the
loader finds it; the container's (``docker run --gpus all``) cannot be followed here and is
checked in tests/unit/test_doctor.py.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.functional.solve_index import hints_server  # noqa: F401 (a fixture)
from tests.functional.test_smoke import make_venv, uv_install
from tests.tools import fake_driver
from tests.tools.make_wheel import build_shared_library

if TYPE_CHECKING:
    from tests.tools.index_server import IndexServer

BIN = Path(sys.executable).parent  # cudaenv and the uv installed with it
TF_STUB = """__version__ = "2.15.1"


class sysconfig:
    @staticmethod
    def get_build_info():
        return {"cuda_version": "12.2", "cudnn_version": "8", "is_cuda_build": True}


class config:
    @staticmethod
    def list_physical_devices(kind=None):
        return []
"""
# TF 2.15's and-cuda pins, each with the libraries it ships (recipes/tensorflow.toml)
TF215 = [
    ("nvidia-cuda-runtime-cu12", "12.2.140", ["libcudart.so.12"]),
    ("nvidia-cublas-cu12", "12.2.5.6", ["libcublas.so.12", "libcublasLt.so.12"]),
    ("nvidia-cudnn-cu12", "8.9.4.25", ["libcudnn.so.8"]),
    ("nvidia-cufft-cu12", "11.0.8.103", ["libcufft.so.11"]),
    ("nvidia-curand-cu12", "10.3.3.141", ["libcurand.so.10"]),
    ("nvidia-cusolver-cu12", "11.5.2.141", ["libcusolver.so.11"]),
    ("nvidia-cusparse-cu12", "12.1.2.141", ["libcusparse.so.12"]),
]


@pytest.fixture
def index(local_index: IndexServer, make_wheel, make_nvidia_wheel) -> IndexServer:
    for name, version, libs in TF215:
        make_nvidia_wheel(name, version, libs=libs)
    # the same library for CUDA 11, which doctor once offered for a CUDA 12 environment
    make_nvidia_wheel("nvidia-curand-cu11", "10.3.0.86", libs=["libcurand.so.10"])
    make_wheel("tensorflow", "2.15.1", files={"tensorflow/__init__.py": TF_STUB})
    return local_index


@pytest.fixture
def driver(tmp_path: Path) -> Path:
    """The folder of a fake NVIDIA driver's libcuda.so.1 (CUDA 12.2)."""
    if fake_driver.compiler() is None:
        pytest.skip("needs a C compiler for the fake libcuda.so.1")
    folder = tmp_path / "nvidia driver"
    folder.mkdir()
    fake_driver.build_libcuda(folder, CUDA=12020)
    return folder


def shell_env(tmp_path: Path, url: str, **more: str) -> dict[str, str]:
    """A user's shell: cudaenv and uv on PATH, the index as theirs, no other configuration."""
    return {
        "PATH": os.pathsep.join([str(BIN), "/usr/bin", "/bin"]),
        "HOME": str(tmp_path),
        "UV_INDEX_URL": url,
        "UV_NO_CONFIG": "1",
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "PIP_INDEX_URL": url,
        "PIP_CONFIG_FILE": os.devnull,
        "LANG": "C.UTF-8",
        **more,
    }


def doctor_after(commands: list[str], python: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run ``commands`` in one shell (each must succeed), then ``cudaenv doctor --json``."""
    script = "set -e\n" + "".join(f"{c}\n" for c in commands)
    script += f"cudaenv doctor --python {shlex.quote(str(python))} --json || true\n"
    done = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, (commands, done.stderr[-3000:])
    doc: dict[str, Any] = json.loads(done.stdout[done.stdout.index("{\n") :])
    return doc


def follow(python: Path, env: dict[str, str], driver: Path | None = None) -> list[str]:
    """Follow every error and warning's fix until doctor finds none; the commands run."""
    done: list[str] = []
    for _ in range(5):
        doc = doctor_after(done, python, env)
        todo = [f for f in doc["findings"] if f["severity"] in ("error", "warning")]
        if not todo:
            return done
        new = [c for f in todo for c in f["run"] if c not in done]
        machine = [f for f in todo if f["cause"] in ("driver", "container") and not f["run"]]
        if driver is not None and machine:
            # "install the NVIDIA driver" / "start the container with the GPU": what a process
            # then finds is the driver's libcuda.so.1; the fake one, where the loader looks
            path = f"{shlex.quote(str(driver))}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}"
            new.append(f"export LD_LIBRARY_PATH={path}")
            driver = None
        assert new, f"no command left to follow for {todo}"
        done += new
    raise AssertionError(f"doctor still finds problems after {done}")


def test_a_cuda_12_env_missing_libraries_is_fixed_by_following_doctor(
    index: IndexServer, tmp_path: Path, driver: Path
) -> None:
    venv = make_venv(tmp_path / "made by hand")
    uv_install(venv, "--no-deps", "--index-url", index.url, "tensorflow==2.15.1")
    uv_install(venv, "--no-deps", "--index-url", index.url, "nvidia-cuda-runtime-cu12==12.2.140")
    env = shell_env(tmp_path, index.url)
    first = doctor_after([], venv.python, env)
    curand = next(
        f for f in first["findings"] if "libcurand.so.10 is not installed" in f["message"]
    )
    uv = shutil.which("uv", path=str(BIN))
    assert uv is not None
    assert curand["run"] == [
        f"{shlex.quote(uv)} pip install --python {shlex.quote(str(venv.python))} "
        "nvidia-curand-cu12==10.3.3.141"
    ]  # the CUDA 12 wheel TF 2.15 pins, installed by a uv that exists (issue 14)
    done = follow(venv.python, env, driver)
    assert any("nvidia-cublas-cu12==12.2.5.6" in c for c in done)
    assert any(c.startswith("export LD_LIBRARY_PATH=") for c in done)


def test_without_uv_the_fix_uses_the_environments_own_pip(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cudaenv.doctor.facts import Facts
    from cudaenv.system import process

    monkeypatch.setattr(process, "find_uv", lambda: None)
    venv = make_venv(tmp_path / "env")
    facts = Facts.__new__(Facts)
    object.__setattr__(facts, "env", venv)
    assert (
        Facts.install_fix(facts, "numpy<2")
        == f"{shlex.quote(str(venv.python))} -m pip install 'numpy<2'"
    )


def test_a_copy_shadowing_the_wheel_is_fixed_by_the_export_doctor_prints(
    index: IndexServer, tmp_path: Path, driver: Path
) -> None:
    venv = make_venv(tmp_path / "env")
    uv_install(venv, "--no-deps", "--index-url", index.url, "nvidia-cudnn-cu12==8.9.4.25")
    system = tmp_path / "opt cuda" / "lib64"
    system.mkdir(parents=True)
    (system / "libcudnn.so.8").write_bytes(build_shared_library("libcudnn.so.8", number=8))
    env = shell_env(tmp_path, index.url, LD_LIBRARY_PATH=str(system))
    first = doctor_after([], venv.python, env)
    assert [f["cause"] for f in first["findings"] if f["severity"] == "error"] == [
        "several-installs"
    ]
    done = follow(venv.python, env, driver)
    wheel = shlex.quote(str(venv.site_packages / "nvidia" / "cudnn" / "lib"))
    assert done[0] == f"export LD_LIBRARY_PATH={wheel}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}"


def test_a_tf_built_for_another_cuda_gets_a_new_environment_that_resolves(
    index: IndexServer,
    hints_server: IndexServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    """TensorFlow 2.15 (CUDA 12) beside CUDA 11 runtime wheels: the fix's new environment
    made with cudaenv, run as printed, against the solver's test index."""
    venv = make_venv(tmp_path / "mixed")
    uv_install(venv, "--no-deps", "--index-url", index.url, "tensorflow==2.15.1")
    env = shell_env(tmp_path, hints_server.url)
    cu11 = tmp_path / "cu11"
    cu11.mkdir()
    from tests.tools.make_wheel import make_nvidia_wheel

    wheel = make_nvidia_wheel(
        cu11, "nvidia-cuda-runtime-cu11", "11.8.89", libs=["libcudart.so.11.0"]
    )
    uv_install(venv, "--no-deps", str(wheel))
    doc = doctor_after([], venv.python, env)
    mismatch = next(f for f in doc["findings"] if "was built for CUDA 12.2" in f["message"])
    # `run` repairs in place (followed in tests/functional/test_fix.py); the fix's other way,
    # a new environment beside this one, is followed here
    assert mismatch["run"] == [f"cudaenv fix -p {shlex.quote(str(venv.prefix))}"]
    create = f"cudaenv create --tf 2.15 --python 3.11 -p {shlex.quote(str(venv.prefix))}-cudaenv"
    assert f"make a new one beside it: `{create}`" in mismatch["fix"]
    ran = subprocess.run(
        ["bash", "-c", f"{create} --no-smoke"], env=env, capture_output=True, text=True, check=False
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert (Path(f"{venv.prefix}-cudaenv") / "pylock.toml").is_file()


def test_the_activation_fix_runs(index: IndexServer, tmp_path: Path) -> None:
    from cudaenv import activation

    venv = make_venv(tmp_path / "env")
    uv_install(venv, "--no-deps", "--index-url", index.url, "nvidia-cuda-runtime-cu12==12.2.140")
    activation.write(venv)
    env = shell_env(tmp_path, index.url)
    doc = doctor_after([], venv.python, env)
    info = next(f for f in doc["findings"] if "activation is installed" in f["message"])
    assert info["run"] == [f"source {shlex.quote(str(venv.bin_dir / 'activate'))}"]
    doctor_after(info["run"], venv.python, env)  # runs; doctor runs after it


def _python27() -> Path | None:
    """A real Python 2.7 on this machine: on PATH, or in pyenv's versions folder."""
    found = shutil.which("python2.7")
    if (
        found
        and subprocess.run([found, "-c", "0"], capture_output=True, check=False).returncode == 0
    ):
        return Path(found)
    if shutil.which("pyenv") is None:
        return None
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False)
    if root.returncode != 0:
        return None
    hits = sorted(Path(root.stdout.strip()).glob("versions/2.7*/bin/python2.7"))
    return hits[-1] if hits else None


@pytest.mark.skipif(_python27() is None, reason="no Python 2.7 on this machine (PATH or pyenv)")
def test_doctor_of_python_27_says_so_and_offers_what_works(cli, tmp_path: Path) -> None:
    python = _python27()
    result = cli("doctor", "--python", str(python), "--json")
    assert result.code == 2
    error = json.loads(result.out)["error"]
    assert error["message"].startswith(f"{python} is Python 2.7: cudaenv diagnoses")
    assert "SyntaxError" not in result.out + result.err
    for remedy in error["remedies"]:
        (command,) = remedy["commands"]
        assert cli(*command[1:]).code in (0, 2)  # doctor's own verdict may be "error": it ran
        assert "Traceback" not in cli(*command[1:]).err


def test_bare_doctor_and_smoke_offer_environments_that_exist(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index: IndexServer
) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.delenv("CONDA_PREFIX", raising=False)
    monkeypatch.chdir(tmp_path)
    made = make_venv(tmp_path / "tf215")
    (made.prefix / "pylock.toml").write_text("")  # what cudaenv leaves in an env it made
    for command in ("doctor", "smoke"):
        result = cli(command, "--json")
        assert result.code == 2
        remedies = json.loads(result.out)["error"]["remedies"]
        commands = [r["commands"][0] for r in remedies]
        assert ["cudaenv", command, "-p", str(made.prefix)] in commands
        assert ["cudaenv", "detect"] in commands
        for argv in commands:
            followed = cli(*argv[1:])
            assert "which environment?" not in followed.err and "Traceback" not in followed.err
